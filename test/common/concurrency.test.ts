import { setTimeout as sleep } from 'node:timers/promises';
import { forEachLimited, mapAhead, readAhead } from '../../src/common/concurrency.js';

describe('forEachLimited', () => {
  test('runs every item, never more than the limit at once, starting them in order', async () => {
    const started: number[] = [];
    let inFlight = 0;
    let most = 0;
    await forEachLimited([30, 5, 20, 5, 10, 1], 3, async (delay) => {
      started.push(delay);
      most = Math.max(most, ++inFlight);
      await sleep(delay);
      inFlight--;
    });
    expect(started).toEqual([30, 5, 20, 5, 10, 1]);
    expect(most).toBe(3);
  });

  test('after a failure starts nothing new, waits for the calls in flight, then throws the first failure', async () => {
    const finished: string[] = [];
    const run = forEachLimited(['slow', 'fails', 'later', 'last'], 2, async (item) => {
      if (item === 'fails') {
        await sleep(5);
        throw new Error('first failure');
      }
      await sleep(item === 'slow' ? 40 : 1);
      finished.push(item);
    });
    await expect(run).rejects.toThrow('first failure');
    expect(finished).toEqual(['slow']);
  });

  test('an empty list does nothing', async () => {
    await forEachLimited([], 4, () => Promise.reject(new Error('never called')));
  });
});

describe('readAhead', () => {
  async function* numbers(log: string[], count: number, failAt?: number): AsyncGenerator<number> {
    try {
      for (let i = 0; i < count; i++) {
        log.push(`produce ${i}`);
        await sleep(1);
        if (i === failAt) throw new Error(`failed at ${i}`);
        yield i;
      }
    } finally {
      log.push('source closed');
    }
  }

  test('yields every item in order, producing the next while the consumer works on this one', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    for await (const value of readAhead(numbers(log, 3))) {
      log.push(`consume ${value}`);
      seen.push(value);
      await sleep(5);
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(log.indexOf('produce 1')).toBeLessThan(log.indexOf('consume 0'));
    expect(log.indexOf('produce 2')).toBeLessThan(log.indexOf('consume 1'));
    expect(log.filter((line) => line === 'source closed')).toHaveLength(1);
  });

  test('a consumer that stops early closes the source; a failure of the source reaches the consumer', async () => {
    const log: string[] = [];
    for await (const value of readAhead(numbers(log, 10))) if (value === 1) break;
    expect(log.filter((line) => line.startsWith('produce'))).toEqual(['produce 0', 'produce 1', 'produce 2']);
    expect(log.at(-1)).toBe('source closed');

    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const value of readAhead(numbers([], 5, 2))) seen.push(value);
      })(),
    ).rejects.toThrow('failed at 2');
    expect(seen).toEqual([0, 1]);
  });
});

describe('mapAhead', () => {
  async function* items(count: number): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) yield i;
  }

  test('yields the results in order with at most the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results: number[] = [];
    for await (const value of mapAhead(items(10), 3, async (i) => {
      most = Math.max(most, ++inFlight);
      // Later items finish first, so order comes from the helper, not from timing.
      await sleep(10 - i);
      inFlight--;
      return i * 2;
    }))
      results.push(value);
    expect(results).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(most).toBe(3);
  });

  test('a failure is thrown where its result would come, after the results before it', async () => {
    const results: number[] = [];
    await expect(
      (async () => {
        for await (const value of mapAhead(items(6), 4, async (i) => {
          await sleep(1);
          if (i === 3) throw new Error('item 3 failed');
          return i;
        }))
          results.push(value);
      })(),
    ).rejects.toThrow('item 3 failed');
    expect(results).toEqual([0, 1, 2]);
  });
});
