// Downloads a snapshot of a Hub repo (the wanted files of one commit) into the shared Hugging Face
// cache, or checks that the cache already holds it. Blobs already in the cache are trusted once
// verified (see integrity.ts), restored or foreign ones are hashed first, and only missing or
// damaged ones are fetched. This is the hub stage's entry point for the CLI and the action.

import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { forEachLimited } from '../common/concurrency.js';
import { QuantgateError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import { checkRepoId, defaultCacheDir, RepoCache, type RepoType } from './cache-layout.js';
import {
  accessRefused,
  authorizationFor,
  DEFAULT_HUB_URL,
  normalizeHubUrl,
  resolveUrl,
  USER_AGENT,
  type HubConnection,
  type RemoteFile,
} from './hub-api.js';
import { fileMatchesBlobName, hashKindOf, isMarkedVerified, markVerified } from './integrity.js';
import { planOffline, planOnline, type SnapshotPlan } from './plan.js';
import { DEFAULT_RETRY_POLICY, RetriesExhaustedError, type RetryPolicy } from '../net/retry.js';
import { findToken, redactError } from './token.js';
import { HttpStatusError, transferBlob } from './transfer.js';

/**
 * Files fetched at once. Each transfer has one core's worth of work in it (receiving and writing
 * on the main thread, hashing in its own worker), so a few at once use the cores a runner has.
 */
const CONCURRENT_DOWNLOADS = 4;

export interface SnapshotRequest {
  /** `org/name` on the Hub. */
  repoId: string;
  repoType?: RepoType;
  /** Branch, tag or commit sha; `main` by default. */
  revision?: string;
  /** fnmatch globs of the files wanted; empty or absent means weights, configs and tokenizers. */
  include?: string[];
  exclude?: string[];
  /** The Hugging Face cache; by default `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** By default `$HF_TOKEN` (or the token file of `huggingface-cli login`). */
  token?: string;
  /** By default `$HF_ENDPOINT`, else https://huggingface.co. */
  hubUrl?: string;
  /** Use only the cache; by default `$HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** Where the HF_* variables above and the proxy variables (HTTPS_PROXY, NO_PROXY, …) are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  retry?: Partial<RetryPolicy>;
  progress?: Progress;
  /** Called with the token before it is used, so the action can mask it in logs. */
  onSecret?: (secret: string) => void;
  /** Stops every request and transfer; what completed stays in the cache, a partial blob resumes later. */
  signal?: AbortSignal;
}

export interface SnapshotFile {
  path: string;
  size: number;
  /** For LFS files: the sha256 the Hub lists, which the bytes were checked against. */
  sha256?: string;
  /** True when no byte of it came over the network in this run. */
  fromCache: boolean;
}

export interface SnapshotResult {
  repoId: string;
  repoType: RepoType;
  /** The 40-hex commit sha. */
  revision: string;
  requestedRevision: string;
  /** The snapshot folder, `<cache>/<type>s--org--name/snapshots/<sha>`. */
  dir: string;
  files: SnapshotFile[];
  bytesDownloaded: number;
}

/** A planned snapshot: what will be downloaded, known before anything is. */
export interface PreparedSnapshot {
  plan: SnapshotPlan;
  download(): Promise<SnapshotResult>;
}

export async function downloadSnapshot(request: SnapshotRequest): Promise<SnapshotResult> {
  return (await prepareSnapshot(request)).download();
}

/** Resolves the revision and picks the files (from the Hub, or offline from the cache) without downloading. */
export async function prepareSnapshot(request: SnapshotRequest): Promise<PreparedSnapshot> {
  const env = request.env ?? process.env;
  const token = await findToken(request.token, env);
  if (token) request.onSecret?.(token);
  try {
    const progress = request.progress ?? silentProgress;
    const connection: HubConnection = {
      hubUrl: normalizeHubUrl(request.hubUrl || env.HF_ENDPOINT || DEFAULT_HUB_URL),
      token,
      policy: { ...DEFAULT_RETRY_POLICY, ...request.retry },
      log: (message) => progress.info(message),
      env,
      ...(request.signal && { signal: request.signal }),
    };
    const cache = new RepoCache(request.cacheDir || defaultCacheDir(env), {
      type: request.repoType ?? 'model',
      id: checkRepoId(request.repoId),
    });
    const offline = request.offline ?? isTrue(env.HF_HUB_OFFLINE);
    const revision = request.revision ?? 'main';
    const filter = { include: request.include ?? [], exclude: request.exclude ?? [] };
    const plan = offline
      ? await planOffline(cache, revision, filter, connection.log)
      : await planOnline(connection, cache, revision, filter);
    return {
      plan,
      download: () =>
        materialize(plan, connection, offline, progress).catch((error: unknown) =>
          Promise.reject(redactError(error, token)),
        ),
    };
  } catch (error) {
    throw redactError(error, token);
  }
}

async function materialize(
  plan: SnapshotPlan,
  connection: HubConnection,
  offline: boolean,
  progress: Progress,
): Promise<SnapshotResult> {
  const { cache, revision, files } = plan;
  const states = await Promise.all(files.map((file) => cachedState(cache, file)));
  const unverified = distinctBlobs(files.filter((_, index) => states[index] === 'unverified'));
  const damaged = await verifyCachedBlobs(cache, unverified, progress);
  const missing = files.filter((file, index) => states[index] === 'missing' || damaged.has(file.blobName));
  if (offline && missing.length > 0) {
    throw new QuantgateError(
      `offline: ${missing.length} file(s) of ${cache.repo.id}@${revision} are missing or damaged in ${cache.cacheDir}: ${missing.map((file) => file.path).join(', ')}; run once online (no --offline, HF_HUB_OFFLINE unset) to download them`,
    );
  }
  const bytesDownloaded = await downloadBlobs(plan, connection, distinctBlobs(missing), progress);
  for (const file of files) await cache.link(revision, file.path, file.blobName);
  if (!offline && plan.requestedRevision !== revision) await cache.writeRef(plan.requestedRevision, revision);
  return {
    repoId: cache.repo.id,
    repoType: cache.repo.type,
    revision,
    requestedRevision: plan.requestedRevision,
    dir: cache.snapshotDir(revision),
    files: files.map((file) => ({
      path: file.path,
      size: file.size,
      ...(hashKindOf(file.blobName) === 'sha256' ? { sha256: file.blobName } : {}),
      fromCache: !missing.includes(file),
    })),
    bytesDownloaded,
  };
}

/** `verified`: intact as of an earlier hash; `unverified`: right size, never hashed here (restored, or another tool's); `missing`: absent or the wrong size. */
async function cachedState(cache: RepoCache, file: RemoteFile): Promise<'verified' | 'unverified' | 'missing'> {
  const blob = await stat(cache.blobPath(file.blobName)).catch(() => undefined);
  if (!blob) return 'missing';
  if (blob.size !== file.size) {
    await rm(cache.blobPath(file.blobName), { force: true });
    return 'missing';
  }
  return (await isMarkedVerified(cache, file.blobName)) ? 'verified' : 'unverified';
}

/** Hashes the blobs against their names, deletes the damaged ones and returns their names. */
async function verifyCachedBlobs(cache: RepoCache, files: RemoteFile[], progress: Progress): Promise<Set<string>> {
  const damaged = new Set<string>();
  if (files.length === 0) return damaged;
  const task = progress.task(`verifying ${cache.repo.id}`, { total: sum(files), unit: 'bytes' });
  for (const file of files) {
    if (
      await fileMatchesBlobName(cache.blobPath(file.blobName), file.blobName, file.size, (count) => task.advance(count))
    ) {
      await markVerified(cache, file.blobName);
    } else {
      progress.info(`${file.path}: the cached blob ${file.blobName} does not match its hash; deleting it`);
      await rm(cache.blobPath(file.blobName), { force: true });
      damaged.add(file.blobName);
    }
  }
  task.finish();
  return damaged;
}

async function downloadBlobs(
  plan: SnapshotPlan,
  connection: HubConnection,
  files: RemoteFile[],
  progress: Progress,
): Promise<number> {
  if (files.length === 0) return 0;
  const { cache, revision } = plan;
  const partial = await Promise.all(
    files.map(async (file) => (await stat(cache.incompletePath(file.blobName)).catch(() => undefined))?.size ?? 0),
  );
  const total = sum(files) - partial.reduce((a, b) => a + b, 0);
  const task = progress.task(`downloading ${cache.repo.id}`, { total, unit: 'bytes' });
  let bytesDownloaded = 0;
  // Largest first, so that the last one to finish is a small file.
  const bySize = [...files].sort((a, b) => b.size - a.size);
  await forEachLimited(bySize, CONCURRENT_DOWNLOADS, async (file) => {
    await mkdir(dirname(cache.blobPath(file.blobName)), { recursive: true });
    try {
      const received = await transferBlob({
        url: resolveUrl(connection, cache.repo, revision, file.path),
        headersFor: (url) => ({ 'user-agent': USER_AGENT, ...authorizationFor(connection, url) }),
        blobPath: cache.blobPath(file.blobName),
        incompletePath: cache.incompletePath(file.blobName),
        size: file.size,
        blobName: file.blobName,
        policy: connection.policy,
        onBytes: (count) => task.advance(count),
        log: (line) => progress.info(line),
        what: file.path,
        env: connection.env,
        ...(connection.signal && { signal: connection.signal }),
      });
      bytesDownloaded += received;
    } catch (error) {
      throw downloadError(plan, connection, file, error);
    }
    await markVerified(cache, file.blobName);
  });
  task.finish();
  return bytesDownloaded;
}

function downloadError(plan: SnapshotPlan, connection: HubConnection, file: RemoteFile, error: unknown): unknown {
  const { repo } = plan.cache;
  if (error instanceof RetriesExhaustedError) {
    return new QuantgateError(
      `${repo.id}@${plan.revision}: downloading ${file.path} ${error.message}; check the network and run again (the partial download resumes)`,
      { cause: error },
    );
  }
  if (error instanceof HttpStatusError) {
    if (error.status === 401 || error.status === 403) return accessRefused(connection, repo, error.status);
    if (error.status === 404) {
      return new QuantgateError(
        `${repo.id}@${plan.revision}: ${file.path} is listed but the Hub has no such file (HTTP 404); the commit may have been rewritten — run again`,
      );
    }
    return new QuantgateError(
      `${repo.id}@${plan.revision}: downloading ${file.path} was refused (HTTP ${error.status}); check --hub-url and run again`,
    );
  }
  return error;
}

/** One file per blob: files with identical content share a blob, which is hashed or fetched once. */
function distinctBlobs(files: RemoteFile[]): RemoteFile[] {
  return [...new Map(files.map((file) => [file.blobName, file])).values()];
}

function sum(files: RemoteFile[]): number {
  return files.reduce((total, file) => total + file.size, 0);
}

/** huggingface_hub's reading of boolean variables such as HF_HUB_OFFLINE. */
function isTrue(value: string | undefined): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((value ?? '').trim().toUpperCase());
}
