import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../../src/common/errors.js';
import { GgufValueType } from '../../../src/formats/gguf/constants.js';
import { dumpGguf } from '../../../src/formats/gguf/dump.js';
import { planGguf, type GgufTensorSpec } from '../../../src/formats/gguf/layout.js';
import type { GgufMetadataEntry } from '../../../src/formats/gguf/metadata.js';
import { openGguf } from '../../../src/formats/gguf/reader.js';
import type { ByteSink } from '../../../src/formats/gguf/sink.js';
import { GgufWriter, writeGgufFile } from '../../../src/formats/gguf/writer.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

const arch: GgufMetadataEntry = { key: 'general.architecture', type: GgufValueType.STRING, value: 'stt' };
const tensors: GgufTensorSpec[] = [
  { name: 'a', type: 'F32', ne: [3] },
  { name: 'b', type: 'Q4_0', ne: [32, 2] },
];
const bytesOf = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff);

class MemorySink implements ByteSink {
  readonly chunks: Uint8Array[] = [];
  async write(data: Uint8Array): Promise<void> {
    this.chunks.push(data.slice());
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

describe('planGguf refuses what ggml would refuse', () => {
  const plan =
    (specs: GgufTensorSpec[], metadata: GgufMetadataEntry[] = [arch], alignment?: number) =>
    () =>
      planGguf(metadata, specs, { alignment });

  test('a tensor name of 64 bytes or more, counted in UTF-8 bytes', () => {
    expect(plan([{ name: 'n'.repeat(63), type: 'F32', ne: [1] }])).not.toThrow();
    const long = 'n'.repeat(64);
    expect(plan([{ name: long, type: 'F32', ne: [1] }])).toThrow(
      new QuantgateError(
        `tensor name "${long}" is 64 bytes; ggml's reader refuses names of 64 bytes or more (GGML_MAX_NAME) — shorten it`,
      ),
    );
    expect(plan([{ name: 'é'.repeat(32), type: 'F32', ne: [1] }])).toThrow(/is 64 bytes; ggml's reader refuses/);
  });

  test('empty and duplicate tensor names', () => {
    expect(plan([{ name: '', type: 'F32', ne: [1] }])).toThrow(/empty name/);
    expect(plan([tensors[0]!, { ...tensors[0]! }])).toThrow(/tensor name "a" appears twice/);
  });

  test('rows that are not whole blocks, and shapes ggml cannot hold', () => {
    expect(plan([{ name: 'q', type: 'Q4_0', ne: [48, 2] }])).toThrow(
      /48 elements per row, not a multiple of the Q4_0 block size 32/,
    );
    expect(plan([{ name: 'q', type: 'F32', ne: [1, 1, 1, 1, 1] }])).toThrow(/5 dimensions; ggml handles 1 to 4/);
    expect(plan([{ name: 'q', type: 'F32', ne: [] }])).toThrow(/0 dimensions/);
    expect(plan([{ name: 'q', type: 'F32', ne: [2.5] }])).toThrow(/whole number/);
  });

  test('bad alignments and alignment keys', () => {
    expect(plan(tensors, [arch], 24)).toThrow(/alignment 24 is not a power of two/);
    expect(plan(tensors, [arch, { key: 'general.alignment', type: GgufValueType.UINT64, value: 64n }])).toThrow(
      /has GGUF type 10 but ggml requires UINT32/,
    );
    expect(plan(tensors, [arch, { key: 'general.alignment', type: GgufValueType.UINT32, value: 64 }], 32)).toThrow(
      /says 64 but the alignment asked for is 32/,
    );
  });

  test('duplicate keys and values outside their declared type', () => {
    expect(plan(tensors, [arch, arch])).toThrow(/general.architecture appears twice/);
    expect(plan(tensors, [{ key: 'x', type: GgufValueType.UINT8, value: 256 }])).toThrow(
      /x: 256 is not a valid UINT8 value/,
    );
    expect(plan(tensors, [{ key: 'x', type: GgufValueType.INT64, value: 2n ** 63n }])).toThrow(/not a valid INT64/);
    expect(
      plan(tensors, [{ key: 'x', type: GgufValueType.ARRAY, itemType: GgufValueType.INT16, value: [1, 40000] }]),
    ).toThrow(/40000 is not a valid INT16/);
  });
});

describe('alignment', () => {
  test('the default of 32 is implied, as ggml writes it, and no key is added', () => {
    const layout = planGguf([arch], tensors);
    expect(layout.metadata).toEqual([arch]);
    expect(layout.tensors.map((tensor) => [tensor.offset, tensor.size])).toEqual([
      [0, 12],
      [32, 36],
    ]);
    expect(layout.dataOffset % 32).toBe(0);
    expect(layout.totalSize).toBe(layout.dataOffset + 32 + 64);
  });

  test('another alignment is written as a UINT32 general.alignment and honoured by the reader', async () => {
    const layout = planGguf([arch], tensors, { alignment: 64 });
    expect(layout.metadata.at(-1)).toEqual({ key: 'general.alignment', type: GgufValueType.UINT32, value: 64 });
    const path = join(await makeTempDir(), 'aligned.gguf');
    await writeGgufFile(path, layout, async (writer) => {
      for (const [i, tensor] of layout.tensors.entries())
        await writer.writeTensor(tensor.name, [bytesOf(tensor.size, i)]);
    });
    const file = await openGguf(path);
    try {
      expect(file.alignment).toBe(64);
      expect(file.dataOffset % 64).toBe(0);
      expect(file.tensors.map((tensor) => tensor.offset)).toEqual([0, 64]);
      expect(Buffer.from(await file.read('b'))).toEqual(Buffer.from(bytesOf(36, 1)));
      expect((await readFile(path)).byteLength).toBe(layout.totalSize);
    } finally {
      await file.close();
    }
  });
});

describe('GgufWriter', () => {
  test('writes the header, each tensor from any chunking, and zero padding after each', async () => {
    const layout = planGguf([arch], tensors);
    const sink = new MemorySink();
    const writer = await GgufWriter.begin(sink, layout);
    const a = bytesOf(12, 0);
    await writer.writeTensor('a', [a.subarray(0, 5), new Uint8Array(0), a.subarray(5)]);
    await writer.writeTensor(
      'b',
      (async function* () {
        yield bytesOf(36, 9);
      })(),
    );
    writer.finish();
    const out = sink.bytes;
    expect(out.byteLength).toBe(layout.totalSize);
    expect(out.subarray(0, layout.dataOffset)).toEqual(Buffer.from(layout.header));
    const data = out.subarray(layout.dataOffset);
    expect(data.subarray(0, 12)).toEqual(Buffer.from(a));
    expect(data.subarray(12, 32)).toEqual(Buffer.alloc(20));
    expect(data.subarray(32, 68)).toEqual(Buffer.from(bytesOf(36, 9)));
    expect(data.subarray(68)).toEqual(Buffer.alloc(28));
  });

  test('refuses tensors out of order, of the wrong size, extra or missing', async () => {
    const layout = planGguf([arch], tensors);
    const writer = await GgufWriter.begin(new MemorySink(), layout);
    await expect(writer.writeTensor('b', [bytesOf(36, 0)])).rejects.toThrow('expected tensor "a" next but got "b"');
    await expect(writer.writeTensor('a', [bytesOf(13, 0)])).rejects.toThrow('tensor "a" got more than its 12 bytes');
    const fresh = await GgufWriter.begin(new MemorySink(), layout);
    await expect(fresh.writeTensor('a', [bytesOf(11, 0)])).rejects.toThrow('tensor "a" got 11 bytes but needs 12');
    const partial = await GgufWriter.begin(new MemorySink(), layout);
    await partial.writeTensor('a', [bytesOf(12, 0)]);
    expect(() => partial.finish()).toThrow('after 1 of 2 tensors; "b" is missing');
    await partial.writeTensor('b', [bytesOf(36, 0)]);
    await expect(partial.writeTensor('c', [])).rejects.toThrow('after all 2 planned tensors');
  });

  test('a failing sink stops the writer with the sink error', async () => {
    let writes = 0;
    const sink: ByteSink = {
      async write() {
        if (++writes === 3) throw new Error('ENOSPC: no space left on device');
      },
    };
    const writer = await GgufWriter.begin(sink, planGguf([arch], tensors));
    await expect(writer.writeTensor('a', [bytesOf(6, 0), bytesOf(6, 0)])).rejects.toThrow('ENOSPC');
  });
});

describe('writeGgufFile', () => {
  test('returns the size and SHA-256 of what it wrote', async () => {
    const layout = planGguf([arch], tensors);
    const path = join(await makeTempDir(), 'model.gguf');
    const written = await writeGgufFile(path, layout, async (writer) => {
      for (const [i, tensor] of layout.tensors.entries())
        await writer.writeTensor(tensor.name, [bytesOf(tensor.size, i)]);
    });
    const bytes = await readFile(path);
    const { createHash } = await import('node:crypto');
    expect(written).toEqual({ path, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });
  });

  test('a failure midway, or a tensor left out, leaves no file', async () => {
    const dir = await makeTempDir();
    const layout = planGguf([arch], tensors);
    await expect(
      writeGgufFile(join(dir, 'model.gguf'), layout, async (writer) => {
        await writer.writeTensor('a', [bytesOf(12, 0)]);
        await writer.writeTensor(
          'b',
          (async function* () {
            yield bytesOf(10, 0);
            throw new Error('quantizer crashed');
          })(),
        );
      }),
    ).rejects.toThrow('quantizer crashed');
    await expect(
      writeGgufFile(join(dir, 'model.gguf'), layout, (writer) => writer.writeTensor('a', [bytesOf(12, 0)])),
    ).rejects.toThrow('"b" is missing');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('metadata values', () => {
  test('every type is written and read back with its type, and printed as C printf would', async () => {
    const metadata: GgufMetadataEntry[] = [
      { key: 'f32.tie', type: GgufValueType.FLOAT32, value: 0.0009765625 },
      {
        key: 'f32.list',
        type: GgufValueType.ARRAY,
        itemType: GgufValueType.FLOAT32,
        value: [1e-7, 123456789, 100000, 1e6, 1234565, 1234575, 999999.5, -0].map(Math.fround),
      },
      {
        key: 'f64.list',
        type: GgufValueType.ARRAY,
        itemType: GgufValueType.FLOAT64,
        value: [0.1, 1e21, -0, 5e-324, 2 ** 60, 1 / 3, 123, 1e-5],
      },
      { key: 'u64.list', type: GgufValueType.ARRAY, itemType: GgufValueType.UINT64, value: [0n, 2n ** 64n - 1n] },
      { key: 'bool.list', type: GgufValueType.ARRAY, itemType: GgufValueType.BOOL, value: [true, false] },
      { key: 'empty.list', type: GgufValueType.ARRAY, itemType: GgufValueType.INT8, value: [] },
      { key: 'i16', type: GgufValueType.INT16, value: -32768 },
      { key: 'u32', type: GgufValueType.UINT32, value: 0xffffffff },
      { key: 'f64.nan', type: GgufValueType.FLOAT64, value: Number.NEGATIVE_INFINITY },
    ];
    const path = join(await makeTempDir(), 'values.gguf');
    await writeGgufFile(path, planGguf(metadata, []), async () => undefined);
    const file = await openGguf(path);
    try {
      expect(file.metadata).toEqual(metadata);
      const lines = (await dumpGguf(file)).split('\n');
      expect(lines.slice(1, -1)).toEqual([
        'kv f32.tie type=6 = 0.000976562',
        'kv f32.list type=9 array<6>[8] = 1e-07 1.23457e+08 100000 1e+06 1.23456e+06 1.23458e+06 1e+06 -0',
        'kv f64.list type=9 array<12>[8] = 0.10000000000000001 1e+21 -0 4.9406564584124654e-324 1.152921504606847e+18 0.33333333333333331 123 1.0000000000000001e-05',
        'kv u64.list type=9 array<10>[2] = 0 18446744073709551615',
        'kv bool.list type=9 array<7>[2] = 1 0',
        'kv empty.list type=9 array<1>[0] =',
        'kv i16 type=3 = -32768',
        'kv u32 type=4 = 4294967295',
        'kv f64.nan type=12 = -inf',
      ]);
    } finally {
      await file.close();
    }
  });
});
