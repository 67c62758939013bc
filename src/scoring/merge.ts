// Merges the partial results of a matrix of shard jobs (`shard: i/n`) into the results of the
// whole run. The parts must be the n distinct shards of one run configuration — the same model
// and revision, engine, data set and normalizer, and byte-identical quantized files where their
// manifests came along — or the merge refuses, naming what differs or which shard is missing.
// Corpus WERs, the bootstrap interval and the gate are then recomputed over every utterance,
// exactly as one job evaluating the whole selection would have.
//
// The token-level damage is recomputed from each utterance's figures (mean KLD, steps, top-1
// agreement, largest KLD, perplexity ratio): the mean KLD, its bootstrap interval (the same ratio
// bootstrap over utterances as a whole run's), the maximum, the top-1 agreement and the perplexity
// ratio come out as one job's would, up to float rounding. The median and the 99th percentile are
// quantiles over steps, which shards do not record (one utterance's mean and maximum do not give
// its steps' distribution), so a merge leaves them null. Shards that disagree on having token
// metrics, or lack the per-utterance figures, give merged results that say why they have none.

import { QuantgateError } from '../common/errors.js';
import type { Manifest } from '../formats/gguf/manifest.js';
import { formatShard, parseShard } from '../datasets/selection.js';
import { ratioBootstrap, type BootstrapOptions } from './bootstrap.js';
import { summarizeComparison } from './compare.js';
import type { GateOptions } from './gate.js';
import { decideTokenGates, type TokenGateOptions } from './token-gate.js';
import type { KldFigures, KldUnavailable, RunInfo, ScoredComparison, UtteranceRecord } from './types.js';

export interface PartialResults {
  /** Where these results came from, for messages (an artifact's name, a file's path). */
  source: string;
  comparison: ScoredComparison;
  /** The manifest of the quantized model the shard evaluated, when it came with the results. */
  manifest?: Manifest;
}

/** One shard's part of a merged run, as the merged results record it. */
export interface ShardRun {
  /** `i/n`, counted from 1. */
  shard: string;
  source: string;
  utterances: number;
  device?: string;
  stageSeconds?: Record<string, number>;
  reused?: { reference: boolean; candidate: boolean };
}

export interface MergeOptions {
  gate?: GateOptions;
  /** The gates on token-level damage; their mode is the WER gate's unless given. */
  tokenGates?: TokenGateOptions;
  bootstrap?: BootstrapOptions;
}

/** Facts every shard must share, with how messages name them. */
const SHARED: readonly [string, (comparison: ScoredComparison) => unknown][] = [
  ['model', (comparison) => comparison.run.modelId],
  ['model revision', (comparison) => comparison.run.modelRevision],
  ['engine', (comparison) => comparison.run.engine],
  ['data set', (comparison) => comparison.dataset.name],
  ['data set config', (comparison) => comparison.dataset.config],
  ['split', (comparison) => comparison.dataset.split],
  ['data set revision', (comparison) => comparison.dataset.revision],
  ['normalizer', (comparison) => comparison.normalizer],
];

export function mergePartialResults(parts: readonly PartialResults[], options: MergeOptions = {}): ScoredComparison {
  if (parts.length === 0)
    throw new QuantgateError(
      'there are no partial results to merge; run the merge after the shard jobs that upload them',
    );
  const shards = orderShards(parts);
  const first = shards[0]!.part;
  for (const [what, value] of SHARED) {
    const expected = value(first.comparison);
    const other = shards.find(({ part }) => value(part.comparison) !== expected);
    if (other) {
      throw new QuantgateError(
        `${first.source} and ${other.part.source} are shards of different runs (${what} ${show(expected)} vs ${show(value(other.part.comparison))}); run every shard job with the same inputs and merge only that run's artifacts`,
      );
    }
  }
  requireSameQuantization(shards);
  requireDisjoint(shards);

  const comparisons = shards.map(({ part }) => part.comparison);
  const {
    shard: _shard,
    stageSeconds: _stageSeconds,
    device: _device,
    reused: _reused,
    ...shared
  } = first.comparison.run;
  const devices = [
    ...new Set(comparisons.map((comparison) => comparison.run.device).filter((device) => device !== undefined)),
  ];
  const shardRuns: ShardRun[] = shards.map(({ label, part }) => ({
    shard: label,
    source: part.source,
    utterances: part.comparison.utteranceCount,
    ...(part.comparison.run.device === undefined ? {} : { device: part.comparison.run.device }),
    ...(part.comparison.run.stageSeconds === undefined ? {} : { stageSeconds: part.comparison.run.stageSeconds }),
    ...(part.comparison.run.reused === undefined ? {} : { reused: part.comparison.run.reused }),
  }));
  const run: RunInfo = {
    ...shared,
    ...(devices.length > 0 ? { device: devices.join(', ') } : {}),
    ...mergedReuse(comparisons),
    shards: shardRuns,
  };
  const { utterances, ...figures } = summarizeComparison(
    {
      dataset: first.comparison.dataset,
      normalizer: first.comparison.normalizer,
      droppedEmptyIds: comparisons.flatMap((comparison) => comparison.droppedEmptyIds),
      failedUtterances: comparisons.flatMap((comparison) => comparison.failedUtterances),
      utterances: comparisons.flatMap((comparison) => comparison.utterances),
      run,
    },
    options,
  );
  return { ...figures, ...mergeTokenDamage(shards, options), utterances };
}

