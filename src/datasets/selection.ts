// Which utterances a run evaluates: the first N in dataset order (--max-samples, 0 for all), then
// for matrix jobs one contiguous slice of those N (--shard I/N, counted from 1). Slices differ in
// size by at most one and together cover the N exactly once, so merged shard results equal an
// unsharded run. Contiguous slices let each job read only its own part of a remote parquet file.

import { QuantgateError } from '../common/errors.js';

/** Shard `index + 1` of `count`: `index` counts from 0, while `--shard` and every message count from 1. */
export interface Shard {
  index: number;
  count: number;
}

/** Positions `start` (inclusive) to `end` (exclusive) in dataset order. */
export interface Selection {
  start: number;
  end: number;
  /** Utterances selected before sharding (N). */
  selectedBeforeShard: number;
}

export const DEFAULT_MAX_SAMPLES = 100;

export function selectUtterances(available: number, maxSamples = DEFAULT_MAX_SAMPLES, shard?: Shard): Selection {
  checkSelection(maxSamples, shard);
  const total = maxSamples === 0 ? available : Math.min(maxSamples, available);
  if (!shard) return { start: 0, end: total, selectedBeforeShard: total };
  return {
    start: Math.floor((shard.index * total) / shard.count),
    end: Math.floor(((shard.index + 1) * total) / shard.count),
    selectedBeforeShard: total,
  };
}

/** Throws the error `selectUtterances` would for these options, before any dataset is opened. */
export function checkSelection(maxSamples = DEFAULT_MAX_SAMPLES, shard?: Shard): void {
  if (!Number.isInteger(maxSamples) || maxSamples < 0)
    throw new QuantgateError(`--max-samples must be a whole number ≥ 0 (0 for all), got ${maxSamples}`);
  if (
    shard &&
    !(
      Number.isInteger(shard.count) &&
      shard.count >= 1 &&
      Number.isInteger(shard.index) &&
      shard.index >= 0 &&
      shard.index < shard.count
    )
  ) {
    throw new QuantgateError(`--shard ${formatShard(shard)} is not a shard: use I/N with 1 ≤ I ≤ N, e.g. 1/4`);
  }
}

/** `I/N`, counted from 1 as `--shard` takes it and messages show it. */
export function formatShard(shard: Shard): string {
  return `${shard.index + 1}/${shard.count}`;
}

/**
 * Parses "I/N", shard I of N counted from 1 as people count them (`1/4` is the first quarter;
 * a matrix of `shard: [1, 2, 3, 4]` passes `${{ matrix.shard }}/4`). The result's index is 0-based.
 */
export function parseShard(text: string, label = '--shard'): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const shard = match ? { index: Number(match[1]) - 1, count: Number(match[2]) } : undefined;
  if (!shard || shard.count < 1 || shard.index < 0 || shard.index >= shard.count) {
    throw new QuantgateError(
      `${label} must be I/N with 1 ≤ I ≤ N (e.g. 1/4 for the first of four matrix jobs), got "${text}"`,
    );
  }
  return shard;
}
