// Moves one blob from the Hub into the cache. Bytes stream into `<blob>.incomplete` while they are
// hashed; an interrupted transfer resumes with an HTTP Range request from where that file ends
// (or starts over when the server ignores the range); transient failures are retried with backoff;
// and the file takes its blob name only once its size and hash match. httpGet carries the bytes:
// it costs a fraction of the CPU per byte of node:http or fetch, and each redirect hop is ours to
// see, so the token is only sent where `headersFor` allows.

import { closeSync, openSync, writeSync } from 'node:fs';
import { appendFile, rename, rm, stat } from 'node:fs/promises';
import { describeError, QuantgateError } from '../common/errors.js';
import { httpGet, type HttpGetResponse } from '../net/http-get.js';
import { isTransientStatus, retrying, TransientError, type RetryPolicy } from '../net/retry.js';
import { followFile } from './hash-follower.js';
import { BlobHasher, blobHashRecipe, hashKindOf } from './integrity.js';

export interface BlobTransfer {
  url: string;
  /** Headers for a request to `url`; called again for each redirect hop. */
  headersFor: (url: string) => Record<string, string>;
  blobPath: string;
  incompletePath: string;
  /** The size and name (content hash) the Hub lists for the blob. */
  size: number;
  blobName: string;
  policy: RetryPolicy;
  /** Bytes received from the network, as they arrive. */
  onBytes: (count: number) => void;
  /** Hears each retry's log line. */
  log: (line: string) => void;
  /** Names the blob in those lines, e.g. its path in the repository. */
  what: string;
  /** Where the proxy variables are read. */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** A refusal that retrying will not change (a 4xx other than 408/429), for the caller to explain. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';

  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

const MAX_REDIRECTS = 10;
/** Downloads of at least this many bytes are hashed in a worker thread as they arrive. */
const FOLLOW_MIN_BYTES = 16 << 20;

/** Downloads, verifies and renames the blob into place; returns the bytes received over the network, failed tries included. */
export async function transferBlob(transfer: BlobTransfer): Promise<number> {
  let received = 0;
  const counted = { ...transfer, onBytes: (count: number) => ((received += count), transfer.onBytes(count)) };
  await retrying(transfer.policy, () => attempt(counted), {
    what: transfer.what,
    log: transfer.log,
    ...(transfer.signal && { signal: transfer.signal }),
  });
  await rename(transfer.incompletePath, transfer.blobPath);
  return received;
}

/** One try: resume or start the download, then check the result; a partial file stays for the next try. */
async function attempt(transfer: BlobTransfer): Promise<void> {
  let offset = await sizeOf(transfer.incompletePath);
  if (offset > transfer.size) {
    await rm(transfer.incompletePath, { force: true });
    offset = 0;
  }
  let digest: string;
  if (offset < transfer.size) {
    const response = await openRange(transfer, offset);
    // A 200 to a range request means the server ignored the range: its body starts at byte 0.
    digest = await receive(transfer, response, response.status === 200 ? 0 : offset);
    const written = await sizeOf(transfer.incompletePath);
    if (written < transfer.size)
      throw new TransientError(`the connection ended after ${written} of ${transfer.size} bytes`);
  } else {
    // An empty file needs no request, but its .incomplete file must exist to be hashed and renamed.
    if (transfer.size === 0) await appendFile(transfer.incompletePath, new Uint8Array(0));
    const hasher = new BlobHasher(transfer.blobName, transfer.size);
    await hasher.feedFile(transfer.incompletePath);
    digest = hasher.digest();
  }
  if (digest !== transfer.blobName) {
    await rm(transfer.incompletePath, { force: true });
    throw new TransientError(
      `the bytes received do not match the ${hashKindOf(transfer.blobName)} ${transfer.blobName} the Hub lists; the corrupt copy was deleted`,
    );
  }
}

/** GET `url` from `offset` on, following redirects; resolves with a 200 or 206 response. */
async function openRange(transfer: BlobTransfer, offset: number): Promise<HttpGetResponse> {
  let url = transfer.url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = { ...transfer.headersFor(url), ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) };
    const response = await httpGet(url, headers, {
      stallTimeoutMs: transfer.policy.stallTimeoutMs,
      env: transfer.env,
      ...(transfer.signal && { signal: transfer.signal }),
    });
    const { status, headers: answer } = response;
    if (status >= 300 && status < 400 && answer.location) {
      response.discard();
      url = new URL(answer.location, url).href;
      continue;
    }
    if (status === 200 || (status === 206 && rangeStart(response) === offset)) return response;
    response.discard();
    if (status === 206) {
      const range =
        answer['content-range'] === undefined
          ? 'no Content-Range'
          : `Content-Range ${JSON.stringify(answer['content-range'])}`;
      throw new TransientError(`the server resumed at the wrong offset (${range}, wanted byte ${offset})`);
    }
    if (status === 416) {
      await rm(transfer.incompletePath, { force: true });
      throw new TransientError('the server refused the resume offset (HTTP 416); starting the file over');
    }
    if (isTransientStatus(status)) throw new TransientError(`HTTP ${status} ${response.statusMessage}`.trim());
    throw new HttpStatusError(status);
  }
  throw new TransientError(`more than ${MAX_REDIRECTS} redirects`);
}

