import {
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  pairedBootstrap,
  pairedBootstrapInSlices,
  type PairedCounts,
} from '../../src/scoring/bootstrap.js';
import { SeededRandom } from '../../src/scoring/random.js';

function syntheticCounts(seed: number, n: number): PairedCounts {
  const random = new SeededRandom(seed);
  const words = new Int32Array(n);
  const referenceErrors = new Int32Array(n);
  const candidateErrors = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    words[i] = 5 + random.nextBelow(30);
    referenceErrors[i] = random.nextBelow(3);
    candidateErrors[i] = referenceErrors[i]! + (random.nextFloat() < 0.2 ? random.nextBelow(3) - 1 : 0);
  }
  return { words, referenceErrors, candidateErrors };
}

describe('pairedBootstrap', () => {
  test('the same seed gives the same interval; another seed a different one', () => {
    const counts = syntheticCounts(1, 300);
    const first = pairedBootstrap(counts, { resamples: 2000, seed: 5 });
    expect(pairedBootstrap(counts, { resamples: 2000, seed: 5 })).toEqual(first);
    const other = pairedBootstrap(counts, { resamples: 2000, seed: 6 });
    expect([other.low, other.high, other.probabilityWorse]).not.toEqual([
      first.low,
      first.high,
      first.probabilityWorse,
    ]);
    expect(first).toMatchObject({ resamples: 2000, seed: 5, confidence: 0.95 });
    expect(first.low).toBeLessThan(first.high);
  });

  test('defaults to 10,000 resamples and the fixed default seed', () => {
    const result = pairedBootstrap(syntheticCounts(2, 50));
    expect(result).toMatchObject({ resamples: DEFAULT_RESAMPLES, seed: DEFAULT_SEED });
    expect(DEFAULT_RESAMPLES).toBe(10_000);
  });

  test('identical systems have a zero-width interval and are never worse', () => {
    const counts = syntheticCounts(3, 100);
    const result = pairedBootstrap({ ...counts, candidateErrors: counts.referenceErrors }, { resamples: 500 });
    expect(result).toMatchObject({ low: 0, high: 0, probabilityWorse: 0 });
  });

  test('a candidate with one extra error on every utterance is worse in every resample', () => {
    const words = new Int32Array([10, 10, 20]);
    const referenceErrors = new Int32Array([0, 1, 2]);
    const candidateErrors = referenceErrors.map((errors) => errors + 1);
    const result = pairedBootstrap({ words, referenceErrors, candidateErrors }, { resamples: 1000 });
    expect(result.probabilityWorse).toBe(1);
    // Three errors over 40 words in the sample itself (7.5 points); resamples range from 5 to 10.
    expect(result.low).toBeGreaterThanOrEqual(5);
    expect(result.high).toBeLessThanOrEqual(10);
  });

  test('the 95% interval covers the true ΔWER in at least 90% of simulated data sets', () => {
    // Population: utterances of 5–34 words; each word is a reference-system error with
    // probability p ~ U(0, 0.1), and a candidate error when it is one for the reference or, on half
    // the utterances, with 0.02 more probability. Words are independent of the rates, so the true
    // ΔWER is E[q − p] = 0.5 · 0.02 = 1 point.
    const trueDeltaPoints = 1;
    const random = new SeededRandom(2024);
    const datasets = 200;
    const n = 150;
    let covered = 0;
    for (let d = 0; d < datasets; d++) {
      const words = new Int32Array(n);
      const referenceErrors = new Int32Array(n);
      const candidateErrors = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        words[i] = 5 + random.nextBelow(30);
        const p = random.nextFloat() * 0.1;
        const q = p + (random.nextFloat() < 0.5 ? 0.02 : 0);
        for (let w = 0; w < words[i]!; w++) {
          const u = random.nextFloat();
          if (u < p) referenceErrors[i]!++;
          if (u < q) candidateErrors[i]!++;
        }
      }
      const { low, high } = pairedBootstrap({ words, referenceErrors, candidateErrors }, { resamples: 1000, seed: d });
      if (low <= trueDeltaPoints && trueDeltaPoints <= high) covered++;
    }
    expect(covered / datasets).toBeGreaterThanOrEqual(0.9);
    // A working interval is not trivially wide either: it must miss sometimes.
    expect(covered).toBeLessThan(datasets);
  });

  test('rejects mismatched inputs and empty utterances', () => {
    const counts = syntheticCounts(4, 10);
    expect(() => pairedBootstrap({ ...counts, candidateErrors: new Int32Array(9) })).toThrow(RangeError);
    expect(() =>
      pairedBootstrap({
        words: new Int32Array(0),
        referenceErrors: new Int32Array(0),
        candidateErrors: new Int32Array(0),
      }),
    ).toThrow(/no utterances to compare/);
    expect(() => pairedBootstrap({ ...counts, words: new Int32Array(10) })).toThrow(RangeError);
  });
});

describe('pairedBootstrapInSlices', () => {
  const counts: PairedCounts = {
    words: Int32Array.from({ length: 300 }, (_, i) => 5 + (i % 17)),
    referenceErrors: Int32Array.from({ length: 300 }, (_, i) => i % 3),
    candidateErrors: Int32Array.from({ length: 300 }, (_, i) => (i * 7) % 4),
  };

  test('gives the interval pairedBootstrap gives, also when the resamples are not a whole number of slices', async () => {
    for (const resamples of [1, 99, 1001]) {
      expect(await pairedBootstrapInSlices(counts, { resamples, seed: 3 })).toEqual(
        pairedBootstrap(counts, { resamples, seed: 3 }),
      );
    }
  });

  test('a run of a million resamples ends at once when its signal is aborted', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const testClean = {
      words: new Int32Array(2620).fill(20),
      referenceErrors: new Int32Array(2620).fill(1),
      candidateErrors: new Int32Array(2620).fill(2),
    };
    const run = pairedBootstrapInSlices(testClean, { resamples: 1_000_000 }, controller.signal);
    setTimeout(() => controller.abort(new Error('stopped')), 20);
    await expect(run).rejects.toThrow('stopped');
    // The whole run draws 2.6 billion indices, tens of seconds; a stop waits only for the slice in progress.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
