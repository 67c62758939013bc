// The key a variant's results are kept under: everything that determines a variant's outputs on a
// dataset, and nothing else, hashed. Two runs with the same key would compute the same transcripts,
// tokens and distributions, so the second can take the first's instead of running the engine.
//
// What goes in: the variant; the engine and quantgate's version (a new version may decode
// differently); the device (CUDA and CPU kernels round differently); the engine options that change
// results (the batch size where padding changes numerics, the candidate mode, the base's top-k);
// the weights by sha256 (the model's files for the reference, the quantized output's files for the
// candidate); the dataset's resolved commit and the selection of utterances, ids included; and for
// the candidate, whose token metrics are measured against the reference, the reference's key.
// What stays out: everything that only changes how results are scored or shown (normalizer,
// threshold, gate mode, bootstrap seed, output folder).

import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { hashFile } from '../common/file-hash.js';

export interface ResultKey {
  variant: 'reference' | 'candidate';
  engine: string;
  quantgateVersion: string;
  device: string;
  engineOptions: Record<string, string | number | boolean | undefined>;
  /** `name:sha256` of each weights file, in the order given. */
  weights: string[];
  dataset: DatasetSelection;
  /** The candidate's reference key (its metrics are measured against that reference). */
  reference?: string;
}

export interface DatasetSelection {
  name: string;
  /** The resolved commit, or a digest of local files. */
  revision?: string;
  config?: string;
  split?: string;
  maxSamples: number;
  maxDurationSeconds?: number;
  /** `i/n` of a matrix job. */
  shard?: string;
  /** The utterances evaluated, in order. */
  ids: readonly string[];
}

/** The key's SHA-256, hex: the name an entry is stored under. */
export function hashResultKey(key: ResultKey): string {
  return createHash('sha256').update(canonicalJson(key)).digest('hex');
}

/** JSON with object keys sorted at every depth and undefined members left out, so equal keys hash alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `name:sha256` for each file, hashed as it streams; `names` are what the key records (paths relative to the model). */
export async function weightDigests(files: readonly { name: string; path: string }[]): Promise<string[]> {
  const digests: string[] = [];
  for (const { name, path } of files) {
    const hash = createHash('sha256');
    await hashFile(path, hash);
    digests.push(`${name}:${hash.digest('hex')}`);
  }
  return digests;
}

/** The digests of local folders this process has hashed, with the size and time of each file they were taken at. */
const folderDigests = new Map<string, { stamp: string; digests: Promise<string[]> }>();

/**
 * A Hub model is pinned by its commit; a local folder by the sha256 of every file in it. A folder
 * is hashed once per process while its files keep their sizes and times: a run asks twice (for its
 * quantized output and for its results), and a model can be gigabytes.
 */
export async function modelDigests(model: { dir: string; repoId?: string; revision?: string }): Promise<string[]> {
  if (model.repoId && model.revision && /^[0-9a-f]{40}$/.test(model.revision))
    return [`hub:${model.repoId}@${model.revision}`];
  const files = (await readdir(model.dir, { recursive: true }))
    .filter((name) => !name.split(/[\\/]/).some((part) => part.startsWith('.')))
    .sort();
  const regular: { name: string; path: string }[] = [];
  const stamps: unknown[] = [];
  for (const name of files) {
    const path = join(model.dir, name);
    const info = await stat(path);
    if (!info.isFile()) continue;
    regular.push({ name: relative(model.dir, path), path });
    stamps.push([name, info.size, info.mtimeMs, info.ino]);
  }
  const stamp = JSON.stringify(stamps);
  const known = folderDigests.get(model.dir);
  if (known?.stamp === stamp) return known.digests;
  const digests = weightDigests(regular);
  folderDigests.set(model.dir, { stamp, digests });
  digests.catch(() => folderDigests.delete(model.dir));
  return digests;
}
