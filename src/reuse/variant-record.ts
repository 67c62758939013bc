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

/** Reads what `writeVariantRecord` wrote; anything else is an error naming what is wrong. */
export async function readVariantRecord(dir: string): Promise<VariantRecord> {
  const stored = JSON.parse(await readFile(join(dir, VARIANT_RESULTS_FILE), 'utf8')) as Partial<
    VariantRecord & { version: number; damages: StoredDamage[] }
  >;
  if (
    stored?.version !== RECORD_VERSION ||
    !Array.isArray(stored.utterances) ||
    !Array.isArray(stored.transcripts) ||
    !Array.isArray(stored.failed) ||
    (stored.device !== 'cpu' && stored.device !== 'cuda') ||
    typeof stored.sampleRate !== 'number' ||
    typeof stored.batchSize !== 'number'
  ) {
    throw new Error(`${VARIANT_RESULTS_FILE} is not a variant record of this version`);
  }
  return {
    device: stored.device,
    sampleRate: stored.sampleRate,
    batchSize: stored.batchSize,
    utterances: stored.utterances,
    transcripts: stored.transcripts,
    failed: stored.failed,
    ...(stored.damages && { damages: stored.damages.map(readDamage) }),
  };
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
