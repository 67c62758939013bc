// The results store's entries carried between runs in the GitHub Actions cache, one cache entry per
// result key (reuse/result-key.ts): the key already names everything that determines the results,
// so an entry is never overwritten, only restored. The pipeline checks every restored file's
// checksum before it uses the entry.

import { actionsCacheAvailable, restoreEntry, saveEntry } from '../common/actions-cache-entry.js';
import type { ResultsCache } from '../pipeline/results-reuse.js';
import { cacheLogger } from './log.js';

export function actionsResultsCache(): ResultsCache | undefined {
  if (!actionsCacheAvailable()) return undefined;
  const cacheKey = (key: string) => `quantgate-results-${key}`;
  return {
    restore: (key, dir) => restoreEntry([dir], cacheKey(key), cacheLogger, 'evaluating the variant'),
    save: async (key, dir) => {
      await saveEntry([dir], cacheKey(key), cacheLogger, 'the next run evaluates this variant again');
    },
  };
}
