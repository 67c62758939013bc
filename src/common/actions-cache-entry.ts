// One entry of the GitHub Actions cache, restored and saved so that it can only save time: when
// the service is missing, fails or refuses, a warning says what happens instead and the run goes on.

import { isFeatureAvailable, restoreCache, saveCache } from '@actions/cache';
import { describeError } from './errors.js';

/** Where the action sends these messages: @actions/core's info and warning. */
export interface CacheLogger {
  info(message: string): void;
  warning(message: string): void;
}

/** Whether this run can reach the cache service at all (ACTIONS_RESULTS_URL is set on runners). */
export function actionsCacheAvailable(): boolean {
  return isFeatureAvailable();
}

/** Restores `key` into `paths`; `instead` says what the run does on a miss, e.g. "downloading from the Hub". */
export async function restoreEntry(
  paths: string[],
  key: string,
  logger: CacheLogger,
  instead: string,
): Promise<boolean> {
  try {
    if ((await restoreCache(paths, key)) === key) {
      logger.info(`restored ${paths.join(', ')} from the Actions cache entry ${key}`);
      return true;
    }
    logger.info(`no Actions cache entry ${key}; ${instead}`);
  } catch (error) {
    logger.warning(`the Actions cache restore failed (${describeError(error)}); ${instead}`);
  }
  return false;
}

/**
 * Restores the newest entry whose key starts with `prefix` into `paths` (an entry per run, where
 * each run saves what the one before it restored and added); the key restored, or undefined.
 */
export async function restoreLatestEntry(
  paths: string[],
  prefix: string,
  logger: CacheLogger,
  instead: string,
): Promise<string | undefined> {
  try {
    const key = await restoreCache(paths, prefix, [prefix]);
    if (key !== undefined) {
      logger.info(`restored ${paths.join(', ')} from the Actions cache entry ${key}`);
      return key;
    }
    logger.info(`no Actions cache entry starts with ${prefix}; ${instead}`);
  } catch (error) {
    logger.warning(`the Actions cache restore failed (${describeError(error)}); ${instead}`);
  }
  return undefined;
}

/** Saves `paths` as `key`; `consequence` says what a failed save costs, e.g. "the next run downloads from the Hub again". */
export async function saveEntry(
  paths: string[],
  key: string,
  logger: CacheLogger,
  consequence: string,
): Promise<boolean> {
  try {
    if ((await saveCache(paths, key)) !== -1) {
      logger.info(`saved ${paths.join(', ')} to the Actions cache as ${key}`);
      return true;
    }
    logger.warning(`the Actions cache did not save ${key} (the service refused or failed; see above); ${consequence}`);
  } catch (error) {
    logger.warning(`the Actions cache save failed (${describeError(error)}); ${consequence}`);
  }
  return false;
}
