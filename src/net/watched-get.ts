// One HTTP GET of a package download whose tries the caller drives with `retrying` (onnxruntime-
// node's npm tarballs, NuGet packages): `watchedFetch`'s TransientErrors for network failures,
// stalls and statuses worth another try; any other failing status becomes the caller's
// QuantgateError; errors of `consume` itself pass unchanged. Both callers
// save the body with its SHA-512, which registries publish, through `saveWithSha512`.

import { createHash } from 'node:crypto';
import type { AtomicFile } from '../common/atomic.js';
import type { QuantgateError } from '../common/errors.js';
import type { Progress } from '../common/progress.js';
import { watchedFetch } from './fetch.js';
import type { RetryPolicy } from './retry.js';

export interface WatchedGetOptions {
  /** The error for an answer no retry cures; `problem` reads like "HTTP 403 Forbidden". */
  refused: (problem: string) => QuantgateError;
  /** A 404 answers undefined instead of failing. */
  missingOk?: boolean;
  /** Where the proxy variables are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** What `consume` made of the body, wrapped so that a missing file (undefined) stands apart from it. */
export async function watchedGet<T>(
  url: string,
  policy: RetryPolicy,
  consume: (body: AsyncIterable<Uint8Array>, contentLength: number | undefined) => Promise<T>,
  options: WatchedGetOptions,
): Promise<{ result: T } | undefined> {
  const response = await watchedFetch(
    url,
    {},
    {
      stallTimeoutMs: policy.stallTimeoutMs,
      ...(options.env && { env: options.env }),
      ...(options.signal && { signal: options.signal }),
    },
  );
  try {
    if (response.status < 200 || response.status > 299) {
      await response.cancel();
      if (options.missingOk && response.status === 404) return undefined;
      throw options.refused(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    const length = Number(response.headers.get('content-length') ?? NaN);
    return { result: await consume(response.body, Number.isSafeInteger(length) ? length : undefined) };
  } finally {
    await response.cancel();
  }
}

/** Writes the body to `file`, showing its progress under `label`; resolves with its SHA-512, base64 as registries publish it. */
export async function saveWithSha512(
  body: AsyncIterable<Uint8Array>,
  file: AtomicFile,
  progress: Progress,
  label: string,
  total: number | undefined,
): Promise<string> {
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
