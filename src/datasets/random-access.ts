// Byte-range access to a local file or an http(s) URL, in the shape hyparquet reads from
// (`AsyncBuffer`), so a parquet reader fetches only the footer and the row groups it needs.
// Remote reads are HTTP Range requests made through the network layer (its proxies, stall
// watchdog and retry policy): a server that ignores Range is an error rather than a silent
// whole-file download, and a file whose ETag changes between requests is refused.

import { open, type FileHandle } from 'node:fs/promises';
import type { AsyncBuffer } from 'hyparquet';
import { QuantgateError, describeError } from '../common/errors.js';
import { watchedFetch, type WatchedResponse } from '../net/fetch.js';
import {
  DEFAULT_RETRY_POLICY,
  RetriesExhaustedError,
  TransientError,
  retrying,
  type RetryPolicy,
} from '../net/retry.js';

export interface RandomAccessFile extends AsyncBuffer {
  /** The path or URL, for messages. */
  readonly location: string;
  close(): Promise<void>;
}

export interface HttpOptions {
  /** Sent with every request, e.g. `Authorization: Bearer …` for gated datasets. */
  headers?: Record<string, string>;
  /** The project's retry policy by default. */
  retry?: Partial<RetryPolicy>;
  /** Hears each retry's log line; by default they go unheard. */
  log?: (line: string) => void;
  /** Where the proxy variables are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Stops every request of the file. */
  signal?: AbortSignal;
}

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export async function openRandomAccess(location: string, options: HttpOptions = {}): Promise<RandomAccessFile> {
  return isUrl(location) ? openUrl(location, options) : openLocal(location);
}

async function openLocal(path: string): Promise<RandomAccessFile> {
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(path, 'r');
    size = (await handle.stat()).size;
  } catch (error) {
    throw new QuantgateError(`cannot read ${path} (${describeError(error)}); check the dataset path`, { cause: error });
  }
  return {
    location: path,
    byteLength: size,
    async slice(start, end = size) {
      const buffer = new ArrayBuffer(Math.max(0, end - start));
      const bytes = new Uint8Array(buffer);
      for (let filled = 0; filled < bytes.length;) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, start + filled);
        if (bytesRead === 0)
          throw new QuantgateError(
            `${path} ended at byte ${start + filled} while reading up to ${end}; the file changed or is truncated — download it again`,
          );
        filled += bytesRead;
      }
      return buffer;
    },
    close: () => handle.close(),
  };
}

async function openUrl(url: string, options: HttpOptions): Promise<RandomAccessFile> {
  const head = await withRetries(url, options, async (send) => {
    const response = await send({ method: 'HEAD' });
    await response.cancel();
    if (response.status !== 403 && response.status !== 405) return response;
    // Some servers (signed object-store URLs) refuse HEAD; a one-byte range tells the size too.
    const ranged = await send({ headers: { Range: 'bytes=0-0' } });
    await ranged.cancel();
    return ranged;
  });
  assertOk(url, head);
  const size = totalSize(head);
  if (size === undefined)
    throw new QuantgateError(
      `${url}: the server did not report the file size; download the file and pass its local path`,
    );
  const etag = head.headers.get('etag');

  return {
    location: url,
    byteLength: size,
    async slice(start, end = size) {
      if (end <= start) return new ArrayBuffer(0);
      return withRetries(url, options, async (send) => {
        const response = await send({ headers: { Range: `bytes=${start}-${end - 1}` } });
        if (response.status !== 206) await response.cancel();
        assertOk(url, response);
        if (response.status !== 206) {
          throw new QuantgateError(
            `${url}: the server ignores HTTP Range requests, so the file cannot be streamed; download it and pass the local path`,
          );
        }
        const changedEtag = response.headers.get('etag');
        if (etag && changedEtag && strongPart(changedEtag) !== strongPart(etag)) {
          await response.cancel();
          throw new QuantgateError(
            `${url} changed on the server while being read (ETag ${etag} became ${changedEtag}); pin the dataset revision and run again`,
          );
        }
        const body = await response.bytes();
        if (body.byteLength !== end - start)
          throw new TransientError(`received ${body.byteLength} of the ${end - start} bytes asked for`);
        return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
      });
    },
    close: async () => undefined,
  };
}

type Send = (init: { method?: string; headers?: Record<string, string> }) => Promise<WatchedResponse>;

/**
 * Runs `attempt` under the retry policy, handing it a `send` that makes one request of `url` with
 * the caller's headers. Network errors, stalls, cut-off bodies and 408/429/5xx answers are
 * retried; QuantgateErrors are final.
 */
async function withRetries<T>(url: string, options: HttpOptions, attempt: (send: Send) => Promise<T>): Promise<T> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const { env, signal } = options;
  const send: Send = (init) =>
    watchedFetch(
      url,
      { ...init, headers: { ...options.headers, ...init.headers } },
      { stallTimeoutMs: policy.stallTimeoutMs, ...(env && { env }), ...(signal && { signal }) },
    );
  try {
    return await retrying(policy, () => attempt(send), {
      what: `reading ${url}`,
      log: options.log ?? (() => undefined),
      ...(signal && { signal }),
    });
  } catch (error) {
    if (!(error instanceof RetriesExhaustedError)) throw error;
    throw new QuantgateError(
      `${url}: ${error.lastCause} after ${error.attempts} attempt${error.attempts === 1 ? '' : 's'}; check the network or the server, then run again`,
      { cause: error },
    );
  }
}

function assertOk(url: string, response: WatchedResponse): void {
  if (response.status >= 200 && response.status <= 299) return;
  const hint =
    response.status === 401 || response.status === 403
      ? 'check the access token for this dataset'
      : response.status === 404
        ? 'check the URL, the dataset name and its revision'
        : 'check the URL';
  throw new QuantgateError(`${url}: HTTP ${response.status} ${response.statusText}`.trim() + `; ${hint}`);
}

/** CDNs may weaken an ETag (W/"…") on some responses; the tag itself still identifies the content. */
function strongPart(etag: string): string {
  return etag.replace(/^W\//, '');
}

/** The full size from a HEAD's Content-Length or a ranged reply's Content-Range ("bytes 0-0/1234"). */
function totalSize(response: WatchedResponse): number | undefined {
  const range = response.headers.get('content-range')?.match(/\/(\d+)$/);
  if (range) return Number(range[1]);
  if (response.status === 206) return undefined;
  const length = response.headers.get('content-length');
  return length === null ? undefined : Number(length);
}
