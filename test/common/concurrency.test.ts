import { setTimeout as sleep } from 'node:timers/promises';
import { forEachLimited } from '../../src/common/concurrency.js';

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
