// Scores the reference and candidate systems on the same utterances and decides the gate: normalize
// every text, align each hypothesis against its transcript, sum corpus WERs, bootstrap ΔWER, apply
// the gate. `summarizeComparison` redoes the corpus-level part from per-utterance records alone, so
// partial results of several jobs can be merged and re-decided.

import type { FailedUtterance } from '../datasets/utterance.js';
import { QuantgateError } from '../common/errors.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  pairedBootstrap,
  pairedBootstrapInSlices,
  type BootstrapOptions,
  type DeltaInterval,
  type PairedCounts,
} from './bootstrap.js';
import { decideGate, type GateOptions } from './gate.js';
import type { DatasetInfo, RunInfo, ScoredComparison, SystemUtterance, UtteranceRecord } from './types.js';
import { errorsOf, scoreCorpus, systemScore, type CorpusScore } from './wer.js';

/** One utterance with both systems' raw outputs. */
export interface ComparisonInput {
  id: string;
  transcript: string;
  reference: SystemOutput;
  candidate: SystemOutput;
}

export interface SystemOutput {
  text: string;
  /** Transcription time in milliseconds, when measured. */
  ms?: number;
}

/** A normalizer with the name results record it by. */
export interface NamedNormalizer {
  name: string;
  normalize(text: string): string;
}

/** What the pipeline knows about the run besides the transcripts. */
export interface ComparisonContext {
  dataset: DatasetInfo;
  failedUtterances?: FailedUtterance[];
  run?: RunInfo;
  gate?: GateOptions;
  bootstrap?: BootstrapOptions;
}

/** The parts of a comparison that per-utterance scoring produces; the rest is derived from them. */
export type ScoredUtterances = Pick<
  ScoredComparison,
  'dataset' | 'normalizer' | 'droppedEmptyIds' | 'failedUtterances' | 'utterances' | 'run'
>;

/**
 * Joins the utterances with each system's transcripts by id. Every utterance needs exactly one
 * transcript from each system, and no system may return an id the data set lacks.
 */
export function pairById(
  utterances: readonly { id: string; text: string }[],
  reference: readonly (SystemOutput & { id: string })[],
  candidate: readonly (SystemOutput & { id: string })[],
): ComparisonInput[] {
  const known = requireUniqueIds(utterances);
  const byId = (system: string, outputs: typeof reference) => {
    const map = new Map<string, SystemOutput>();
    for (const { id, ...output } of outputs) {
      if (!known.has(id))
        throw new QuantgateError(
          `the ${system} system returned a transcript for utterance "${id}", which the data set lacks; transcripts must keep the data set's ids`,
        );
      if (map.has(id))
        throw new QuantgateError(
          `the ${system} system returned two transcripts for utterance "${id}"; each utterance needs exactly one`,
        );
      map.set(id, output);
    }
    return map;
  };
  const references = byId('reference', reference);
  const candidates = byId('candidate', candidate);
  return utterances.map(({ id, text }) => {
    const referenceOutput = references.get(id);
    const candidateOutput = candidates.get(id);
    if (!referenceOutput || !candidateOutput) {
      throw new QuantgateError(
        `the ${referenceOutput ? 'candidate' : 'reference'} system has no transcript for utterance "${id}"; both systems must transcribe the same utterances`,
      );
    }
    return { id, transcript: text, reference: referenceOutput, candidate: candidateOutput };
  });
}

export function compareSystems(
  inputs: readonly ComparisonInput[],
  normalizer: NamedNormalizer,
  context: ComparisonContext,
): ScoredComparison {
  return summarizeComparison(scoreUtterances(inputs, normalizer, context), context);
}

/** Utterances normalized per slice of `compareSystemsInSlices`. */
const UTTERANCES_PER_SLICE = 100;

/**
 * The same comparison as `compareSystems`, for the pipeline: the two slow parts, normalizing and
 * the bootstrap, run in slices with a turn of the event loop between them, checking `signal`, so
 * that a stop request is seen within milliseconds on the full test set.
 */
export async function compareSystemsInSlices(
  inputs: readonly ComparisonInput[],
  normalizer: NamedNormalizer,
  context: ComparisonContext,
  signal?: AbortSignal,
): Promise<ScoredComparison> {
  const normalized = new Map<string, string>();
  for (let start = 0; start < inputs.length; start += UTTERANCES_PER_SLICE) {
    signal?.throwIfAborted();
    for (const input of inputs.slice(start, start + UTTERANCES_PER_SLICE)) {
      for (const text of [input.transcript, input.reference.text, input.candidate.text])
        if (!normalized.has(text)) normalized.set(text, normalizer.normalize(text));
    }
    await nextTurn();
  }
  const scored = scoreUtterances(
    inputs,
    { name: normalizer.name, normalize: (text) => normalized.get(text)! },
    context,
  );
  const counts = pairedCountsOf(scored.utterances);
  return withInterval(scored, context, await pairedBootstrapInSlices(counts, context.bootstrap, signal));
}

