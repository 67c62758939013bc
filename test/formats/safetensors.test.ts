import { createHash } from 'node:crypto';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QuantgateError } from '../../src/common/errors.js';
import { openSafetensors, type SafetensorsReader } from '../../src/formats/safetensors.js';
import { writeSafetensors } from '../../src/formats/safetensors-writer.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { descriptorsOpenOn, writeRawSafetensors } from './safetensors-helpers.js';

afterAll(removeTempDirs);

const realFile = fixture('safetensors', 'lm.safetensors');

/** Exact IEEE half → number, for checking F16 bytes independently of the project's codec. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 is the top half of a float32. */
function bfloat16ToNumber(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const all = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

describe('reading a file written by the safetensors library', () => {
  let reader: SafetensorsReader;
  beforeAll(async () => {
    reader = await openSafetensors(realFile);
  });
  afterAll(() => reader.close());

  test('lists every tensor with its dtype, shape, size and absolute data position', () => {
    expect(reader.source).toBe(realFile);
    expect(reader.files.map((file) => file.path)).toEqual([realFile]);
    expect(reader.files[0]!.metadata).toEqual({});
    expect(reader.tensors).toHaveLength(27);
    expect(reader.tensors[0]).toEqual({
      name: 'emb.0.weight',
      dtype: 'F32',
      shape: [65, 64],
      elementCount: 4160,
      byteLength: 16640,
      file: realFile,
      dataOffset: 8 + 2496,
    });
    expect(reader.tensor('out_norm.alpha')).toMatchObject({
      shape: [1, 1, 64],
      elementCount: 64,
      byteLength: 256,
      dataOffset: 8 + 2496 + 139264,
    });
    expect(reader.tensors.at(-1)!.name).toBe('transformer.layers.1.self_attn.out_projs.0.weight');
    expect(reader.tensor('no.such.tensor')).toBeUndefined();
  });

  test('reads the bytes the Python library stored (values checked with numpy)', async () => {
    const emb2 = reader.tensor('emb.2.weight')!;
    expect(Buffer.from(await reader.readRange(emb2, 0, 4)).toString('hex')).toBe('8aaf9e3d03f4d93d65ed133ea6648fbd');
    const last = reader.tensors.at(-1)!;
    expect(Buffer.from(await reader.readRange(last, last.elementCount - 2, 2)).toString('hex')).toBe(
      '7817763e5145413e',
    );
    const inProj = reader.tensor('transformer.layers.0.self_attn.in_projs.0.weight')!;
    const hash = createHash('sha256');
    for await (const chunk of reader.chunks(inProj, { maxBytes: 1000, elementMultiple: 32 })) hash.update(chunk);
    expect(hash.digest('hex')).toBe('6847f49837629b092f0e0b52eaecd86f3f3f5d248fe4569a7c35b844b52181c0');
  });
});

describe('reading float tensors', () => {
  async function writeFloats(): Promise<string> {
    const dir = await makeTempDir();
    const path = join(dir, 'floats.safetensors');
    const f32 = new Float32Array([1.5, -2.25, 3e-8, 65504]);
    const f16 = new Uint16Array(1000).map((_, i) => (i * 37) & 0xffff);
    const bf16 = Uint16Array.of(0x3f80, 0xc040, 0x0001, 0x7f80, 0x8000, 0x4049);
    await writeSafetensors(
      path,
      [
        { name: 'f32', dtype: 'F32', shape: [2, 2] },
        { name: 'f16', dtype: 'F16', shape: [10, 100] },
        { name: 'bf16', dtype: 'BF16', shape: [6] },
      ],
      async (sink) => {
        await sink.write('f32', new Uint8Array(f32.buffer));
        // in two pieces, split inside an element: the writer takes bytes, not elements
        await sink.write('f16', new Uint8Array(f16.buffer, 0, 1001));
        await sink.write('f16', new Uint8Array(f16.buffer, 1001));
        await sink.write('bf16', new Uint8Array(bf16.buffer));
      },
      { metadata: { format: 'pt', note: 'round trip' } },
    );
    return path;
  }

  test('round-trips F32, F16 and BF16 bytes and metadata through the writer', async () => {
    const reader = await openSafetensors(await writeFloats());
    try {
      expect(reader.files[0]!.metadata).toEqual({ format: 'pt', note: 'round trip' });
      expect(reader.tensors.map((t) => [t.name, t.dtype, t.shape, t.elementCount, t.byteLength])).toEqual([
        ['f32', 'F32', [2, 2], 4, 16],
        ['f16', 'F16', [10, 100], 1000, 2000],
        ['bf16', 'BF16', [6], 6, 12],
      ]);
      const f32 = await reader.readRange(reader.tensor('f32')!, 0, 4);
      expect(f32.byteOffset).toBe(0);
      expect([...new Float32Array(f32.buffer, 0, 4)]).toEqual([1.5, -2.25, Math.fround(3e-8), 65504]);
      const f16 = await reader.readRange(reader.tensor('f16')!, 998, 2);
      expect([...new Uint16Array(f16.buffer, 0, 2)]).toEqual([(998 * 37) & 0xffff, (999 * 37) & 0xffff]);
      const bf16 = await reader.readRange(reader.tensor('bf16')!, 0, 6);
      expect([...new Uint16Array(bf16.buffer, 0, 6)].map(bfloat16ToNumber)).toEqual([
        1,
        -3,
        bfloat16ToNumber(1),
        Infinity,
        -0,
        3.140625,
      ]);
    } finally {
      await reader.close();
    }
  });

  test('F16 bytes are little-endian halves', async () => {
    const dir = await makeTempDir();
    const path = await writeRawSafetensors(
      dir,
      'half.safetensors',
      { h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } },
      Uint8Array.of(0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b),
    );
    const reader = await openSafetensors(path);
    const bytes = await reader.readRange(reader.tensors[0]!, 0, 3);
    await reader.close();
    expect([0, 1, 2].map((i) => halfToNumber(bytes[2 * i]! | (bytes[2 * i + 1]! << 8)))).toEqual([1, -2, 65504]);
  });

  test('chunks end on element boundaries, hold a multiple of the element multiple, and cover the tensor in order', async () => {
    const reader = await openSafetensors(await writeFloats());
    try {
      const f16 = reader.tensor('f16')!;
      const whole = await reader.readRange(f16, 0, f16.elementCount);
      // 200 bytes fit 100 halves: three whole groups of 32
      const chunks = await collect(reader.chunks(f16, { maxBytes: 200, elementMultiple: 32 }));
      expect(chunks.map((chunk) => chunk.byteLength)).toEqual([...Array<number>(10).fill(192), 80]);
      expect(Buffer.concat(chunks).equals(Buffer.from(whole))).toBe(true);
      const unaligned = await collect(reader.chunks(f16, { maxBytes: 301 }));
      expect(unaligned.map((chunk) => chunk.byteLength)).toEqual([...Array<number>(6).fill(300), 200]);
      expect(Buffer.concat(unaligned).equals(Buffer.from(whole))).toBe(true);
      expect(await collect(reader.chunks(f16, { maxBytes: 1 << 20 }))).toHaveLength(1);
    } finally {
      await reader.close();
    }
  });

  test('a chunk size too small for one group of elements is refused', async () => {
    const reader = await openSafetensors(await writeFloats());
    try {
      await expect(
        collect(reader.chunks(reader.tensor('f16')!, { maxBytes: 63, elementMultiple: 32 })),
      ).rejects.toThrow(RangeError);
      await expect(collect(reader.chunks(reader.tensor('f16')!, { maxBytes: 64, elementMultiple: 0 }))).rejects.toThrow(
        RangeError,
      );
    } finally {
      await reader.close();
    }
  });

  test('concurrent reads of different tensors and ranges each get their own bytes', async () => {
    const reader = await openSafetensors(realFile);
    const file = await readFile(realFile);
    try {
      const requests = reader.tensors.flatMap((tensor) =>
        [0, 1, 2].map((part) => ({
          tensor,
          start: Math.floor((part * tensor.elementCount) / 3),
          count: Math.ceil(tensor.elementCount / 3) - part,
        })),
      );
      const results = await Promise.all(
        requests.map(({ tensor, start, count }) => reader.readRange(tensor, start, Math.max(0, count))),
      );
      requests.forEach(({ tensor, start, count }, i) => {
        const from = tensor.dataOffset + start * 4;
        expect(Buffer.from(results[i]!).equals(file.subarray(from, from + Math.max(0, count) * 4))).toBe(true);
      });
      const streams = await Promise.all(
        reader.tensors.map(async (tensor) =>
          Buffer.concat(await collect(reader.chunks(tensor, { maxBytes: 4096, elementMultiple: 32 }))),
        ),
      );
      streams.forEach((bytes, i) => {
        const tensor = reader.tensors[i]!;
        expect(bytes.equals(file.subarray(tensor.dataOffset, tensor.dataOffset + tensor.byteLength))).toBe(true);
      });
    } finally {
      await reader.close();
    }
  });

  test('ranges outside the tensor, foreign tensors and reads after close are refused', async () => {
    const reader = await openSafetensors(realFile);
    const other = await openSafetensors(realFile);
    await other.close();
    const tensor = reader.tensor('out_norm.alpha')!;
    await expect(reader.readRange(tensor, 60, 5)).rejects.toThrow(
      /elements \[60, 65\) are outside tensor "out_norm.alpha" of 64 elements/,
    );
    await expect(reader.readRange(tensor, -1, 1)).rejects.toThrow(RangeError);
    await expect(reader.readRange(tensor, 0.5, 1)).rejects.toThrow(RangeError);
    await expect(reader.readRange(other.tensor('out_norm.alpha')!, 0, 1)).rejects.toThrow(
      /does not come from this safetensors reader/,
    );
    await reader.close();
    await reader.close();
    await expect(reader.readRange(tensor, 0, 1)).rejects.toThrow(/after the safetensors reader was closed/);
    expect(await descriptorsOpenOn(realFile)).toBe(0);
  });

  test('leaving a chunk stream early leaves the reader usable', async () => {
    const reader = await openSafetensors(realFile);
    try {
      const tensor = reader.tensor('transformer.layers.0.gating.linear_in.weight')!;
      for await (const chunk of reader.chunks(tensor, { maxBytes: 128 })) {
        expect(chunk.byteLength).toBe(128);
        break;
      }
      expect((await reader.readRange(tensor, 0, 32)).byteLength).toBe(128);
    } finally {
      await reader.close();
    }
  });

  test('a failed read-ahead reaches the caller at the chunk it concerns, after the chunks before it', async () => {
    const dir = await makeTempDir();
    const path = join(dir, 'cut.safetensors');
    await writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [64] }], (sink) =>
      sink.write('w', new Uint8Array(256).fill(7)),
    );
    const reader = await openSafetensors(path);
    try {
      await truncate(path, reader.tensors[0]!.dataOffset + 128);
      const chunks = reader.chunks(reader.tensors[0]!, { maxBytes: 128 });
      expect([...((await chunks.next()).value as Uint8Array)]).toEqual(Array<number>(128).fill(7));
      // the second chunk's read fails meanwhile, while nobody awaits it
      await sleep(50);
      await expect(chunks.next()).rejects.toThrow(
        /cut\.safetensors: the file ended at byte \d+ while 128 more bytes were expected/,
      );
    } finally {
      await reader.close();
    }
  });

  test('a file cut short after opening is a clear error, not short data', async () => {
    const dir = await makeTempDir();
    const path = join(dir, 'shrinking.safetensors');
    await writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [256] }], (sink) =>
      sink.write('w', new Uint8Array(1024)),
    );
    const reader = await openSafetensors(path);
    try {
      await truncate(path, 8 + 600);
      const error = await reader.readRange(reader.tensors[0]!, 0, 256).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuantgateError);
      expect((error as Error).message).toMatch(
        /shrinking\.safetensors: the file ended at byte \d+ while \d+ more bytes were expected; it is truncated or changed while being read — download it again/,
      );
    } finally {
      await reader.close();
    }
  });
});

