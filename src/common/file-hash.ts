// Hashing a file as it streams from disk in 1 MiB reads, so that no file is held whole however
// large: the manifest's SHA-256 checks and the Hub cache's blob checks.

import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface HashFileOptions {
  /** Hash only the first `end` bytes (default: the whole file). */
  end?: number;
  /** Hears each read's byte count, e.g. for progress. */
  onBytes?: (count: number) => void;
}

/** Feeds the bytes of `path` to `hash`, which the caller creates and digests. */
export async function hashFile(path: string, hash: Hash, { end, onBytes }: HashFileOptions = {}): Promise<void> {
  if (end === 0) return;
  const stream = createReadStream(path, { highWaterMark: 1 << 20, ...(end === undefined ? {} : { end: end - 1 }) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    onBytes?.(chunk.byteLength);
  }
}
