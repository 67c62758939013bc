// Carries one repo's part of the Hugging Face cache (`<cache>/models--org--name`) between GitHub
// Actions runs with @actions/cache: restored before the download, saved after one that fetched
// anything. The cache service only saves time: when it is unavailable, fails or refuses a save,
// a warning is logged and the run goes on with the Hub. Restored blobs are hashed before use,
// like any blob quantgate did not verify itself.

import { stat } from 'node:fs/promises';
import { actionsCacheAvailable, restoreEntry, saveEntry, type CacheLogger } from '../common/actions-cache-entry.js';
import { actionsCacheKey } from './cache-key.js';
import type { SnapshotPlan } from './plan.js';
import { prepareSnapshot, type SnapshotRequest, type SnapshotResult } from './snapshot.js';

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
  if (!actionsCacheAvailable()) {
    logger.info(
      'the GitHub Actions cache service is not available here (ACTIONS_RESULTS_URL is unset); downloading without it',
    );
    return { snapshot: await prepared.download(), cacheKey, restored: false, saved: false };
  }
  let restored = false;
  if (await isInLocalCache(plan))
    logger.info(`${plan.cache.repo.id}@${plan.revision} is already in ${plan.cache.cacheDir}; nothing to restore`);
  else restored = await restoreEntry(paths, cacheKey, logger, 'downloading from the Hub');
  const snapshot = await prepared.download();
  const saved =
    !restored &&
    snapshot.bytesDownloaded > 0 &&
    (await saveEntry(paths, cacheKey, logger, 'the next run downloads from the Hub again'));
  return { snapshot, cacheKey, restored, saved };
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
