// How downloads survive a flaky network (the Hub's, and dataset URLs, npm tarballs and NuGet
// packages too): failures worth another try are marked transient and retried with exponential
// backoff, a request that stops receiving bytes is cut off and retried, and after the last try the
// caller gets the last cause to name in its error.

import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../common/errors.js';

export interface RetryPolicy {
  /** Tries per request or file before giving up (at least 1). */
  attempts: number;
  /** Wait before the second try; it doubles after each failure, up to 30 s. */
  baseDelayMs: number;
  /** A request that receives no bytes for this long is aborted and counts as a failed try. */
  stallTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, stallTimeoutMs: 30_000 };

const MAX_DELAY_MS = 30_000;

/** A failure another try may cure: a network error, a stall, a 5xx or 429 answer, a short or corrupt body. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** Every try failed transiently; `lastCause` says how the last one did. */
export class RetriesExhaustedError extends Error {
  override readonly name = 'RetriesExhaustedError';

  constructor(
    readonly attempts: number,
    readonly lastCause: string,
  ) {
    super(`failed ${attempts} time${attempts === 1 ? '' : 's'}, last: ${lastCause}`);
  }
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Runs `attempt` until it succeeds, retrying only TransientErrors; any other error is rethrown at
 * once. `onRetry` hears about each failure that is followed by another try. An aborted `signal`
 * ends the wait between tries with the signal's reason.
 */
export async function retrying<T>(
  policy: Pick<RetryPolicy, 'attempts' | 'baseDelayMs'>,
  attempt: (tryNumber: number) => Promise<T>,
  onRetry: (cause: string, nextTry: number, delayMs: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await attempt(tryNumber);
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      if (tryNumber >= policy.attempts) throw new RetriesExhaustedError(tryNumber, describeError(error));
      const delayMs = backoffDelayMs(policy.baseDelayMs, tryNumber);
      onRetry(describeError(error), tryNumber + 1, delayMs);
      await sleep(delayMs, undefined, { signal }).catch(() => signal?.throwIfAborted());
    }
  }
}

/** The wait after failed try `tryNumber` (1-based): the base delay, doubled after each failure, at most 30 s. */
export function backoffDelayMs(baseDelayMs: number, tryNumber: number): number {
  return Math.min(MAX_DELAY_MS, baseDelayMs * 2 ** (tryNumber - 1));
}

/** Calls `onStall` once `touch` has not been called for `timeoutMs`; `stop` disarms it. */
export function stallWatchdog(timeoutMs: number, onStall: () => void): { touch(): void; stop(): void } {
  const timer = setTimeout(onStall, timeoutMs);
  return {
    touch() {
      timer.refresh();
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
