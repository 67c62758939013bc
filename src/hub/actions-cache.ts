// Carries one repo's part of the Hugging Face cache (`<cache>/models--org--name`) between GitHub
// Actions runs with @actions/cache: restored before the download, saved after one that fetched
// anything. The cache service only saves time: when it is unavailable, fails or refuses a save,
// a warning is logged and the run goes on with the Hub. Restored blobs are hashed before use,
// like any blob quantgate did not verify itself.

import { isFeatureAvailable, restoreCache, saveCache } from '@actions/cache';
import { stat } from 'node:fs/promises';
import { describeError } from '../common/errors.js';
import { actionsCacheKey } from './cache-key.js';
import type { SnapshotPlan } from './plan.js';
import { prepareSnapshot, type SnapshotRequest, type SnapshotResult } from './snapshot.js';

/** Where the action sends these messages: @actions/core's info and warning. */
export interface CacheLogger {
  info(message: string): void;
  warning(message: string): void;
}

export interface CachedSnapshot {
  snapshot: SnapshotResult;
  cacheKey: string;
  /** True when the Actions cache held this exact snapshot and it was restored. */
  restored: boolean;
  saved: boolean;
}

export async function downloadWithActionsCache(request: SnapshotRequest, logger: CacheLogger): Promise<CachedSnapshot> {
  const prepared = await prepareSnapshot(request);
  const { plan } = prepared;
  const cacheKey = actionsCacheKey(plan);
  const paths = [plan.cache.dir];
  if (!isFeatureAvailable()) {
    logger.info('the GitHub Actions cache service is not available here (ACTIONS_RESULTS_URL is unset); downloading without it');
    return { snapshot: await prepared.download(), cacheKey, restored: false, saved: false };
  }
  let restored = false;
  if (await isInLocalCache(plan)) logger.info(`${plan.cache.repo.id}@${plan.revision} is already in ${plan.cache.cacheDir}; nothing to restore`);
  else restored = await restore(paths, cacheKey, logger);
  const snapshot = await prepared.download();
  const saved = !restored && snapshot.bytesDownloaded > 0 && (await save(paths, cacheKey, logger));
  return { snapshot, cacheKey, restored, saved };
}

async function restore(paths: string[], key: string, logger: CacheLogger): Promise<boolean> {
  try {
    if ((await restoreCache(paths, key)) === key) {
      logger.info(`restored ${paths.join(', ')} from the Actions cache entry ${key}`);
      return true;
    }
    logger.info(`no Actions cache entry ${key}; downloading from the Hub`);
  } catch (error) {
    logger.warning(`the Actions cache restore failed (${describeError(error)}); downloading from the Hub`);
  }
  return false;
}

async function save(paths: string[], key: string, logger: CacheLogger): Promise<boolean> {
  try {
    if ((await saveCache(paths, key)) !== -1) {
      logger.info(`saved ${paths.join(', ')} to the Actions cache as ${key}`);
      return true;
    }
    logger.warning(`the Actions cache did not save ${key} (the service refused or failed; see above); the next run downloads from the Hub again`);
  } catch (error) {
    logger.warning(`the Actions cache save failed (${describeError(error)}); the next run downloads from the Hub again`);
  }
  return false;
}

/** Every planned file already has its blob (at the listed size) and its snapshot link here. */
async function isInLocalCache(plan: SnapshotPlan): Promise<boolean> {
  const { cache, revision } = plan;
  for (const file of plan.files) {
    const blob = await stat(cache.blobPath(file.blobName)).catch(() => undefined);
    if (blob?.size !== file.size || (await cache.linkedBlob(revision, file.path)) !== file.blobName) return false;
  }
  return true;
}
