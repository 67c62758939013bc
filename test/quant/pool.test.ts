import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { decodeSource, encode, type SourceType, type TargetType } from '../../src/quant/codec.js';
import { createConvertPool, type ConvertPool, type ConvertResult } from '../../src/quant/pool.js';
import { fixture, makeTempDir, removeTempDirs, repoRoot } from '../helpers/paths.js';
import { difference, every16BitPattern, f32Bytes, f32FromBits, randomBytes, stressBlocks } from './kernel-vectors.js';

const golden = (name: string) => new Uint8Array(readFileSync(fixture('quant', name)));
const TARGETS: TargetType[] = ['Q4_0', 'Q8_0', 'F16', 'F32'];
/** kernel.c's CHUNK_VALUES: the values one call of the kernel converts. */
const KERNEL_CHUNK_VALUES = 1 << 18;

let pool: ConvertPool;
beforeAll(() => {
  pool = createConvertPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
  await removeTempDirs();
});

function firstNonFiniteOf(values: Float32Array): number {
  return values.findIndex((value) => !Number.isFinite(value));
}

async function expectMatchesScalar(
  source: SourceType,
  bytes: Uint8Array,
  targets: TargetType[] = TARGETS,
): Promise<void> {
  const values = decodeSource(source, bytes);
  for (const target of targets) {
    const result = await pool.convert({ source, target, bytes: bytes.slice() });
    const found = difference(target, result.data, encode(target, values));
    const block = Number(/^block (\d+)/.exec(found)?.[1] ?? -1);
    const inputs = block >= 0 ? Array.from(values.subarray(block * 32, block * 32 + 32)) : [];
    expect({ target, difference: found, inputs }).toEqual({ target, difference: 'identical', inputs: [] });
    expect(result.firstNonFinite).toBe(firstNonFiniteOf(values));
  }
}

describe('the kernel matches the scalar codecs and ggml', () => {
  test('on the golden float32 inputs, byte for byte against ggml', async () => {
    for (const [target, file] of [
      ['Q4_0', 'q4_0.bin'],
      ['Q8_0', 'q8_0.bin'],
      ['F16', 'f16.bin'],
      ['F32', 'input.f32'],
    ] as const) {
      const { data, firstNonFinite } = await pool.convert({ source: 'F32', target, bytes: golden('input.f32') });
      expect({ target, difference: difference(target, data, golden(file)) }).toEqual({
        target,
        difference: 'identical',
      });
      expect(firstNonFinite).toBe(-1);
    }
  });

  test('on the golden inputs as F16 and BF16 sources', async () => {
    await expectMatchesScalar('F16', golden('f16.bin'));
    await expectMatchesScalar('BF16', golden('bf16.bin'));
  });

  test('on 20,000 random stress blocks of float32', async () => {
    for (let seed = 1; seed <= 4; seed++) await expectMatchesScalar('F32', f32Bytes(stressBlocks(5_000, seed)));
  });

  test('on every F16 and BF16 bit pattern, and on random ones', async () => {
    for (const source of ['F16', 'BF16'] as const) {
      await expectMatchesScalar(source, every16BitPattern());
      await expectMatchesScalar(source, randomBytes(1 << 18, source === 'F16' ? 5 : 6));
    }
  });

  test('on values that only rounding can tell apart', async () => {
    const values = new Float32Array(64);
    values.set([-8, 0.5, 1.5, 2.5, Math.fround(0.49999997), -0.5, 7.5, -7.5, 3.4e38, -3.4e38], 0);
    values.set([127, 0.5, -0.5, 1.5, -1.5, 126.5, -126.5, Math.fround(0.49999997), 65504 * 127, 1e-40], 32);
    await expectMatchesScalar('F32', f32Bytes(values));
  });
});

