// The retry policy every request of the project follows (Hub metadata and blobs, dataset ranges,
// npm tarballs, NuGet packages): failures worth another try are marked transient and retried with
// exponential backoff, each retry is logged in one line, a request that stops receiving bytes is
// cut off by a stall watchdog and retried, and after the last try the caller gets the last cause
// to name in its error.

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

/** A failure another try may cure: a network error, a stall, a 408, 429 or 5xx answer, a short or corrupt body. */
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

/** Where the retries of one request are told, and what stops them. */
export interface RetryReport {
  /** The request, as each retry's log line names it, e.g. `Hub request /api/models/o/m`. */
  what: string;
  log: (line: string) => void;
  /** Cancels the wait between tries (the tries themselves take it from their caller too). */
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until it succeeds, retrying only TransientErrors; any other error is rethrown at
 * once. Each failure that is followed by another try is logged as
 * `<what>: <cause>; try <n> of <attempts> in <seconds> s`.
 */
export async function retrying<T>(
  policy: Pick<RetryPolicy, 'attempts' | 'baseDelayMs'>,
  attempt: (tryNumber: number) => Promise<T>,
  report: RetryReport,
): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    report.signal?.throwIfAborted();
    try {
      return await attempt(tryNumber);
    } catch (error) {
      if (!(error instanceof TransientError) || report.signal?.aborted) throw error;
      if (tryNumber >= policy.attempts) throw new RetriesExhaustedError(tryNumber, describeError(error));
      const delayMs = backoffDelayMs(policy.baseDelayMs, tryNumber);
      report.log(
        `${report.what}: ${describeError(error)}; try ${tryNumber + 1} of ${policy.attempts} in ${(delayMs / 1000).toFixed(1)} s`,
      );
      await sleep(delayMs, undefined, report.signal && { signal: report.signal }).catch(() =>
        report.signal?.throwIfAborted(),
      );
    }
  }
}

/** The wait after failed try `tryNumber` (1-based): the base delay, doubled after each failure, at most 30 s. */
export function backoffDelayMs(baseDelayMs: number, tryNumber: number): number {
  return Math.min(MAX_DELAY_MS, baseDelayMs * 2 ** (tryNumber - 1));
}

/**
 * Calls `onStall` with the TransientError to fail with once `touch` has not been called for
 * `timeoutMs`; `stop` disarms it. Its timer never keeps the process alive by itself.
 */
export function stallWatchdog(
  timeoutMs: number,
  onStall: (error: TransientError) => void,
): { touch(): void; stop(): void } {
  const timer = setTimeout(() => onStall(new TransientError(`no data for ${timeoutMs / 1000} s`)), timeoutMs).unref();
  return {
    touch() {
      timer.refresh();
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