describe('tensors quantgate cannot read as float', () => {
  test('open for listing, and reading them names the tensor and its dtype', async () => {
    const dir = await makeTempDir();
    const path = await writeRawSafetensors(
      dir,
      'mixed.safetensors',
      {
        steps: { dtype: 'I64', shape: [], data_offsets: [0, 8] },
        mask: { dtype: 'BOOL', shape: [4], data_offsets: [8, 12] },
        packed: { dtype: 'F4', shape: [2, 3], data_offsets: [12, 15] },
        fp8: { dtype: 'F8_E4M3', shape: [1], data_offsets: [15, 16] },
        w: { dtype: 'F32', shape: [1], data_offsets: [16, 20] },
      },
      20,
    );
    const reader = await openSafetensors(path);
    try {
      expect(reader.tensors.map((t) => [t.name, t.dtype, t.elementCount, t.byteLength])).toEqual([
        ['steps', 'I64', 1, 8],
        ['mask', 'BOOL', 4, 4],
        ['packed', 'F4', 6, 3],
        ['fp8', 'F8_E4M3', 1, 1],
        ['w', 'F32', 1, 4],
      ]);
      await expect(reader.readRange(reader.tensor('steps')!, 0, 1)).rejects.toThrow(
        `${path}: tensor "steps" has dtype I64, which quantgate cannot read as float weights (only F32, F16, BF16); export the model with float weights`,
      );
      await expect(collect(reader.chunks(reader.tensor('fp8')!, { maxBytes: 64 }))).rejects.toThrow(
        /tensor "fp8" has dtype F8_E4M3, which quantgate cannot read as float/,
      );
      expect((await reader.readRange(reader.tensor('w')!, 0, 1)).byteLength).toBe(4);
    } finally {
      await reader.close();
    }
  });
});

