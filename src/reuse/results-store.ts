// A folder of results entries, one per result key: the files a variant's evaluation produced
// (transcripts with tokens, the reference base) and `entry.json`, which lists each file with its
// size and sha256. An entry is written whole under a temp name and renamed into place, and used
// only once every checksum holds; a damaged one is reported, removed and treated as missing, so
// the variant is evaluated again and the entry replaced. The CLI keeps the store in
// `--results-cache` (by default under the user's cache folder); the action restores and saves the
// same folder layout through the Actions cache.

import { createHash } from 'node:crypto';
import { copyFile, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../common/atomic.js';
import { hashFile } from '../common/file-hash.js';

const ENTRY_FILE = 'entry.json';
const ENTRY_VERSION = 1;
const KEY_PATTERN = /^[0-9a-f]{64}$/;

interface EntryFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface StoredEntry {
  /** The entry's folder: each stored file is `join(dir, name)`. */
  dir: string;
  names: string[];
}

/**
 * `$XDG_CACHE_HOME/quantgate/results`, else `$HOME/.cache/quantgate/results`; undefined in an
 * environment that names neither (the run then keeps no results rather than guess a folder).
 */
export function defaultResultsStoreRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const cache = env.XDG_CACHE_HOME || (env.HOME && join(env.HOME, '.cache'));
  return cache ? join(cache, 'quantgate', 'results') : undefined;
}

export class ResultsStore {
  constructor(
    readonly root: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  /** The folder an entry lives in; the action's cache saves and restores exactly this folder. */
  entryDir(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new RangeError(`a results key is 64 hex digits, not ${JSON.stringify(key)}`);
    return join(this.root, key.slice(0, 2), key);
  }

  /** The intact entry under `key`, or undefined when there is none or it is damaged (then it is removed). */
  async get(key: string): Promise<StoredEntry | undefined> {
    const dir = this.entryDir(key);
    let text: string;
    try {
      text = await readFile(join(dir, ENTRY_FILE), 'utf8');
    } catch {
      return undefined;
    }
    const checked = await this.check(dir, text, key);
    if (typeof checked === 'string') {
      const problem = checked;
      this.warn(
        `the stored results ${key.slice(0, 12)}… are damaged (${problem}); evaluating again and replacing them`,
      );
      await rm(dir, { recursive: true, force: true });
      return undefined;
    }
    return { dir, names: checked.map((file) => file.name) };
  }

  /** Stores copies of `files` under `key`, replacing any entry there. */
  async put(key: string, files: readonly { name: string; path: string }[]): Promise<void> {
    const dir = this.entryDir(key);
    await writeDirAtomic(dir, async (temp) => {
      const listed: EntryFile[] = [];
      for (const { name, path } of files) {
        if (name === ENTRY_FILE || name.includes('/') || name.startsWith('.'))
          throw new RangeError(`cannot store a file named ${JSON.stringify(name)}`);
        await copyFile(path, join(temp, name));
        const hash = createHash('sha256');
        await hashFile(join(temp, name), hash);
        listed.push({ name, bytes: (await stat(join(temp, name))).size, sha256: hash.digest('hex') });
      }
      await writeFileAtomic(
        join(temp, ENTRY_FILE),
        `${JSON.stringify({ version: ENTRY_VERSION, key, files: listed }, null, 2)}\n`,
      );
    });
  }

  /** The files the entry in `dir` lists when every one is as listed, else why it cannot be used. */
  private async check(dir: string, text: string, key: string): Promise<EntryFile[] | string> {
    let entry: { version?: unknown; key?: unknown; files?: unknown };
    try {
      entry = JSON.parse(text) as typeof entry;
    } catch {
      return `${ENTRY_FILE} is not JSON`;
    }
    if (entry?.version !== ENTRY_VERSION || entry.key !== key || !Array.isArray(entry.files))
      return `${ENTRY_FILE} does not describe this entry`;
    for (const file of entry.files as Partial<EntryFile>[]) {
      if (
        typeof file?.name !== 'string' ||
        typeof file.sha256 !== 'string' ||
        typeof file.bytes !== 'number' ||
        file.name.includes('/')
      )
        return `${ENTRY_FILE} lists a malformed file`;
      const path = join(dir, file.name);
      const size = await stat(path).then(
        (info) => info.size,
        () => undefined,
      );
      if (size === undefined) return `${file.name} is missing`;
      if (size !== file.bytes) return `${file.name} has ${size} bytes, not ${file.bytes}`;
      const hash = createHash('sha256');
      await hashFile(path, hash);
      if (hash.digest('hex') !== file.sha256) return `${file.name} does not match its sha256`;
    }
    return entry.files as EntryFile[];
  }
}
