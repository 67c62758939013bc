// The memory check's arithmetic: the peak of a run that loads one variant at a time, the batch
// size that fits, the error when nothing fits, and what counts as available.

import { QuantgateError } from '../../src/common/errors.js';
import { availableBytes, fitBatchSize, neededBytes, PROCESS_BASELINE_BYTES } from '../../src/pipeline/memory.js';

const GiB = 2 ** 30;
/** Shaped like stt-1b-en_fr on the CPU: a 4 GiB float reference, a 1.2 GiB candidate, 0.12 GiB of KV ring per utterance. */
const reference = { loadedBytes: 4 * GiB, perUtteranceBytes: 0.125 * GiB };
const candidate = { loadedBytes: 1.25 * GiB, perUtteranceBytes: 0.125 * GiB };

describe('neededBytes', () => {
  test('is the process baseline plus the larger variant with one batch, not both variants', () => {
    expect(neededBytes([reference, candidate], 8)).toBe(PROCESS_BASELINE_BYTES + 4 * GiB + 8 * 0.125 * GiB);
    expect(neededBytes([candidate, reference], 1)).toBe(PROCESS_BASELINE_BYTES + 4.125 * GiB);
  });

  test('a variant with more per utterance can be the larger one at large batches', () => {
    const light = { loadedBytes: 1 * GiB, perUtteranceBytes: 1 * GiB };
    expect(neededBytes([reference, light], 1)).toBe(PROCESS_BASELINE_BYTES + 4.125 * GiB);
    expect(neededBytes([reference, light], 8)).toBe(PROCESS_BASELINE_BYTES + 9 * GiB);
  });
});

describe('fitBatchSize', () => {
  test('keeps the batch size asked for when it fits', () => {
    const fit = fitBatchSize({
      estimates: [reference, candidate],
      batchSize: 8,
      availableBytes: 6 * GiB,
      device: 'cpu',
    });
    expect(fit).toEqual({ batchSize: 8, neededBytes: neededBytes([reference, candidate], 8) });
  });

  test('lowers it to the largest batch size that fits', () => {
    const available = neededBytes([reference, candidate], 5) + 1;
    expect(
      fitBatchSize({ estimates: [reference, candidate], batchSize: 8, availableBytes: available, device: 'cpu' })
        .batchSize,
    ).toBe(5);
    expect(
      fitBatchSize({ estimates: [reference, candidate], batchSize: 8, availableBytes: available - 2, device: 'cpu' })
        .batchSize,
    ).toBe(4);
  });

  test('fails when not even one utterance at a time fits, saying how much is needed and how to reduce it', () => {
    const attempt = () =>
      fitBatchSize({ estimates: [reference, candidate], batchSize: 8, availableBytes: 3 * GiB, device: 'cpu' });
    expect(attempt).toThrow(QuantgateError);
    expect(attempt).toThrow(
      'the run needs about 4.42 GiB of memory even one utterance at a time, but only 3.00 GiB is available; run with --device cuda on a machine with an NVIDIA GPU, or free memory on this machine or take one with more, or set --max-duration to leave out long utterances',
    );
    expect(() => fitBatchSize({ estimates: [reference], batchSize: 1, availableBytes: GiB, device: 'cuda' })).toThrow(
      /is available; free memory on this machine or take one with more, or set --max-duration/,
    );
  });

  test('with no estimates only the process baseline counts', () => {
    expect(fitBatchSize({ estimates: [], batchSize: 8, availableBytes: GiB, device: 'cpu' })).toEqual({
      batchSize: 8,
      neededBytes: PROCESS_BASELINE_BYTES,
    });
  });
});

describe('availableBytes', () => {
  test('is the system’s available memory when no cgroup limits it', () => {
    expect(availableBytes({ free: 5 * GiB, total: 7 * GiB })).toBe(5 * GiB);
  });

  test('is capped by what is left under a cgroup limit', () => {
    expect(availableBytes({ free: 20 * GiB, total: 23 * GiB, cgroupLimit: 7 * GiB, cgroupUsage: 1 * GiB })).toBe(
      6 * GiB,
    );
    expect(availableBytes({ free: 3 * GiB, total: 23 * GiB, cgroupLimit: 7 * GiB, cgroupUsage: 1 * GiB })).toBe(
      3 * GiB,
    );
    expect(availableBytes({ free: 3 * GiB, total: 23 * GiB, cgroupLimit: 7 * GiB, cgroupUsage: 8 * GiB })).toBe(0);
  });

  test('ignores a cgroup "limit" at or above the machine’s memory (cgroup v1 reports 2^63 for none)', () => {
    expect(availableBytes({ free: 5 * GiB, total: 7 * GiB, cgroupLimit: 2 ** 63, cgroupUsage: GiB })).toBe(5 * GiB);
  });
});