describe('tensor order and layout', () => {
  test('tensors come in data order, whatever the key order of the header (integer-like names included)', async () => {
    const dir = await makeTempDir();
    const path = await writeRawSafetensors(
      dir,
      'order.safetensors',
      '{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"empty":{"dtype":"F16","shape":[0,4],"data_offsets":[4,4]},"0":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      16,
    );
    const reader = await openSafetensors(path);
    await reader.close();
    expect(reader.tensors.map((t) => t.name)).toEqual(['a', 'empty', 'b', '0']);
    expect(reader.tensor('empty')).toMatchObject({ elementCount: 0, byteLength: 0 });
  });

  test('a null __metadata__ reads as no metadata, as in the reference', async () => {
    const dir = await makeTempDir();
    const path = await writeRawSafetensors(
      dir,
      'null.safetensors',
      { __metadata__: null, w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
      4,
    );
    const reader = await openSafetensors(path);
    await reader.close();
    expect(reader.files[0]!.metadata).toEqual({});
    expect(reader.tensors.map((t) => t.name)).toEqual(['w']);
  });

  test('gaps between tensors and bytes after the last one are tolerated', async () => {
    const dir = await makeTempDir();
    const data = Buffer.alloc(40);
    data.writeFloatLE(7.5, 16);
    const path = await writeRawSafetensors(
      dir,
      'gaps.safetensors',
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [16, 20] },
      },
      data,
    );
    const reader = await openSafetensors(path);
    try {
      expect(Buffer.from(await reader.readRange(reader.tensor('b')!, 0, 1)).readFloatLE(0)).toBe(7.5);
    } finally {
      await reader.close();
    }
  });
});