/** A variant counts as reused by the merged run only when every shard reused it. */
function mergedReuse(comparisons: readonly ScoredComparison[]): Pick<RunInfo, 'reused'> {
  if (comparisons.every((comparison) => comparison.run.reused === undefined)) return {};
  const every = (variant: 'reference' | 'candidate') =>
    comparisons.every((comparison) => comparison.run.reused?.[variant] === true);
  return { reused: { reference: every('reference'), candidate: every('candidate') } };
}

/** The merged token-level damage and the token gates decided on it; nothing for shards from before token metrics. */
function mergeTokenDamage(
  shards: readonly NumberedShard[],
  options: MergeOptions,
): Pick<ScoredComparison, 'kld' | 'tokenGates'> {
  const gates = options.tokenGates ?? {};
  const requested = [
    ...(gates.maxKld === undefined ? [] : ['max-kld']),
    ...(gates.minTop1Agreement === undefined ? [] : ['min-top1-agreement']),
  ];
  const kld = shards.every(({ part }) => part.comparison.kld === undefined)
    ? undefined
    : mergedKld(shards, options.bootstrap);
  if (!kld?.available) {
    if (requested.length > 0) {
      const why = kld ? kld.reason : 'the shards recorded no token metrics (written before quantgate measured them)';
      const one = requested.length === 1;
      throw new QuantgateError(
        `${requested.join(' and ')} ${one ? 'needs' : 'need'} token metrics, but the merged results have none: ${why}; leave ${one ? 'it' : 'them'} unset for this run, or merge shards evaluated with an engine that measures them`,
      );
    }
    return kld ? { kld } : {};
  }
  const tokenGates = decideTokenGates(kld, { mode: options.gate?.mode, ...gates });
  return { kld, ...(tokenGates.length > 0 ? { tokenGates } : {}) };
}

/** An utterance with the figures a merge of token metrics needs. */
type MeasuredUtterance = UtteranceRecord &
  Required<Pick<UtteranceRecord, 'kld' | 'top1Agreement' | 'tokenSteps' | 'kldMax' | 'perplexityRatio'>>;

function isMeasured(record: UtteranceRecord): record is MeasuredUtterance {
  return (
    record.kld !== undefined &&
    record.top1Agreement !== undefined &&
    record.tokenSteps !== undefined &&
    record.kldMax !== undefined &&
    record.perplexityRatio !== undefined
  );
}

/** The run's KLD figures from every shard's per-utterance figures, or why there are none. */
function mergedKld(
  shards: readonly NumberedShard[],
  bootstrap: BootstrapOptions | undefined,
): KldFigures | KldUnavailable {
  const unavailable = (reason: string): KldUnavailable => ({ available: false, reason });
  const reasonOf = (kld: ScoredComparison['kld']) =>
    kld?.available === false ? kld.reason : 'its results were written before quantgate measured them';
  const without = shards.filter(({ part }) => !part.comparison.kld?.available);
  if (without.length === shards.length) {
    // Every shard says why it has none (or says nothing): one reason when they agree, as for the command engine.
    const reasons = shards.flatMap(({ part }) =>
      part.comparison.kld?.available === false ? [part.comparison.kld.reason] : [],
    );
    return unavailable([...new Set(reasons)].join('; '));
  }
  if (without.length > 0) {
    const { label, part } = without[0]!;
    return unavailable(
      `shard ${label} has no token metrics (${reasonOf(part.comparison.kld)}) while other shards have; run every shard job with the same engine and quantgate version`,
    );
  }
  const records: MeasuredUtterance[] = [];
  for (const { label, part } of shards) {
    const missing = part.comparison.utterances.find((record) => !isMeasured(record));
    if (missing)
      return unavailable(
        `utterance "${missing.id}" of shard ${label} lacks its per-utterance token figures, which a merge needs`,
      );
    const measured = part.comparison.utterances as MeasuredUtterance[];
    const steps = measured.reduce((total, record) => total + record.tokenSteps, 0);
    const recorded = (part.comparison.kld as KldFigures).steps;
    if (steps !== recorded)
      return unavailable(
        `the utterances of shard ${label} account for ${steps} of its ${recorded} token steps, so its figures cannot be merged exactly`,
      );
    records.push(...measured);
  }
  // Per utterance, kld · steps is its KLD sum, top-1 · steps its agreeing steps (a whole number, so
  // rounded back exactly) and steps · log(perplexity ratio) its log-probability difference.
  let steps = 0;
  let kldSum = 0;
  let agreements = 0;
  let logRatio = 0;
  let max = 0;
  for (const record of records) {
    if (record.tokenSteps === 0) continue;
    steps += record.tokenSteps;
    kldSum += record.kld * record.tokenSteps;
    agreements += Math.round(record.top1Agreement * record.tokenSteps);
    logRatio += Math.log(record.perplexityRatio) * record.tokenSteps;
    max = Math.max(max, record.kldMax);
  }
  if (steps === 0) return unavailable('no utterance of any shard has a token step');
  const { low, high } = ratioBootstrap(
    Float64Array.from(records, (record) => record.kld * record.tokenSteps),
    Float64Array.from(records, (record) => record.tokenSteps),
    bootstrap,
  );
  return {
    available: true,
    mean: kldSum / steps,
    interval: [low, high],
    median: null,
    p99: null,
    max,
    top1Agreement: agreements / steps,
    perplexityRatio: Math.exp(logRatio / steps),
    steps,
  };
}

