// Where GGUF bytes go: the one-method sink the writers stream into (an AtomicFile is one), a
// wrapper that hashes what passes through, and the record of a finished output file that the
// manifest lists.

import { createHash, type Hash } from 'node:crypto';

export interface ByteSink {
  write(data: Uint8Array): Promise<void>;
}

/** A file the writers produced: its final path, size and SHA-256 (lowercase hex). */
export interface WrittenFile {
  path: string;
  size: number;
  sha256: string;
}

/** Passes bytes on to `inner` and keeps their SHA-256, so no output is read back to hash it. */
export class HashingSink implements ByteSink {
  private readonly hash: Hash = createHash('sha256');
  private written = 0;

  constructor(private readonly inner: ByteSink) {}

  async write(data: Uint8Array): Promise<void> {
    this.hash.update(data);
    this.written += data.byteLength;
    await this.inner.write(data);
  }

  get bytesWritten(): number {
    return this.written;
  }

  /** The SHA-256 of everything written; call once, at the end. */
  digest(): string {
    return this.hash.digest('hex');
  }
}