describe('jobs', () => {
  test('same-type jobs copy the bytes exactly, NaN payloads included, and report the first non-finite value', async () => {
    const f32 = f32Bytes(new Float32Array([1, 2, f32FromBits(0x7fa00001), -Infinity, ...new Array(28).fill(0.25)]));
    const copy = await pool.convert({ source: 'F32', target: 'F32', bytes: f32.slice() });
    expect(Buffer.from(copy.data).equals(Buffer.from(f32))).toBe(true);
    expect(copy.firstNonFinite).toBe(2);
    const f16 = every16BitPattern();
    const halves = await pool.convert({ source: 'F16', target: 'F16', bytes: f16.slice() });
    expect(Buffer.from(halves.data).equals(Buffer.from(f16))).toBe(true);
    expect(halves.firstNonFinite).toBe(0x7c00);
  });

  test('an empty job gives empty data', async () => {
    expect(await pool.convert({ source: 'BF16', target: 'Q4_0', bytes: new Uint8Array(0) })).toEqual({
      data: new Uint8Array(0),
      firstNonFinite: -1,
    });
  });

  test('a job longer than a kernel chunk, ending in a partial block, converts whole', async () => {
    const length = 3 * KERNEL_CHUNK_VALUES + 37;
    const values = stressBlocks(Math.ceil(length / 32), 7).subarray(0, length);
    for (let i = 0; i < 2 * KERNEL_CHUNK_VALUES; i++) if (!Number.isFinite(values[i])) values[i] = 0;
    values[2 * KERNEL_CHUNK_VALUES + 30] = Infinity;
    values[2 * KERNEL_CHUNK_VALUES + 5] = NaN;
    await expectMatchesScalar('F32', f32Bytes(values), ['F16', 'F32']);
    const { firstNonFinite } = await pool.convert({ source: 'F32', target: 'F16', bytes: f32Bytes(values) });
    expect(firstNonFinite).toBe(2 * KERNEL_CHUNK_VALUES + 5);
  });

  test('many jobs in flight on two threads give what one thread gives, each to its own caller', async () => {
    const jobs = Array.from({ length: 24 }, (_, i) => ({
      source: 'BF16' as const,
      target: TARGETS[i % TARGETS.length],
      bytes: randomBytes(2 * 32 * (1 + i * 97), 100 + i),
    }));
    const single = createConvertPool({ threads: 1 });
    try {
      const expected: ConvertResult[] = [];
      for (const job of jobs) expected.push(await single.convert({ ...job, bytes: job.bytes.slice() }));
      const results = await Promise.all(jobs.map((job) => pool.convert(job)));
      results.forEach((result, i) => {
        expect(Buffer.from(result.data).equals(Buffer.from(expected[i].data))).toBe(true);
        expect(result.firstNonFinite).toBe(expected[i].firstNonFinite);
      });
    } finally {
      await single.close();
    }
  });

  test('a file range is read by the worker itself and converts exactly like the same bytes', async () => {
    const length = 2 * KERNEL_CHUNK_VALUES + 96;
    const bytes = randomBytes(2 * length, 31);
    const path = join(await makeTempDir(), 'source.bin');
    const offset = 1000;
    writeFileSync(path, Buffer.concat([Buffer.alloc(offset, 7), bytes, Buffer.alloc(64, 9)]));
    for (const target of TARGETS) {
      const fromFile = await pool.convert({
        source: 'BF16',
        target,
        range: { path, position: offset, length: bytes.byteLength },
      });
      const fromBytes = await pool.convert({ source: 'BF16', target, bytes: bytes.slice() });
      expect(Buffer.from(fromFile.data).equals(Buffer.from(fromBytes.data))).toBe(true);
      expect(fromFile.firstNonFinite).toBe(fromBytes.firstNonFinite);
    }
  });

  test('a file range the file does not hold is a clear error, and the pool goes on', async () => {
    const path = join(await makeTempDir(), 'short.bin');
    writeFileSync(path, Buffer.alloc(100));
    await expect(
      pool.convert({ source: 'BF16', target: 'Q4_0', range: { path, position: 0, length: 128 } }),
    ).rejects.toThrow(
      /^reading .*short\.bin failed \(the file ended at byte 100, inside a tensor\); check the disk and that the file is not changing, then run again$/,
    );
    await expect(
      pool.convert({ source: 'BF16', target: 'Q4_0', range: { path: `${path}.absent`, position: 0, length: 64 } }),
    ).rejects.toThrow(/^reading .*absent failed \(ENOENT/);
    expect((await pool.convert({ source: 'BF16', target: 'Q4_0', bytes: new Uint8Array(64) })).data).toHaveLength(18);
  });

  test('a view over a whole buffer is transferred; any other view is copied and left intact', async () => {
    const whole = golden('input.f32');
    await pool.convert({ source: 'F32', target: 'Q4_0', bytes: whole });
    expect(whole.byteLength).toBe(0);
    const backing = golden('input.f32');
    const part = backing.subarray(0, 128 * 4);
    const { data } = await pool.convert({ source: 'F32', target: 'Q4_0', bytes: part });
    expect(part.byteLength).toBe(512);
    expect(Buffer.from(data).equals(Buffer.from(golden('q4_0.bin').subarray(0, 4 * 18)))).toBe(true);
  });

  test('rejects jobs that are not whole blocks of the target, or name a type it cannot convert', async () => {
    await expect(pool.convert({ source: 'F32', target: 'Q4_0', bytes: new Uint8Array(4 * 33) })).rejects.toThrow(
      '33 values is not a whole number of Q4_0 blocks of 32',
    );
    await expect(pool.convert({ source: 'F16', target: 'F32', bytes: new Uint8Array(3) })).rejects.toThrow(
      '3 bytes is not a whole number of F16 values of 2 bytes',
    );
    await expect(
      pool.convert({ source: 'Q4_0' as SourceType, target: 'F32', bytes: new Uint8Array(18) }),
    ).rejects.toThrow('cannot convert from Q4_0; sources are F32, F16, BF16');
    await expect(
      pool.convert({ source: 'F32', target: 'BF16' as TargetType, bytes: new Uint8Array(4) }),
    ).rejects.toThrow('cannot convert to BF16; targets are F32, F16, Q4_0, Q8_0');
  });
});

/** A WebAssembly binary from its sections (each shorter than 128 bytes). */
function wasmModule(...sections: Array<[id: number, body: number[]]>): Uint8Array {
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...sections.flatMap(([id, body]) => [id, body.length, ...body]),
  ]);
}
const wasmName = (text: string) => [text.length, ...Buffer.from(text)];