interface NumberedShard {
  index: number;
  label: string;
  part: PartialResults;
}

/** The parts in shard order, after checking they are shards 1…n of one n, each once. */
function orderShards(parts: readonly PartialResults[]): NumberedShard[] {
  const numbered = parts.map((part): NumberedShard & { count: number } => {
    const text = part.comparison.run.shard;
    if (typeof text !== 'string') {
      throw new QuantgateError(
        `${part.source} holds the results of a whole run, not of one shard; merge only the artifacts of jobs run with a shard input`,
      );
    }
    const shard = parseShard(text, `the shard recorded in ${part.source}`);
    return { index: shard.index, count: shard.count, label: formatShard(shard), part };
  });
  const count = numbered[0]!.count;
  const stranger = numbered.find((shard) => shard.count !== count);
  if (stranger) {
    throw new QuantgateError(
      `${numbered[0]!.part.source} is shard ${numbered[0]!.label} but ${stranger.part.source} is shard ${stranger.label}; all shard jobs of a run need the same number of shards`,
    );
  }
  const byIndex = new Map<number, NumberedShard>();
  for (const shard of numbered) {
    const twin = byIndex.get(shard.index);
    if (twin)
      throw new QuantgateError(
        `${twin.part.source} and ${shard.part.source} are both shard ${shard.label}; give each matrix job its own shard, and each its own artifact name`,
      );
    byIndex.set(shard.index, shard);
  }
  const missing = Array.from({ length: count }, (_, index) => index).filter((index) => !byIndex.has(index));
  if (missing.length > 0) {
    const have = [...byIndex.values()].map((shard) => shard.label).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    throw new QuantgateError(
      `shard${missing.length === 1 ? '' : 's'} ${missing.map((index) => formatShard({ index, count })).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing (found ${have.join(', ')}); every shard job must finish and upload its results before the merge — re-run the failed ones`,
    );
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** Quantization is deterministic: shards of one run list the same files with the same hashes. */
function requireSameQuantization(shards: readonly NumberedShard[]): void {
  const withManifest = shards.filter(({ part }) => part.manifest !== undefined);
  const fingerprint = ({ part }: NumberedShard) => JSON.stringify([part.manifest!.format, part.manifest!.files]);
  const first = withManifest[0];
  const other = first && withManifest.find((shard) => fingerprint(shard) !== fingerprint(first));
  if (first && other) {
    throw new QuantgateError(
      `${first.part.source} and ${other.part.source} evaluated different quantized files (their manifests differ); run every shard job with the same model revision and quantization inputs`,
    );
  }
}

/** Shards cut from one selection never share an utterance; shards of different selections may. */
function requireDisjoint(shards: readonly NumberedShard[]): void {
  const owner = new Map<string, NumberedShard>();
  for (const shard of shards) {
    const { comparison } = shard.part;
    const ids = [
      ...comparison.utterances.map((utterance) => utterance.id),
      ...comparison.droppedEmptyIds,
      ...comparison.failedUtterances.map((failed) => failed.id),
    ];
    for (const id of ids) {
      const other = owner.get(id);
      if (other && other !== shard) {
        throw new QuantgateError(
          `utterance "${id}" is in both shard ${other.label} and shard ${shard.label}; the shard jobs selected different utterances — give them the same dataset and max-samples`,
        );
      }
      owner.set(id, shard);
    }
  }
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}
