// The gate's history kept in the GitHub Actions cache, for repositories whose workflows may not
// push: cache entries cannot be changed, so each recording run saves the whole file under a new key
// (the prefix of its model and dataset, then its run id) and readers restore the newest entry with
// that prefix. A restore or save that fails is a warning, as for any cache entry: the history then
// misses this run, and the gate is decided all the same.

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { restoreLatestEntry, saveEntry, type CacheLogger } from '../common/actions-cache-entry.js';
import { writeFileAtomic } from '../common/atomic.js';
import { appendRecord, formatHistory, parseHistory, type HistoryRecord } from './history.js';

export interface CacheHistory {
  /** The folder the entry is restored into and saved from; the same path on every run (the cache version hashes it). */
  dir: string;
  /** The history file's name, from historyFileName. */
  fileName: string;
  logger: CacheLogger;
}

/** The records of the newest cache entry; none when there is no entry yet or the cache cannot be reached. */
export async function readCacheHistory(history: CacheHistory): Promise<HistoryRecord[]> {
  await restoreLatestEntry([history.dir], keyPrefix(history), history.logger, 'starting an empty history');
  const path = join(history.dir, history.fileName);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? [] : parseHistory(text, path);
}

/**
 * Appends `record` to `records` (read by readCacheHistory) and saves the file as a new entry;
 * undefined when the run is already recorded.
 */
export async function appendCacheHistory(
  history: CacheHistory,
  records: readonly HistoryRecord[],
  record: HistoryRecord,
): Promise<{ records: HistoryRecord[]; saved: boolean } | undefined> {
  const appended = appendRecord(records, record);
  if (!appended) return undefined;
  await mkdir(history.dir, { recursive: true });
  await writeFileAtomic(join(history.dir, history.fileName), formatHistory(appended));
  const key = `${keyPrefix(history)}${record.runId ?? record.time.replace(/\D/g, '')}`;
  const saved = await saveEntry([history.dir], key, history.logger, 'the history misses this run');
  return { records: appended, saved };
}

function keyPrefix(history: CacheHistory): string {
  return `quantgate-history-${history.fileName.replace(/\.jsonl$/, '')}-`;
}
