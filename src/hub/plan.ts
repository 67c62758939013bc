// Decides what a snapshot consists of before any byte moves: the commit a revision names, and the
// files of that commit the run wants (include/exclude globs, never pickle checkpoints). Online the
// Hub answers, and the commit's full listing is recorded in the cache; offline, refs/ and that
// record answer instead — or, for a snapshot another tool downloaded, the snapshot folder itself.

import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { QuantgateError } from '../common/errors.js';
import { matchAny } from '../common/glob.js';
import { isBlobName, isCommitSha, type RepoCache } from './cache-layout.js';
import { listCommitFiles, resolveCommit, type HubConnection, type RemoteFile } from './hub-api.js';

/** What a speech model needs: weights, configs and tokenizers. */
export const DEFAULT_INCLUDE = ['*.safetensors', '*.json', '*.model', 'tokenizer*'];

/** Pickle checkpoints can run arbitrary code when loaded, so no glob lets them through. */
const PICKLE_CHECKPOINT = /\.(bin|pt|pth|ckpt|pkl|pickle)$/i;

export interface FileFilter {
  /** fnmatch globs as huggingface_hub's allow_patterns (`*` crosses `/`); empty means DEFAULT_INCLUDE. */
  include: string[];
  exclude: string[];
}

export interface SnapshotPlan {
  cache: RepoCache;
  requestedRevision: string;
  /** The 40-hex commit `requestedRevision` names. */
  revision: string;
  /** The wanted files, in listing order. */
  files: RemoteFile[];
}

export async function planOnline(
  connection: HubConnection,
  cache: RepoCache,
  requestedRevision: string,
  filter: FileFilter,
): Promise<SnapshotPlan> {
  const revision = await resolveCommit(connection, cache.repo, requestedRevision);
  const listing = await listCommitFiles(connection, cache.repo, revision);
  const files = selectFiles(cache, revision, listing, filter, connection.log);
  await writeFileAtomic(cache.listingPath(revision), JSON.stringify(listing));
  return { cache, requestedRevision, revision, files };
}

export async function planOffline(
  cache: RepoCache,
  requestedRevision: string,
  filter: FileFilter,
  log: (message: string) => void,
): Promise<SnapshotPlan> {
  const { id } = cache.repo;
  const revision = isCommitSha(requestedRevision) ? requestedRevision : await cache.readRef(requestedRevision);
  if (!revision) {
    throw new QuantgateError(
      `offline: ${id}@${requestedRevision} was never resolved online into ${cache.cacheDir}; run once online (no --offline, HF_HUB_OFFLINE unset), or pass a commit sha`,
    );
  }
  const listing = (await readListing(cache, revision)) ?? (await listSnapshotFolder(cache, revision));
  if (!listing) {
    throw new QuantgateError(
      `offline: ${id}@${revision} is not in the cache ${cache.cacheDir}; run once online (no --offline, HF_HUB_OFFLINE unset) to download it`,
    );
  }
  return { cache, requestedRevision, revision, files: selectFiles(cache, revision, listing, filter, log) };
}

function selectFiles(
  cache: RepoCache,
  revision: string,
  listing: RemoteFile[],
  filter: FileFilter,
  log: (message: string) => void,
): RemoteFile[] {
  const include = filter.include.length > 0 ? filter.include : DEFAULT_INCLUDE;
  const isIncluded = matchAny(include.map(asDirectoryGlob));
  const isExcluded = matchAny(filter.exclude.map(asDirectoryGlob));
  const matching = listing.filter((file) => isIncluded(file.path) && !isExcluded(file.path));
  const pickles = matching.filter((file) => PICKLE_CHECKPOINT.test(file.path));
  if (pickles.length > 0) {
    log(
      `skipping ${pickles.map((file) => file.path).join(', ')}: pickle checkpoints (.bin, .pt, .pth, .ckpt, .pkl, .pickle) can run code when loaded, so quantgate never downloads them`,
    );
  }
  const files = matching.filter((file) => !PICKLE_CHECKPOINT.test(file.path));
  if (files.length === 0) {
    const available =
      listing
        .slice(0, 12)
        .map((file) => file.path)
        .join(', ') + (listing.length > 12 ? ', …' : '');
    throw new QuantgateError(
      `${cache.repo.id}@${revision}: no file matches --include ${include.join(',')}${filter.exclude.length > 0 ? ` minus --exclude ${filter.exclude.join(',')}` : ''} (pickle checkpoints never do); it has ${available || 'no files'} — adjust --include`,
    );
  }
  // Unsafe paths are refused here, before a single byte is downloaded.
  for (const file of files) cache.snapshotFile(revision, file.path);
  return files;
}

/** huggingface_hub's rule: a pattern ending in `/` means everything under that folder. */
function asDirectoryGlob(pattern: string): string {
  return pattern.endsWith('/') ? `${pattern}*` : pattern;
}

async function readListing(cache: RepoCache, revision: string): Promise<RemoteFile[] | undefined> {
  const text = await readFile(cache.listingPath(revision), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const listing: unknown = JSON.parse(text);
    return Array.isArray(listing) && listing.every(isRemoteFile) ? listing : undefined;
  } catch {
    return undefined;
  }
}

function isRemoteFile(value: unknown): value is RemoteFile {
  const file = value as Partial<RemoteFile> | null;
  return (
    typeof file?.path === 'string' &&
    Number.isSafeInteger(file.size) &&
    typeof file.blobName === 'string' &&
    isBlobName(file.blobName)
  );
}

/** The files of a snapshot folder written by another tool: each link's blob name is its hash. */
async function listSnapshotFolder(cache: RepoCache, revision: string): Promise<RemoteFile[] | undefined> {
  const root = cache.snapshotDir(revision);
  const entries = await readdir(root, { recursive: true }).catch(() => undefined);
  if (!entries) return undefined;
  const files: RemoteFile[] = [];
  for (const entry of entries.sort()) {
    const path = relative(root, join(root, entry)).split(sep).join('/');
    if (!(await lstat(join(root, entry))).isSymbolicLink()) continue;
    const blobName = await cache.linkedBlob(revision, path);
    if (!blobName) continue;
    const blob = await stat(cache.blobPath(blobName)).catch(() => undefined);
    if (!blob)
      throw new QuantgateError(
        `offline: ${cache.repo.id}@${revision}: ${path} links to a missing blob ${blobName}; run once online (no --offline, HF_HUB_OFFLINE unset) to download it again`,
      );
    files.push({ path, size: blob.size, blobName });
  }
  return files;
}
