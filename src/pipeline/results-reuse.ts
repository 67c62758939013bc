// The run's side of content-addressed reuse: the keys of its two variants (reuse/result-key.ts),
// built from the model, the engine, the device, the options that change results and the dataset
// selection; and the lookups and saves through the results store, and through the Actions cache
// when the action runs. A stored entry that does not read back is treated as missing (with a
// warning): the variant is evaluated again and the entry replaced.

import { createHash } from 'node:crypto';
import { describeError } from '../common/errors.js';
import type { Progress } from '../common/progress.js';
import type { SelectionFingerprint } from '../datasets/dataset.js';
import { formatShard } from '../datasets/selection.js';
import type { ModelSource, QuantizedModel } from '../engines/engine.js';
import { readManifest } from '../formats/gguf/manifest.js';
import { canonicalJson, hashResultKey, modelDigests, type DatasetSelection } from '../reuse/result-key.js';
import { ResultsStore, type StoredEntry } from '../reuse/results-store.js';
import { readVariantRecord, writeVariantRecord, type VariantRecord } from '../reuse/variant-record.js';
import type { ReferenceBaseIdentity } from '../scoring/reference-base.js';
import { TOOL_VERSION } from '../version.js';
import type { RunOptions } from './options.js';

/** Carries results entries between CI runs (the action's Actions cache). */
export interface ResultsCache {
  /** Restores the entry saved under `key` into `dir`; true on a hit. */
  restore(key: string, dir: string): Promise<boolean>;
  save(key: string, dir: string): Promise<void>;
}

/** The identities the run's results are keyed and its reference base is checked by. */
export interface RunIdentity {
  reference: string;
  candidate: string;
  base: ReferenceBaseIdentity;
}

export interface IdentityInputs {
  engine: string;
  device: string;
  batchSize: number;
  /** The top-k of the reference base, when the engine measures token metrics. */
  baseTopK?: number;
  model: ModelSource;
  quantized: QuantizedModel;
  selection: SelectionFingerprint;
  /** The checksum of the `--reference-base` the candidate is measured against, instead of the reference's key. */
  baseSha256?: string;
}

/** The keys of both variants, and the identity a reference base must carry. */
export async function runIdentity(options: RunOptions, inputs: IdentityInputs): Promise<RunIdentity> {
  const modelWeights = await modelDigests(inputs.model);
  const dataset = datasetSelection(options, inputs.selection);
  const common = {
    engine: inputs.engine,
    quantgateVersion: TOOL_VERSION,
    device: inputs.device,
    dataset,
  };
  const engineOptions = { batchSize: inputs.batchSize, baseTopK: inputs.baseTopK };
  const reference = hashResultKey({ ...common, variant: 'reference', engineOptions, weights: modelWeights });
  const manifest = await readManifest(inputs.quantized.manifestPath);
  const candidate = hashResultKey({
    ...common,
    variant: 'candidate',
    engineOptions: { ...engineOptions, candidateMode: options.candidateMode },
    weights: manifest.files.map((file) => `${file.path}:${file.sha256}`),
    reference: inputs.baseSha256 ? `base:${inputs.baseSha256}` : reference,
  });
  return {
    reference,
    candidate,
    base: {
      model:
        inputs.model.repoId && inputs.model.revision
          ? `${inputs.model.repoId}@${inputs.model.revision}`
          : `${inputs.model.dir} (files sha256 ${digestOf(modelWeights)})`,
      engine: inputs.engine,
      device: inputs.device,
      dataset: describeSelection(dataset),
    },
  };
}

/**
 * The key of the reference's decoded audio: it is decoded for the reference's engine (its sample
 * rate) from the reference's dataset selection, so the reference's key determines it. It is an
 * entry of its own, read only by a run that evaluates a candidate against a reused reference.
 */
export function decodedAudioKey(referenceKey: string): string {
  return createHash('sha256').update(`decoded-audio:${referenceKey}`).digest('hex');
}

/** Looks variants up in, and saves them to, the results store (and the Actions cache around it). */
export class VariantResults {
  private readonly store: ResultsStore;

  constructor(
    root: string,
    private readonly progress: Progress,
    private readonly cache?: ResultsCache,
  ) {
    this.store = new ResultsStore(root, (message) => progress.info(`warning: ${message}`));
  }

  /** The stored record under `key` and its entry, or undefined to evaluate the variant. */
  async load(key: string): Promise<{ record: VariantRecord; entry: StoredEntry } | undefined> {
    const dir = this.store.entryDir(key);
    await this.cache?.restore(key, dir);
    const entry = await this.store.get(key);
    if (!entry) return undefined;
    try {
      return { record: await readVariantRecord(entry.dir), entry };
    } catch (error) {
      this.progress.info(
        `warning: the stored results ${key.slice(0, 12)}… do not read back (${describeError(error)}); evaluating again and replacing them`,
      );
      return undefined;
    }
  }

  /** The intact entry of plain files under `key` (the decoded audio), or undefined. */
  async loadFiles(key: string): Promise<StoredEntry | undefined> {
    await this.cache?.restore(key, this.store.entryDir(key));
    return this.store.get(key);
  }

  async saveFiles(key: string, files: { name: string; path: string }[]): Promise<void> {
    await this.store.put(key, files);
    await this.cache?.save(key, this.store.entryDir(key));
  }

  /** Stores `record`, with `files` beside it (the reference base), under `key`. */
  async save(key: string, record: VariantRecord, scratchDir: string, files: { name: string; path: string }[] = []) {
    const results = await writeVariantRecord(scratchDir, record);
    await this.store.put(key, [results, ...files]);
    await this.cache?.save(key, this.store.entryDir(key));
  }
}

function datasetSelection(options: RunOptions, selection: SelectionFingerprint): DatasetSelection {
  return {
    name: selection.name,
    // A local dataset has no commit: its bytes stand in for one.
    revision: selection.revision ?? (selection.contentSha256 && `sha256:${selection.contentSha256}`),
    config: options.datasetConfig,
    split: selection.split,
    maxSamples: options.maxSamples,
    maxDurationSeconds: options.maxDurationSeconds,
    shard: options.shard && formatShard(options.shard),
    ids: selection.ids,
  };
}

/** A readable account of the selection, with the ids folded into a digest, for base mismatch messages. */
function describeSelection(dataset: DatasetSelection): string {
  const parts = [
    `${dataset.name}@${dataset.revision ?? 'unknown revision'}`,
    dataset.config && `config ${dataset.config}`,
    dataset.split && `split ${dataset.split}`,
    dataset.shard && `shard ${dataset.shard}`,
    `${dataset.ids.length} utterances, ids sha256 ${digestOf(dataset.ids)}`,
  ];
  return parts.filter(Boolean).join(', ');
}

function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);
}
