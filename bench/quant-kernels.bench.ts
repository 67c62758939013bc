// Throughput of BF16 → Q4_0 (and the pool's Q8_0 and F16) on 64 M weight-like values, in chunks
// as the GGUF writer streams them: the scalar TypeScript codec, the WebAssembly kernel on one
// worker thread, and the pool on every core. Each figure is the best of three runs; ratios are
// against the scalar codec in the same run.

import { availableParallelism } from 'node:os';
import { decodeSource, encode, type TargetType } from '../src/quant/codec.js';
import { f32ToBf16Bits } from '../src/quant/half.js';
import { createConvertPool } from '../src/quant/pool.js';

const VALUES = 64 * 1024 * 1024;
const CHUNK_VALUES = 2 * 1024 * 1024;

/** Gaussian weights (σ = 0.02) with one value in a thousand a 20× outlier, as BF16 bytes. */
function weightLikeBf16(count: number): Uint8Array {
  let state = 0x9e3779b9;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const bytes = new Uint8Array(count * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) {
    const gaussian = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    const value = gaussian * 0.02 * (uniform() < 0.001 ? 20 : 1);
    view.setUint16(i * 2, f32ToBf16Bits(value), true);
  }
  return bytes;
}

/** The source cut into fresh chunks (the pool takes ownership of each). */
function chunks(source: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < source.length; at += CHUNK_VALUES * 2) out.push(source.slice(at, at + CHUNK_VALUES * 2));
  return out;
}

const RUNS = 3;

/** The best of RUNS timings of `work` over all VALUES, in values per second; `prepare` is untimed. */
async function valuesPerSecond<T>(prepare: () => T, work: (prepared: T) => Promise<void> | void): Promise<number> {
  let best = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const prepared = prepare();
    const start = process.hrtime.bigint();
    await work(prepared);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return VALUES / best;
}

function report(label: string, rate: number, baseline: number): void {
  console.log(
    `${label.padEnd(36)} ${(rate / 1e6).toFixed(0).padStart(5)} M values/s  ${(rate / baseline).toFixed(2)}×`,
  );
}

export const bench = {
  name: 'quant-kernels',
  summary: 'BF16 → Q4_0/Q8_0/F16 throughput: scalar TypeScript vs WebAssembly kernel vs worker pool',
  run: async () => {
    const source = weightLikeBf16(VALUES);
    const scalar = await valuesPerSecond(
      () => chunks(source),
      (jobs) => {
        for (const bytes of jobs) encode('Q4_0', decodeSource('BF16', bytes));
      },
    );
    report('BF16 → Q4_0, scalar TypeScript', scalar, scalar);

    const poolRate = async (threads: number, target: TargetType) => {
      const pool = createConvertPool({ threads });
      try {
        await pool.convert({ source: 'BF16', target, bytes: source.slice(0, CHUNK_VALUES * 2) });
        return await valuesPerSecond(
          () => chunks(source),
          async (jobs) => {
            await Promise.all(jobs.map((bytes) => pool.convert({ source: 'BF16', target, bytes })));
          },
        );
      } finally {
        await pool.close();
      }
    };
    const single = await poolRate(1, 'Q4_0');
    report('BF16 → Q4_0, wasm kernel, 1 thread', single, scalar);
    const threads = availableParallelism();
    for (const target of ['Q4_0', 'Q8_0', 'F16'] as const) {
      const rate = await poolRate(threads, target);
      report(`BF16 → ${target}, pool of ${threads} threads`, rate, scalar);
    }
  },
};
