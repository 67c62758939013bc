// Hashing a file as it is read from disk in 1 MiB pieces, so that no file is held whole however
// large: the manifest's SHA-256 checks, the Hub cache's blob checks and the results store's. The
// pieces are read into one buffer, reused, which here takes half the time of a read stream's
// fresh buffer per piece.

import type { Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

export interface HashFileOptions {
  /** Hash only the first `end` bytes (default: the whole file). */
  end?: number;
  /** Hears each read's byte count, e.g. for progress. */
  onBytes?: (count: number) => void;
}

const PIECE_BYTES = 1 << 20;

/** Feeds the bytes of `path` to `hash`, which the caller creates and digests. */
export async function hashFile(path: string, hash: Hash, { end, onBytes }: HashFileOptions = {}): Promise<void> {
  if (end === 0) return;
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(end === undefined ? PIECE_BYTES : Math.min(PIECE_BYTES, end));
    let position = 0;
    while (end === undefined || position < end) {
      const wanted = end === undefined ? buffer.length : Math.min(buffer.length, end - position);
      const { bytesRead } = await file.read(buffer, 0, wanted, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
      onBytes?.(bytesRead);
    }
  } finally {
    await file.close();
  }
}