/** Normalizes and aligns every utterance for both systems; empty transcripts are dropped and listed. */
function scoreUtterances(
  inputs: readonly ComparisonInput[],
  normalizer: NamedNormalizer,
  context: ComparisonContext,
): ScoredUtterances {
  requireUniqueIds(inputs);
  const normalized = inputs.map((input) => ({
    id: input.id,
    transcript: normalizer.normalize(input.transcript),
    reference: normalizer.normalize(input.reference.text),
    candidate: normalizer.normalize(input.candidate.text),
  }));
  const referenceScore = scoreCorpus(
    normalized.map(({ id, transcript, reference }) => ({ id, reference: transcript, hypothesis: reference })),
  );
  const candidateScore = scoreCorpus(
    normalized.map(({ id, transcript, candidate }) => ({ id, reference: transcript, hypothesis: candidate })),
  );
  const indexOf = new Map(inputs.map((input, index) => [input.id, index]));
  const utterances = referenceScore.utterances.map((scored, k): UtteranceRecord => {
    const index = indexOf.get(scored.id)!;
    const input = inputs[index]!;
    const texts = normalized[index]!;
    return {
      id: input.id,
      transcript: input.transcript,
      transcriptNormalized: texts.transcript,
      reference: systemUtterance(input.reference, texts.reference, referenceScore, k),
      candidate: systemUtterance(input.candidate, texts.candidate, candidateScore, k),
    };
  });
  return {
    dataset: context.dataset,
    normalizer: normalizer.name,
    droppedEmptyIds: referenceScore.droppedEmptyIds,
    failedUtterances: context.failedUtterances ?? [],
    utterances,
    run: context.run ?? {},
  };
}

/** Corpus WERs, ΔWER with its bootstrap interval, and the gate verdict, from per-utterance records. */
export function summarizeComparison(
  scored: ScoredUtterances,
  options: Pick<ComparisonContext, 'gate' | 'bootstrap'> = {},
): ScoredComparison {
  return withInterval(scored, options, pairedBootstrap(pairedCountsOf(scored.utterances), options.bootstrap));
}

function pairedCountsOf(utterances: readonly UtteranceRecord[]): PairedCounts {
  requireUniqueIds(utterances);
  return {
    words: Int32Array.from(utterances, (utterance) => utterance.reference.counts.referenceWords),
    referenceErrors: Int32Array.from(utterances, (utterance) => errorsOf(utterance.reference.counts)),
    candidateErrors: Int32Array.from(utterances, (utterance) => errorsOf(utterance.candidate.counts)),
  };
}

function withInterval(
  scored: ScoredUtterances,
  options: Pick<ComparisonContext, 'gate'>,
  interval: DeltaInterval,
): ScoredComparison {
  const { utterances } = scored;
  const reference = systemScore(utterances.map((utterance) => utterance.reference.counts));
  const candidate = systemScore(utterances.map((utterance) => utterance.candidate.counts));
  // From the integer error difference, so a ΔWER exactly at the threshold is exactly the threshold.
  const points = (100 * (errorsOf(candidate) - errorsOf(reference))) / reference.referenceWords;
  return {
    dataset: scored.dataset,
    normalizer: scored.normalizer,
    utteranceCount: utterances.length,
    wordCount: reference.referenceWords,
    droppedEmptyIds: scored.droppedEmptyIds,
    failedUtterances: scored.failedUtterances,
    reference,
    candidate,
    delta: { points, ...interval },
    gate: decideGate({ deltaPoints: points, interval }, options.gate),
    run: scored.run,
    utterances,
  };
}

function systemUtterance(output: SystemOutput, normalized: string, score: CorpusScore, k: number): SystemUtterance {
  const record: SystemUtterance = { text: output.text, normalized, counts: score.utterances[k]!.counts };
  if (output.ms !== undefined) record.ms = output.ms;
  return record;
}

function requireUniqueIds(items: readonly { id: string }[]): Set<string> {
  const ids = new Set<string>();
  for (const { id } of items) {
    if (ids.has(id)) throw new QuantgateError(`utterance id "${id}" appears twice; ids must be unique`);
    ids.add(id);
  }
  return ids;
}
