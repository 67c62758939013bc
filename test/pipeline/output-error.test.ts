// The score behind `sensitivity --method fast` on a case small enough to compute by hand: a 2 × 32
// weight whose Q4_0 rounding is known exactly, and a few input rows, products and lookups; and the
// bounded, deterministic sample of rows the reference keeps.

import type { LinearInput } from '../../src/engines/engine.js';
import { ActivationSample, MAX_SAMPLE_ROWS, MIN_SAMPLE_ROWS } from '../../src/pipeline/activation-sample.js';
import { measureOutputErrors } from '../../src/pipeline/output-error.js';
import { quantizeModel } from '../../src/pipeline/quantize.js';
import { writeTestModel } from '../helpers/model.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

/**
 * W = [[8, 1.5, 0, …], [−4, 0, 0.25, 0, …]] (2 rows of one Q4_0 block). ggml's Q4_0 takes the
 * block's value of largest magnitude m, the scale d = m / −8, and rounds x/d + 8.5 down:
 * row 0 has d = −1, so 8 → 8 exactly and 1.5 → 1 (error 0.5); row 1 has d = 0.5, so −4 → −4 and
 * 0.25 → 0.5 (error −0.25). So W − Q(W) = [[0, 0.5, 0, …], [0, 0, −0.25, 0, …]].
 */
async function handModel(): Promise<{
  dir: string;
  tensor: Awaited<ReturnType<typeof quantizeModel>>['plan']['tensors'][number];
}> {
  const dir = await makeTempDir();
  const values = new Float32Array(64);
  values.set([8, 1.5], 0);
  values.set([-4, 0, 0.25], 32);
  await writeTestModel(dir, [{ name: 'proj.weight', dtype: 'F32', shape: [2, 32], values }]);
  const { plan } = await quantizeModel({ model: dir, outDir: '', dryRun: true });
  expect(plan.tensors.map((tensor) => [tensor.name, tensor.type])).toEqual([['proj.weight', 'Q4_0']]);
  return { dir, tensor: plan.tensors[0]! };
}

function row(width: number, entries: Record<number, number>): number[] {
  const values = new Array<number>(width).fill(0);
  for (const [index, value] of Object.entries(entries)) values[Number(index)] = value;
  return values;
}

describe('the output error of a weight', () => {
  test('x · Wᵀ over two rows: Σ‖ΔW x‖² and Σ‖W x‖² as computed by hand', async () => {
    const { dir, tensor } = await handModel();
    const sample = new ActivationSample([tensor]);
    const input: LinearInput = { key: 'x', width: 32, weights: [{ tensor: 'proj.weight', along: 'rows' }] };
    // x1 = (1, 2, 4, 0, …), x2 = (0, −2, 2, 0, …), handed over in two calls.
    sample.linear(input, Float32Array.from(row(32, { 0: 1, 1: 2, 2: 4 })));
    sample.linear(input, Float32Array.from(row(32, { 1: -2, 2: 2 })));
    // W x1 = (8 + 3, −4 + 1) = (11, −3); W x2 = (−3, 0.5): 121 + 9 + 9 + 0.25.
    // ΔW x1 = (1, −1); ΔW x2 = (−1, −0.5): 1 + 1 + 1 + 0.25.
    const errors = await measureOutputErrors(dir, [tensor], sample);
    expect(errors.get('proj.weight')).toEqual({ error: 3.25, reference: 139.25 });
  });

  test('x · W (the weight read along its columns) and a lookup of its rows', async () => {
    const { dir, tensor } = await handModel();
    const columns = new ActivationSample([tensor]);
    // x = (1, 1): x · W = row 0 + row 1 = (4, 1.5, 0.25, …); x · ΔW = (0, 0.5, −0.25, …).
    columns.linear(
      { key: 'x', width: 2, weights: [{ tensor: 'proj.weight', along: 'columns' }] },
      Float32Array.of(1, 1),
    );
    expect((await measureOutputErrors(dir, [tensor], columns)).get('proj.weight')).toEqual({
      error: 0.3125,
      reference: 16 + 2.25 + 0.0625,
    });

    // Rows 1, 1, 0 looked up: 2 · ‖ΔW[1]‖² + ‖ΔW[0]‖², and 2 · ‖W[1]‖² + ‖W[0]‖².
    const lookups = new ActivationSample([tensor]);
    lookups.lookup('proj.weight', [1, 1, 0]);
    expect((await measureOutputErrors(dir, [tensor], lookups)).get('proj.weight')).toEqual({
      error: 2 * 0.0625 + 0.25,
      reference: 2 * (16 + 0.0625) + 64 + 2.25,
    });
  });
});

describe('the sample of an input', () => {
  const width = 8;
  const input: LinearInput = { key: 'x', width, weights: [{ tensor: 'w', along: 'rows' }] };
  /** Rows whose first value is their index in the stream. */
  const rows = (from: number, count: number) => {
    const values = new Float32Array(count * width);
    for (let i = 0; i < count; i++) values[i * width] = from + i;
    return values;
  };
  const kept = (sample: ActivationSample) => {
    const [only] = sample.inputsOf('w');
    return Array.from({ length: only!.rows.length / width }, (_, i) => only!.rows[i * width]!);
  };

  test('keeps every row until full, then rows 0, s, 2s, … of the whole stream, however it was handed over', () => {
    // Rows of 8 values: the sample holds MAX_SAMPLE_ROWS of them.
    const capacity = MAX_SAMPLE_ROWS;
    expect(MIN_SAMPLE_ROWS * width).toBeLessThan(1 << 20);
    const small = new ActivationSample([{ name: 'w', ne: [width, 4] }]);
    small.linear(input, rows(0, 10));
    expect(kept(small)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const total = capacity * 5 + 3;
    const once = new ActivationSample([{ name: 'w', ne: [width, 4] }]);
    once.linear(input, rows(0, total));
    const inPieces = new ActivationSample([{ name: 'w', ne: [width, 4] }]);
    for (let from = 0; from < total; from += 1000) inPieces.linear(input, rows(from, Math.min(1000, total - from)));
    // Five times the capacity: the stride doubled three times, to 8.
    const expected = Array.from({ length: Math.ceil(total / 8) }, (_, i) => i * 8);
    expect(kept(once)).toEqual(expected);
    expect(kept(inPieces)).toEqual(expected);
    expect(inPieces.inputsOf('w')[0]!.seen).toBe(total);
  });
});
