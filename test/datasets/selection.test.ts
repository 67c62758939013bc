import { parseShard, selectUtterances } from '../../src/datasets/selection.js';

describe('selectUtterances', () => {
  it('takes the first N (default 100, 0 for all)', () => {
    expect(selectUtterances(2620)).toEqual({ start: 0, end: 100, selectedBeforeShard: 100 });
    expect(selectUtterances(2620, 0)).toEqual({ start: 0, end: 2620, selectedBeforeShard: 2620 });
    expect(selectUtterances(40, 100)).toEqual({ start: 0, end: 40, selectedBeforeShard: 40 });
  });

  it('splits the N into contiguous shards that cover them exactly once, sizes within one', () => {
    for (const [available, maxSamples, count] of [
      [2620, 100, 3],
      [2620, 0, 7],
      [10, 10, 10],
      [5, 0, 2],
      [1000, 999, 4],
    ] as const) {
      const shards = Array.from({ length: count }, (_, index) =>
        selectUtterances(available, maxSamples, { index, count }),
      );
      const covered = shards.flatMap(({ start, end }) => Array.from({ length: end - start }, (_, i) => start + i));
      const total = maxSamples === 0 ? available : Math.min(available, maxSamples);
      expect(covered).toEqual(Array.from({ length: total }, (_, i) => i));
      const sizes = shards.map(({ start, end }) => end - start);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(selectUtterances(2620, 100, { index: 1, count: 3 })).toEqual({
      start: 33,
      end: 66,
      selectedBeforeShard: 100,
    });
  });

  it('rejects bad limits and shards', () => {
    expect(() => selectUtterances(10, -1)).toThrow('--max-samples must be a whole number ≥ 0');
    expect(() => selectUtterances(10, 1.5)).toThrow('--max-samples');
    expect(() => selectUtterances(10, 5, { index: 3, count: 3 })).toThrow('--shard 4/3 is not a shard');
    expect(() => selectUtterances(10, 5, { index: 0, count: 0 })).toThrow('--shard 1/0 is not a shard');
  });
});

describe('parseShard', () => {
  it('reads I/N counted from 1 into a 0-based index', () => {
    expect(parseShard('1/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 4 / 4 ')).toEqual({ index: 3, count: 4 });
  });

  it.each(['0/4', '5/4', '1/0', '-1/4', '1', 'a/b', '1.5/4'])('rejects %j', (text) => {
    expect(() => parseShard(text)).toThrow(
      `--shard must be I/N with 1 ≤ I ≤ N (e.g. 1/4 for the first of four matrix jobs), got "${text}"`,
    );
  });

  it('names the option as the caller spells it', () => {
    expect(() => parseShard('9/4', 'input "shard"')).toThrow(/^input "shard" must be I\/N/);
  });
});
