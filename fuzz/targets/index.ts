// Every fuzz target, in the order a run takes them.
import type { FuzzTarget } from '../target.js';
import { flac, wav } from './audio.js';
import { byteShards } from './byte-shards.js';
import { config } from './config.js';
import { csv, jsonl } from './dataset-manifest.js';
import { gguf } from './gguf.js';
import { ggufSplit } from './gguf-split.js';
import { hub } from './hub.js';
import { manifest } from './manifest.js';
import { parquet } from './parquet.js';
import { referenceBase } from './reference-base.js';
import { safetensors } from './safetensors.js';
import { SELF_TEST_TARGETS } from './self-test.js';
import { storedResults } from './stored-results.js';
import { tar } from './tar.js';
import { transcripts } from './transcripts.js';
import { zip } from './zip.js';

export const TARGETS: readonly FuzzTarget[] = [
  safetensors,
  config,
  gguf,
  ggufSplit,
  byteShards,
  manifest,
  parquet,
  flac,
  wav,
  jsonl,
  csv,
  transcripts,
  referenceBase,
  storedResults,
  tar,
  zip,
  hub,
];

/** A target by name, including those that only the harness's tests use. */
export function findTarget(name: string): FuzzTarget {
  const target = [...TARGETS, ...SELF_TEST_TARGETS].find((candidate) => candidate.name === name);
  if (!target) throw new Error(`no fuzz target "${name}"`);
  return target;
}
