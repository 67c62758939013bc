// One HTTP GET of the downloads that `retrying` drives outside the Hub client (onnxruntime-node's
// npm tarballs, NuGet packages): network failures, a body that receives nothing for the policy's
// stall timeout, and statuses worth another try become TransientErrors; any other failing status
// becomes the caller's QuantgateError; errors of `consume` itself pass unchanged. Both callers
// save the body with its SHA-512, which registries publish, through `saveWithSha512`.

import { createHash } from 'node:crypto';
import type { AtomicFile } from '../common/atomic.js';
import { describeError, type QuantgateError } from '../common/errors.js';
import type { Progress } from '../common/progress.js';
import { TransientError, isTransientStatus, stallWatchdog, type RetryPolicy } from './retry.js';

export interface WatchedGetOptions {
  /** The error for an answer no retry cures; `problem` reads like "HTTP 403 Forbidden". */
  refused: (problem: string) => QuantgateError;
  /** A 404 answers undefined instead of failing. */
  missingOk?: boolean;
}

/** What `consume` made of the body, wrapped so that a missing file (undefined) stands apart from it. */
export async function watchedGet<T>(
  url: string,
  policy: RetryPolicy,
  consume: (body: AsyncIterable<Uint8Array>, contentLength: number | undefined) => Promise<T>,
  options: WatchedGetOptions,
): Promise<{ result: T } | undefined> {
  const controller = new AbortController();
  const watchdog = stallWatchdog(policy.stallTimeoutMs, () => controller.abort(new TransientError(`no bytes for ${policy.stallTimeoutMs / 1000} s`)));
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (error) {
      throw new TransientError(networkProblem(error, controller.signal));
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      if (options.missingOk && response.status === 404) return undefined;
      const problem = `HTTP ${response.status} ${response.statusText}`.trim();
      if (isTransientStatus(response.status)) throw new TransientError(problem);
      throw options.refused(problem);
    }
    const length = Number(response.headers.get('content-length') ?? NaN);
    const body = watchedBody(response.body as unknown as AsyncIterable<Uint8Array>, watchdog.touch, controller.signal);
    return { result: await consume(body, Number.isSafeInteger(length) ? length : undefined) };
  } finally {
    watchdog.stop();
  }
}

/** The response body, each chunk resetting the stall watchdog, its failures turned into TransientErrors. */
async function* watchedBody(body: AsyncIterable<Uint8Array>, touch: () => void, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) {
      touch();
      yield chunk;
    }
  } catch (error) {
    throw new TransientError(networkProblem(error, signal));
  }
}

/** A stall names itself; fetch wraps the socket's error (ECONNREFUSED, …) in its `cause`. */
function networkProblem(error: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof TransientError) return signal.reason.message;
  const cause = (error as { cause?: unknown })?.cause;
  return describeError(cause ?? error);
}

/** Writes the body to `file`, showing its progress under `label`; resolves with its SHA-512, base64 as registries publish it. */
export async function saveWithSha512(body: AsyncIterable<Uint8Array>, file: AtomicFile, progress: Progress, label: string, total: number | undefined): Promise<string> {
  const task = progress.task(label, { ...(total !== undefined && { total }), unit: 'bytes' });
  const hash = createHash('sha512');
  for await (const chunk of body) {
    hash.update(chunk);
    await file.write(chunk);
    task.advance(chunk.byteLength);
  }
  task.finish();
  return hash.digest('base64');
}
