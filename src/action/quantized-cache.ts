// The quantized output carried between runs in the GitHub Actions cache, keyed by the model's
// commit, the quantizer's version and the quantization options (see `quantizedCacheKey`). The
// pipeline verifies every restored file against its manifest before using it.

import { actionsCacheAvailable, restoreEntry, saveEntry } from '../common/actions-cache-entry.js';
import type { QuantizedCache } from '../pipeline/run.js';
import { cacheLogger } from './log.js';

export function actionsQuantizedCache(): QuantizedCache | undefined {
  if (!actionsCacheAvailable()) return undefined;
  return {
    restore: (key, paths) => restoreEntry(paths, key, cacheLogger, 'quantizing'),
    save: async (key, paths) => {
      await saveEntry(paths, key, cacheLogger, 'the next run quantizes again');
    },
  };
}
