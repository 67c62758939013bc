// The retry loop every download shares: only transient failures are retried, the wait doubles
// after each one up to 30 s, each retry is logged in one line, and the last cause is kept for the
// caller's error.

import { jest } from '@jest/globals';
import { backoffDelayMs, RetriesExhaustedError, retrying, TransientError } from '../../src/net/retry.js';

describe('retrying', () => {
  test('the wait doubles after each failure and stops growing at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 12].map((tryNumber) => backoffDelayMs(4000, tryNumber))).toEqual([
      4000, 8000, 16000, 30000, 30000, 30000, 30000,
    ]);
  });

  test('transient failures are retried with those waits, and the last cause is reported', async () => {
    const lines: string[] = [];
    const failing = retrying(
      { attempts: 4, baseDelayMs: 200 },
      async (tryNumber) => Promise.reject(new TransientError(`HTTP 503 on try ${tryNumber}`)),
      { what: 'GET /x', log: (line) => lines.push(line) },
    );
    await expect(failing).rejects.toThrow(RetriesExhaustedError);
    await expect(failing).rejects.toThrow('failed 4 times, last: HTTP 503 on try 4');
    expect(lines).toEqual([
      'GET /x: HTTP 503 on try 1; try 2 of 4 in 0.2 s',
      'GET /x: HTTP 503 on try 2; try 3 of 4 in 0.4 s',
      'GET /x: HTTP 503 on try 3; try 4 of 4 in 0.8 s',
    ]);
  });

  test('a success after failures returns its value', async () => {
    const heard: string[] = [];
    const result = await retrying(
      { attempts: 5, baseDelayMs: 1 },
      async (tryNumber) => {
        if (tryNumber < 3) throw new TransientError('connection reset');
        return 'body';
      },
      { what: 'GET /y', log: (line) => heard.push(line) },
    );
    expect(result).toBe('body');
    expect(heard).toEqual([
      'GET /y: connection reset; try 2 of 5 in 0.0 s',
      'GET /y: connection reset; try 3 of 5 in 0.0 s',
    ]);
  });

  test('any other error ends it at once, unchanged', async () => {
    const refusal = new Error('HTTP 401');
    const attempt = jest.fn(async () => Promise.reject(refusal));
    await expect(
      retrying({ attempts: 5, baseDelayMs: 1 }, attempt, { what: 'GET /z', log: () => undefined }),
    ).rejects.toBe(refusal);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  test("an abort ends the wait between tries with the abort's reason, and no further try starts", async () => {
    const controller = new AbortController();
    const attempt = jest.fn(async () => Promise.reject(new TransientError('HTTP 503')));
    const started = Date.now();
    const retried = retrying({ attempts: 5, baseDelayMs: 20_000 }, attempt, {
      what: 'GET /w',
      log: () => controller.abort(new Error('stopping: SIGTERM')),
      signal: controller.signal,
    });
    await expect(retried).rejects.toThrow('stopping: SIGTERM');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(attempt).toHaveBeenCalledTimes(1);
  });
});
