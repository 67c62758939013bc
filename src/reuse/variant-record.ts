// What a variant's evaluation produced, as the results store keeps it: `results.json` holds the
// utterances it read, its transcripts (with tokens and timings), the utterances that failed, and
// for a candidate its token damage at every step. A reference's distributions go beside it as the
// reference base file (scoring/reference-base.ts), which has its own format and checksum.
//
// Non-finite numbers (a log-probability of −∞) are written as strings, since JSON has no spelling
// for them, so every figure reads back bit for bit and a reused run reports exactly what a fresh one did.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { QuantgateError, describeError } from '../common/errors.js';
import type { FailedUtterance } from '../datasets/utterance.js';
import type { Device, Transcript } from '../engines/engine.js';
import type { UtteranceDamage } from '../scoring/token-damage.js';

export const VARIANT_RESULTS_FILE = 'results.json';
const RECORD_VERSION = 1;

export interface VariantRecord {
  device: Device;
  sampleRate: number;
  batchSize: number;
  /** The utterances transcribed, in order, with their true transcripts. */
  utterances: { id: string; text: string }[];
  /** The engine's transcripts and the milliseconds each took (unknown for a reference taken from a base file). */
  transcripts: (Transcript & { ms?: number })[];
  failed: FailedUtterance[];
  /** A candidate's damage against its reference, per utterance, where the engine measures it. */
  damages?: UtteranceDamage[];
}

interface StoredDamage {
  id: string;
  klds: (number | string)[];
  top1: number[];
  candidateLogProbs: (number | string)[];
  referenceLogProbs: (number | string)[];
}

/** Writes `record` as `results.json` in `dir`; returns the file for the store's entry. */
export async function writeVariantRecord(dir: string, record: VariantRecord): Promise<{ name: string; path: string }> {
  const path = join(dir, VARIANT_RESULTS_FILE);
  const { damages, ...rest } = record;
  const stored = {
    version: RECORD_VERSION,
    ...rest,
    ...(damages && { damages: damages.map(storedDamage) }),
  };
  await writeFileAtomic(path, JSON.stringify(stored));
  return { name: VARIANT_RESULTS_FILE, path };
}

/** Reads what `writeVariantRecord` wrote; anything else is a one-line error naming what is wrong. */
export async function readVariantRecord(dir: string): Promise<VariantRecord> {
  let stored: unknown;
  try {
    stored = JSON.parse(await readFile(join(dir, VARIANT_RESULTS_FILE), 'utf8'));
  } catch (error) {
    throw new QuantgateError(`${VARIANT_RESULTS_FILE} does not read as JSON (${describeError(error)})`);
  }
  const problem = recordProblem(stored);
  if (problem) throw new QuantgateError(`${VARIANT_RESULTS_FILE} is not a variant record of this version: ${problem}`);
  const record = stored as VariantRecord & { damages?: StoredDamage[] };
  return {
    device: record.device,
    sampleRate: record.sampleRate,
    batchSize: record.batchSize,
    utterances: record.utterances,
    transcripts: record.transcripts,
    failed: record.failed,
    ...(record.damages && { damages: record.damages.map(readDamage) }),
  };
}

/** What is wrong with a parsed results.json, or undefined: every field the run reads is checked, since an entry can come from the Actions cache. */
function recordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (value.version !== RECORD_VERSION)
    return typeof value.version === 'number' ? `version ${value.version}` : 'no version number';
  if (value.device !== 'cpu' && value.device !== 'cuda') return 'no device';
  if (!isCount(value.sampleRate) || !isCount(value.batchSize)) return 'no sample rate or batch size';
  const lists: [string, unknown, (item: Record<string, unknown>) => boolean][] = [
    ['utterances', value.utterances, (item) => isText(item.id) && isText(item.text)],
    [
      'transcripts',
      value.transcripts,
      (item) =>
        isText(item.id) &&
        isText(item.text) &&
        (item.ms === undefined || (typeof item.ms === 'number' && Number.isFinite(item.ms))) &&
        (item.tokens === undefined || (Array.isArray(item.tokens) && item.tokens.every(isCount))),
    ],
    ['failed', value.failed, (item) => isText(item.id) && isText(item.error)],
  ];
  if (value.damages !== undefined) lists.push(['damages', value.damages, isStoredDamage]);
  for (const [name, list, valid] of lists) {
    if (!Array.isArray(list)) return `${name} is not a list`;
    const bad = list.findIndex((item) => !isObject(item) || !valid(item));
    if (bad >= 0) return `entry ${bad} of ${name} is malformed`;
  }
  return undefined;
}

/** How `numbers` writes the figures JSON cannot spell. */
const NON_FINITE = ['Infinity', '-Infinity', 'NaN'];

function isStoredDamage(item: Record<string, unknown>): boolean {
  const steps = Array.isArray(item.klds) ? item.klds.length : -1;
  const figures = (list: unknown) =>
    Array.isArray(list) &&
    list.length === steps &&
    list.every((entry) => typeof entry === 'number' || NON_FINITE.includes(entry as string));
  return (
    isText(item.id) &&
    figures(item.klds) &&
    figures(item.candidateLogProbs) &&
    figures(item.referenceLogProbs) &&
    Array.isArray(item.top1) &&
    item.top1.length === steps &&
    item.top1.every((entry) => entry === 0 || entry === 1)
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isText(value: unknown): value is string {
  return typeof value === 'string';
}

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

function storedDamage(damage: UtteranceDamage): StoredDamage {
  return {
    id: damage.id,
    klds: numbers(damage.klds),
    top1: Array.from(damage.top1),
    candidateLogProbs: numbers(damage.candidateLogProbs),
    referenceLogProbs: numbers(damage.referenceLogProbs),
  };
}

function readDamage(stored: StoredDamage): UtteranceDamage {
  return {
    id: stored.id,
    klds: Float64Array.from(stored.klds, Number),
    top1: Uint8Array.from(stored.top1),
    candidateLogProbs: Float64Array.from(stored.candidateLogProbs, Number),
    referenceLogProbs: Float64Array.from(stored.referenceLogProbs, Number),
  };
}

/** JSON numbers, with −∞, +∞ and NaN as the strings `Number` reads back. */
function numbers(values: Float64Array): (number | string)[] {
  return Array.from(values, (value) => (Number.isFinite(value) ? value : String(value)));
}