describe('malformed files are refused with one line naming the file, the problem and the fix', () => {
  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({
    dtype: 'F32',
    shape,
    data_offsets: [begin, end],
  });
  const redownload = '— download it again';
  const cases: [string, (dir: string) => Promise<string>, string][] = [
    [
      'a file shorter than 8 bytes',
      async (dir) => {
        await writeFile(join(dir, 'm.safetensors'), Buffer.alloc(5));
        return join(dir, 'm.safetensors');
      },
      `the file is 5 bytes, shorter than the 8-byte header length; the file is truncated or not safetensors ${redownload}`,
    ],
    [
      'a zero header length',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', '{}', 8, 0n),
      `the header length is 0; the file is corrupt or not safetensors ${redownload}`,
    ],
    [
      'an absurd header length',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', '{}', 0, 9_000_000_000_000n),
      `header length 9000000000000 exceeds the 100000000-byte limit of the format; the file is corrupt or not safetensors ${redownload}`,
    ],
    [
      'a header length past the end of the file',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', '{}', 0, 1000n),
      `header length 1000 exceeds the file size 10 bytes; the file is truncated or not safetensors ${redownload}`,
    ],
    [
      'a header that is not UTF-8',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d)),
      `the header is not valid UTF-8; the file is corrupt or not safetensors ${redownload}`,
    ],
    [
      'a header that is not JSON',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', '{"a": '),
      'the header is not valid JSON (',
    ],
    [
      'a header that is not an object',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', '[1,2]'),
      `the header is an array, not a JSON object; the file is corrupt or not safetensors ${redownload}`,
    ],
    [
      '__metadata__ with a non-string value',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { __metadata__: { format: 'pt', total: 3 } }),
      '__metadata__ entry "total" is a number, not a string',
    ],
    [
      '__metadata__ that is not an object',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { __metadata__: 'pt' }),
      '__metadata__ is a string, not an object of strings',
    ],
    [
      'an entry that is not an object',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: [1] }),
      'tensor "w" is an array, not an object with dtype, shape and data_offsets',
    ],
    [
      'an entry without dtype',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: { shape: [1], data_offsets: [0, 4] } }, 4),
      'tensor "w" has no dtype',
    ],
    [
      'an entry without shape',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 'F32', data_offsets: [0, 4] } }, 4),
      'tensor "w" has no shape',
    ],
    [
      'an entry without data_offsets',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 'F32', shape: [1] } }, 4),
      'tensor "w" has no data_offsets',
    ],
    [
      'an unknown dtype',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 'F99', shape: [1], data_offsets: [0, 4] } }, 4),
      'tensor "w" has dtype "F99", which is not a safetensors dtype (BOOL, F4,',
    ],
    [
      'a dtype that is not a string',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 32, shape: [1], data_offsets: [0, 4] } }, 4),
      'tensor "w" has dtype 32, which is not a safetensors dtype',
    ],
    [
      'a negative dimension',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: f32(0, 4, [-1]) }, 4),
      'tensor "w" has shape [-1]; dimensions must be non-negative integers',
    ],
    [
      'a fractional dimension',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: f32(0, 4, [0.5, 2]) }, 4),
      'tensor "w" has shape [0.5,2]; dimensions must be non-negative integers',
    ],
    [
      'a shape that is not a list',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 'F32', shape: 1, data_offsets: [0, 4] } }, 4),
      'tensor "w" has shape 1; dimensions must be non-negative integers',
    ],
    [
      'data_offsets that are not a pair',
      (dir) =>
        writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, 8),
      'tensor "w" has data_offsets [0,4,8]; they must be two integers [begin, end] with 0 ≤ begin ≤ end',
    ],
    [
      'data_offsets that are not integers',
      (dir) =>
        writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 'F32', shape: [1], data_offsets: ['0', 4] } }, 4),
      'tensor "w" has data_offsets ["0",4]',
    ],
    [
      'data_offsets with begin after end',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, 8),
      'tensor "w" has data_offsets [8,4]',
    ],
    [
      'a size that does not match the shape',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: f32(0, 12, [2, 2]) }, 12),
      `tensor "w" (F32 [2,2]) needs 16 bytes but its data_offsets [0, 12] span 12; the file is corrupt or not safetensors ${redownload}`,
    ],
    [
      'sub-byte elements that do not fill whole bytes',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2),
      'tensor "w" holds 3 F4 elements, which do not fill whole bytes',
    ],
    [
      'a shape too large to address',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { w: f32(0, 4, [2 ** 30, 2 ** 30]) }, 4),
      'tensor "w" has shape [1073741824,1073741824], too many elements to address',
    ],
    [
      'offsets beyond the data section (a truncated file)',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { a: f32(0, 8), w: f32(8, 24) }, 20),
      `tensor "w" ends at byte 24 of the data section, but the file holds only 20 data bytes; the file is truncated ${redownload}`,
    ],
    [
      'overlapping tensors',
      (dir) => writeRawSafetensors(dir, 'm.safetensors', { a: f32(0, 16), b: f32(16, 24), c: f32(12, 20) }, 24),
      'tensors "a" [0, 16] and "c" [12, 20] overlap in the data section',
    ],
  ];

  test.each(cases)('%s', async (_, make, message) => {
    const dir = await makeTempDir();
    const path = await make(dir);
    const error = await openSafetensors(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuantgateError);
    const text = (error as Error).message;
    expect(text).toContain(`${path}: ${message}`);
    expect(text).not.toContain('\n');
    expect(text).toMatch(/— download it again$/);
    expect(await descriptorsOpenOn(path)).toBe(0);
  });
});
