// The scored comparison of two systems on one data set: what eval_results.json holds, what the
// report tables render, and what a merge of several partial runs combines. The pipeline fills the
// data set and run descriptions; compare.ts fills the scores.
//
// Vocabulary: the "transcript" is the ground truth of an utterance; the "reference" system is the
// original model and the "candidate" the quantized one, as in the engines' Variant.

import type { FailedUtterance } from '../datasets/utterance.js';
import type { ErrorCounts } from './align.js';
import type { DeltaInterval } from './bootstrap.js';
import type { GateDecision } from './gate.js';
import type { TokenGateDecision } from './token-gate.js';
import type { SystemScore } from './wer.js';

export interface DatasetInfo {
  /** The data set's name or Hub id, e.g. `openslr/librispeech_asr`. */
  name: string;
  config?: string;
  split?: string;
  /** The resolved commit of the data set on the Hub. */
  revision?: string;
}

/** One system's output for one utterance. */
export interface SystemUtterance {
  text: string;
  normalized: string;
  counts: ErrorCounts;
  /** Transcription time in milliseconds, when the engine measured it. */
  ms?: number;
}

export interface UtteranceRecord {
  id: string;
  transcript: string;
  transcriptNormalized: string;
  reference: SystemUtterance;
  candidate: SystemUtterance;
  /** The candidate's mean KL divergence from the reference over this utterance's steps, in nats (token metrics). */
  kld?: number;
  /** Share of this utterance's steps at which both systems pick the same top token. */
  top1Agreement?: number;
  /** Steps compared: CTC frames or LM steps. */
  tokenSteps?: number;
  /** The largest KLD of one step. */
  kldMax?: number;
  /** PPL(candidate) / PPL(reference) on the reference's tokens of this utterance. */
  perplexityRatio?: number;
}

/**
 * Token-level damage over the run, as llama.cpp's `--kl-divergence` reports it: KL(P_ref ‖ P_cand)
 * per step, in nats, and the share of steps whose argmax agrees.
 */
export interface KldFigures {
  available: true;
  mean: number;
  /** 95% bootstrap interval of the mean, over utterances. */
  interval: [number, number];
  /** Over steps; null after a merge of shards, which keeps no per-step values. */
  median: number | null;
  p99: number | null;
  max: number;
  /** Fraction (0–1) of steps at which both systems pick the same top token. */
  top1Agreement: number;
  perplexityRatio: number;
  steps: number;
}

/** Why a run has no token metrics (the command engine sees no distributions). */
export interface KldUnavailable {
  available: false;
  reason: string;
}

/** Free-form description of the run; the named fields are the ones reports show. */
export interface RunInfo {
  modelId?: string;
  modelRevision?: string;
  engine?: string;
  device?: string;
  /** Wall time per pipeline stage, in seconds. */
  stageSeconds?: Record<string, number>;
  /** Which variants' results were taken from the results store instead of being evaluated. */
  reused?: { reference: boolean; candidate: boolean };
  [key: string]: unknown;
}

export interface ScoredComparison {
  dataset: DatasetInfo;
  normalizer: string;
  /** Utterances scored (after dropping empty references). */
  utteranceCount: number;
  /** Reference words over the scored utterances. */
  wordCount: number;
  /** Utterances whose transcript is empty after normalization: not scored. */
  droppedEmptyIds: string[];
  /** Utterances whose audio could not be read: not scored. */
  failedUtterances: FailedUtterance[];
  reference: SystemScore;
  candidate: SystemScore;
  /** WER(candidate) − WER(reference) in percentage points, with its bootstrap interval. */
  delta: { points: number } & DeltaInterval;
  /** The WER gate. */
  gate: GateDecision;
  /** Token-level damage; absent in results written before quantgate measured it. */
  kld?: KldFigures | KldUnavailable;
  /** The optional gates on token-level damage (`max-kld`, `min-top1-agreement`) that were set. */
  tokenGates?: TokenGateDecision[];
  /** The scored utterances, in data set order. */
  utterances: UtteranceRecord[];
  run: RunInfo;
  /** The groups whose quantization costs the most (`run --sensitivity`); absent when it was not computed. */
  sensitivity?: SensitivitySummary;
}

/** One group of a sensitivity ranking, as every result file keeps it. */
export interface RankedGroup {
  /** 1 for the most sensitive group. */
  rank: number;
  /** The tensor's name, or the layer-and-role glob (e.g. `layers.7.ffn.*`). */
  group: string;
  parameters: number;
  /** Bytes of the group at F16 less its bytes at its quantized types. */
  bytesSaved: number;
  /**
   * fast: Σ ‖(W − Q(W)) x‖² / Σ ‖W x‖² over the group's weights and their sampled inputs; exact: the
   * mean KL divergence per step (nats) of the candidate with only this group quantized.
   */
  score: number;
  /** The score over the sum of every group's score; 0 for all when nothing moved at all. */
  share: number;
}

/** The first groups of `quantgate sensitivity`'s ranking, as `run --sensitivity` keeps them. */
export interface SensitivitySummary {
  method: string;
  /** What `score` is: `output-error` (fast) or `mean-kld` (exact). */
  metric: string;
  grouping: string;
  quantType: string;
  /** The first utterances of the run's selection that the reference ran on. */
  calibrationUtterances: number;
  /** The groups measured in all; `top` holds the first of them. */
  groups: number;
  top: RankedGroup[];
}