describe('failures settle every job instead of hanging', () => {
  test('a kernel that traps rejects the job with the reason', async () => {
    // The kernel's exports, with areas at 1024 and 2048 and a convert that is `unreachable`.
    const trapping = wasmModule(
      [1, [2, 0x60, 0, 1, 0x7f, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]],
      [3, [4, 0, 0, 0, 1]],
      [5, [1, 0, 1]],
      [
        7,
        [
          5,
          ...wasmName('memory'),
          2,
          0,
          ...wasmName('source_area'),
          0,
          0,
          ...wasmName('target_area'),
          0,
          1,
          ...wasmName('chunk_values'),
          0,
          2,
          ...wasmName('convert'),
          0,
          3,
        ],
      ],
      [
        10,
        [4, 5, 0, 0x41, 0x80, 0x08, 0x0b, 5, 0, 0x41, 0x80, 0x10, 0x0b, 5, 0, 0x41, 0x80, 0x08, 0x0b, 3, 0, 0x00, 0x0b],
      ],
    );
    const broken = createConvertPool({ threads: 1, kernelWasm: trapping });
    try {
      await expect(broken.convert({ source: 'F32', target: 'Q4_0', bytes: new Uint8Array(128) })).rejects.toThrow(
        'the conversion kernel failed on a F32 to Q4_0 job: unreachable',
      );
    } finally {
      await broken.close();
    }
  });

  test('a worker that dies rejects every pending job, and the jobs after it', async () => {
    // A module importing a function no worker provides: instantiating it throws in the worker.
    const unlinkable = wasmModule([1, [1, 0x60, 0, 0]], [2, [1, ...wasmName('env'), ...wasmName('missing'), 0, 0]]);
    const broken = createConvertPool({ threads: 2, kernelWasm: unlinkable });
    try {
      const jobs = Array.from({ length: 5 }, () =>
        broken.convert({ source: 'F32', target: 'F32', bytes: new Uint8Array(4) }),
      );
      await Promise.all(jobs.map((job) => expect(job).rejects.toThrow(/^a conversion worker crashed: .*Import/)));
      await expect(broken.convert({ source: 'F32', target: 'F32', bytes: new Uint8Array(4) })).rejects.toThrow(
        /a conversion worker crashed/,
      );
    } finally {
      await broken.close();
    }
  });

  test('close rejects the jobs still pending and every later one', async () => {
    const closing = createConvertPool({ threads: 1 });
    const pending = Array.from({ length: 4 }, () =>
      closing.convert({ source: 'BF16', target: 'Q4_0', bytes: new Uint8Array(1 << 20) }),
    );
    const settled = pending.map((job) =>
      expect(job).rejects.toThrow('the conversion pool was closed before this job finished'),
    );
    await closing.close();
    await Promise.all(settled);
    await expect(closing.convert({ source: 'F32', target: 'F32', bytes: new Uint8Array(4) })).rejects.toThrow(
      'the conversion pool was closed',
    );
  });

  test('rejects a thread count that is not a positive whole number', () => {
    expect(() => createConvertPool({ threads: 0 })).toThrow(
      'a conversion pool needs a whole number of threads, at least 1, not 0',
    );
  });
});

test('works from a single-file esbuild bundle, and idle workers let the process exit without close()', async () => {
  const dir = await makeTempDir();
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    [
      `import { createConvertPool } from ${JSON.stringify(join(repoRoot, 'src', 'quant', 'pool.js'))};`,
      `const pool = createConvertPool({ threads: 2 });`,
      `const bytes = new Uint8Array(Float32Array.from({ length: 64 }, (_, i) => (i - 31.5) / 8).buffer);`,
      `const { data, firstNonFinite } = await pool.convert({ source: 'F32', target: 'Q4_0', bytes });`,
      `console.log(JSON.stringify({ data: Array.from(data), firstNonFinite }));`,
    ].join('\n'),
  );
  const bundle = join(dir, 'bundle.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'silent',
  });
  const run = spawnSync(process.execPath, [bundle], { encoding: 'utf8', timeout: 20_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const expected = encode(
    'Q4_0',
    Float32Array.from({ length: 64 }, (_, i) => (i - 31.5) / 8),
  );
  expect(JSON.parse(run.stdout)).toEqual({ data: Array.from(expected), firstNonFinite: -1 });
});