function rangeStart(response: HttpGetResponse): number | undefined {
  const match = /^bytes (\d+)-/.exec(response.headers['content-range'] ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * Appends the body to the partial file from `offset` on, counting it, and resolves with the
 * digest of the whole file. Each piece is written before the next is read (the read buffer is
 * reused), so when the connection fails every byte that did arrive is on disk and the next try
 * resumes right after it. Writing synchronously costs the least CPU; a slow disk then slows the
 * socket, which is the backpressure wanted.
 */
async function receive(transfer: BlobTransfer, response: HttpGetResponse, offset: number): Promise<string> {
  let fd: number;
  try {
    fd = openSync(transfer.incompletePath, offset > 0 ? 'a' : 'w');
  } catch (error) {
    throw diskFailure(transfer.incompletePath, error);
  }
  let hashing: FileDigest | undefined;
  try {
    hashing = await digestWhileWriting(transfer, offset);
    let fileSize = offset;
    await response.readBody((bytes) => {
      writeAll(fd, bytes, transfer.incompletePath);
      fileSize += bytes.byteLength;
      hashing!.wrote(bytes, fileSize);
      transfer.onBytes(bytes.byteLength);
    });
  } catch (error) {
    response.discard();
    await hashing?.cancel();
    if (error instanceof QuantgateError || transfer.signal?.aborted) throw error;
    throw error instanceof TransientError
      ? error
      : new TransientError(`the connection broke (${describeError(error)})`);
  } finally {
    closeSync(fd);
  }
  return hashing.digest();
}

/** The digest of a file being written, its first `offset` bytes already there. */
interface FileDigest {
  wrote(bytes: Uint8Array, fileSize: number): void;
  digest(): Promise<string>;
  cancel(): Promise<void>;
}

/**
 * Large downloads are hashed by a worker thread that follows the file as it grows, leaving the
 * receiving thread only receiving and writing; small ones are hashed inline, sparing the thread's
 * start-up.
 */
async function digestWhileWriting(transfer: BlobTransfer, offset: number): Promise<FileDigest> {
  if (transfer.size - offset >= FOLLOW_MIN_BYTES) {
    const follower = followFile(transfer.incompletePath, blobHashRecipe(transfer.blobName, transfer.size));
    follower.written(offset);
    return {
      wrote: (_, fileSize) => follower.written(fileSize),
      digest: () => follower.digest(),
      cancel: () => follower.cancel(),
    };
  }
  const hasher = new BlobHasher(transfer.blobName, transfer.size);
  await hasher.feedFile(transfer.incompletePath, { end: offset });
  return { wrote: (bytes) => hasher.update(bytes), digest: async () => hasher.digest(), cancel: async () => undefined };
}

function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  try {
    for (let written = 0; written < bytes.byteLength;) written += writeSync(fd, bytes, written);
  } catch (error) {
    throw diskFailure(path, error);
  }
}

function diskFailure(path: string, error: unknown): QuantgateError {
  return new QuantgateError(
    `writing ${path} failed (${describeError(error)}); free disk space or choose another --cache-dir, then run again`,
    { cause: error },
  );
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}
