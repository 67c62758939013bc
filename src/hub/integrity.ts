// Is a blob what its name says? Hub blobs are named by their content hash: LFS files by the sha256
// of their bytes, small files by git's blob sha1 (sha1 of "blob <size>\0" + bytes), so a blob can
// always be checked against its own name.
//
// Hashing gigabytes takes seconds, so once a blob has been hashed and found intact quantgate
// records its stat fingerprint (size, mtime, ctime, inode) in .quantgate/verified/<name>; later
// runs trust a blob whose fingerprint still matches and only hash the others. Writing to a file
// changes its mtime and ctime, and a blob restored from an archive (the Actions cache) is a new
// inode with a new ctime, so both are hashed again.

import { createHash, type Hash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic.js';
import { hashFile, type HashFileOptions } from '../common/file-hash.js';
import type { RepoCache } from './cache-layout.js';

export type HashKind = 'sha256' | 'git-sha1';

export function hashKindOf(blobName: string): HashKind {
  return blobName.length === 64 ? 'sha256' : 'git-sha1';
}

/** How a blob's name is computed: the hash algorithm, and what it hashes before the bytes (git's header). */
export interface BlobHashRecipe {
  algorithm: 'sha256' | 'sha1';
  prefix: string;
}

/** `size` is the blob's full size, which git's header includes. */
export function blobHashRecipe(blobName: string, size: number): BlobHashRecipe {
  return hashKindOf(blobName) === 'sha256'
    ? { algorithm: 'sha256', prefix: '' }
    : { algorithm: 'sha1', prefix: `blob ${size}\0` };
}

/** Hashes a blob's bytes as they stream past, the way its name was computed. */
export class BlobHasher {
  private readonly hash: Hash;

  /** `size` is the blob's full size, which git's header includes. */
  constructor(blobName: string, size: number) {
    const { algorithm, prefix } = blobHashRecipe(blobName, size);
    this.hash = createHash(algorithm).update(prefix);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }

  /** The digest of everything fed so far; the hasher cannot be used afterwards. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** Feeds the first `end` bytes of `path` (the whole file by default). */
  feedFile(path: string, options: HashFileOptions = {}): Promise<void> {
    return hashFile(path, this.hash, options);
  }
}

/** True when the file at `path` has `size` bytes whose hash is `blobName`. */
export async function fileMatchesBlobName(
  path: string,
  blobName: string,
  size: number,
  onBytes: (count: number) => void,
): Promise<boolean> {
  if ((await stat(path)).size !== size) return false;
  const hasher = new BlobHasher(blobName, size);
  await hasher.feedFile(path, { onBytes });
  return hasher.digest() === blobName;
}

/** True when the blob was hashed by an earlier run and has not been touched since. */
export async function isMarkedVerified(cache: RepoCache, blobName: string): Promise<boolean> {
  const [recorded, current] = await Promise.all([
    readFile(cache.verifiedMarkerPath(blobName), 'utf8').catch(() => undefined),
    fingerprint(cache.blobPath(blobName)).catch(() => undefined),
  ]);
  return recorded !== undefined && recorded === current;
}

/** Records that the blob, as it is now on disk, was hashed and found intact. */
export async function markVerified(cache: RepoCache, blobName: string): Promise<void> {
  await writeFileAtomic(cache.verifiedMarkerPath(blobName), await fingerprint(cache.blobPath(blobName)));
}

async function fingerprint(path: string): Promise<string> {
  const stats = await stat(path, { bigint: true });
  return JSON.stringify({
    size: String(stats.size),
    mtimeNs: String(stats.mtimeNs),
    ctimeNs: String(stats.ctimeNs),
    ino: String(stats.ino),
    dev: String(stats.dev),
  });
}
