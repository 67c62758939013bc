// The retry loop every download shares: only transient failures are retried, the wait doubles
// after each one up to 30 s, and the last cause is kept for the caller's error.

import { jest } from '@jest/globals';
import { backoffDelayMs, RetriesExhaustedError, retrying, TransientError } from '../../src/hub/retry.js';

describe('retrying', () => {
  test('the wait doubles after each failure and stops growing at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 12].map((tryNumber) => backoffDelayMs(4000, tryNumber))).toEqual([4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  test('transient failures are retried with those waits, and the last cause is reported', async () => {
    const delays: number[] = [];
    const failing = retrying({ attempts: 4, baseDelayMs: 2 }, async (tryNumber) => Promise.reject(new TransientError(`HTTP 503 on try ${tryNumber}`)), (_cause, _next, delayMs) => delays.push(delayMs));
    await expect(failing).rejects.toThrow(RetriesExhaustedError);
    await expect(failing).rejects.toThrow('failed 4 times, last: HTTP 503 on try 4');
    expect(delays).toEqual([2, 4, 8]);
  });

  test('a success after failures returns its value', async () => {
    const heard: string[] = [];
    const result = await retrying(
      { attempts: 5, baseDelayMs: 1 },
      async (tryNumber) => {
        if (tryNumber < 3) throw new TransientError('connection reset');
        return 'body';
      },
      (cause, nextTry) => heard.push(`${cause}; try ${nextTry}`),
    );
    expect(result).toBe('body');
    expect(heard).toEqual(['connection reset; try 2', 'connection reset; try 3']);
  });

  test('any other error ends it at once, unchanged', async () => {
    const refusal = new Error('HTTP 401');
    const attempt = jest.fn(async () => Promise.reject(refusal));
    await expect(retrying({ attempts: 5, baseDelayMs: 1 }, attempt, () => undefined)).rejects.toBe(refusal);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  test('an aborted signal ends the wait between tries with its reason, and no try follows', async () => {
    const controller = new AbortController();
    const stopped = new Error('stopped by SIGTERM');
    const attempt = jest.fn(async () => Promise.reject(new TransientError('HTTP 503')));
    const started = performance.now();
    const run = retrying({ attempts: 5, baseDelayMs: 30_000 }, attempt, () => setTimeout(() => controller.abort(stopped), 10), controller.signal);
    await expect(run).rejects.toBe(stopped);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(attempt).toHaveBeenCalledTimes(1);
  });
});
