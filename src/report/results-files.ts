// The two results files of an evaluation: eval_results.txt for people (model, engine and device,
// data set, both WERs with their error split, ΔWER with its interval, the gate and its verdict)
// and eval_results.json with everything, per-utterance records included, for machines and for
// merging the partial results of several jobs. Both are written atomically; the reader checks the
// schema version and the fields a merge relies on.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { QuantgateError, describeError, jsonText } from '../common/errors.js';
import type { ErrorCounts } from '../scoring/align.js';
import { formatInteger, formatInterval, formatPercent, formatPoints, formatQuantity } from '../scoring/figures.js';
import type { ScoredComparison } from '../scoring/types.js';
import type { SystemScore } from '../scoring/wer.js';

const RESULTS_TEXT_NAME = 'eval_results.txt';
export const RESULTS_JSON_NAME = 'eval_results.json';
export const RESULTS_SCHEMA_VERSION = 1;

export async function writeEvalResults(
  dir: string,
  comparison: ScoredComparison,
): Promise<{ textPath: string; jsonPath: string }> {
  const textPath = join(dir, RESULTS_TEXT_NAME);
  const jsonPath = join(dir, RESULTS_JSON_NAME);
  // The JSON last: merges and later steps read it, so when it is there the text file is too.
  await writeFileAtomic(textPath, formatEvalResultsText(comparison));
  await writeFileAtomic(
    jsonPath,
    `${JSON.stringify({ schemaVersion: RESULTS_SCHEMA_VERSION, ...comparison }, null, 2)}\n`,
  );
  return { textPath, jsonPath };
}

export function formatEvalResultsText(comparison: ScoredComparison): string {
  const { dataset, delta, gate } = comparison;
  const source = [
    dataset.name,
    dataset.config && `(${dataset.config})`,
    dataset.split && `split ${dataset.split}`,
    dataset.revision && `revision ${dataset.revision}`,
  ];
  const skipped = [
    `${formatQuantity(comparison.droppedEmptyIds.length, 'empty reference')} dropped`,
    `${formatInteger(comparison.failedUtterances.length)} failed`,
  ];
  const { run } = comparison;
  // A comparison of bare transcripts has no model or engine to name.
  const optional: [string, string | undefined][] = [
    [
      'model',
      run.modelId && [run.modelId, run.modelRevision && `revision ${run.modelRevision}`].filter(Boolean).join(' '),
    ],
    ['engine', run.engine && [run.engine, run.device && `on ${run.device}`].filter(Boolean).join(' ')],
  ];
  const lines: [string, string][] = [
    ...optional.filter((line): line is [string, string] => line[1] !== undefined),
    ['dataset', source.filter(Boolean).join(' ')],
    [
      'samples',
      `${formatQuantity(comparison.utteranceCount, 'utterance')}, ${formatQuantity(comparison.wordCount, 'word')} (${skipped.join(', ')})`,
    ],
    ['normalizer', comparison.normalizer],
    ['reference WER', systemLine(comparison.reference)],
    ['candidate WER', systemLine(comparison.candidate)],
    ['ΔWER', `${formatPoints(delta.points)} points`],
    [
      `${Math.round(delta.confidence * 100)}% interval`,
      `${formatInterval(delta.low, delta.high)} points (paired bootstrap, ${formatInteger(delta.resamples)} resamples, seed ${delta.seed})`,
    ],
    ['P(candidate worse)', delta.probabilityWorse.toFixed(3)],
    ['threshold', `${gate.thresholdPoints.toFixed(2)} points, ${gate.mode} mode`],
    ['verdict', `${gate.verdict.toUpperCase()}: ${gate.reason}`],
  ];
  const width = Math.max(...lines.map(([label]) => label.length)) + 1;
  return `${lines.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`).join('\n')}\n`;
}

function systemLine(score: SystemScore): string {
  return `${formatPercent(score.werPercent)} (S ${formatInteger(score.substitutions)}, D ${formatInteger(score.deletions)}, I ${formatInteger(score.insertions)}, hits ${formatInteger(score.hits)})`;
}

export async function readEvalResults(path: string): Promise<ScoredComparison> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new QuantgateError(
      `cannot read ${path} (${describeError(error)}); give an ${RESULTS_JSON_NAME} written by quantgate`,
      { cause: error },
    );
  }
  const problem = findProblem(document);
  if (problem)
    throw new QuantgateError(
      `${path}: ${problem}; give an unmodified ${RESULTS_JSON_NAME} written by this version of quantgate`,
    );
  const { schemaVersion: _version, ...comparison } = document as ScoredComparison & { schemaVersion: number };
  return comparison;
}

/** The first way `document` falls short of a ScoredComparison, or undefined when it is one. */
function findProblem(document: unknown): string | undefined {
  if (!isObject(document)) return 'not a JSON object';
  if (document.schemaVersion !== RESULTS_SCHEMA_VERSION)
    return `schema version ${jsonText(document.schemaVersion)} is not the supported ${RESULTS_SCHEMA_VERSION}`;
  const { dataset, delta, gate } = document;
  if (!isObject(dataset) || typeof dataset.name !== 'string') return '"dataset" lacks its "name"';
  if (typeof document.normalizer !== 'string') return '"normalizer" is missing';
  if (!isCount(document.utteranceCount) || !isCount(document.wordCount))
    return '"utteranceCount" or "wordCount" is missing';
  for (const key of ['droppedEmptyIds', 'failedUtterances', 'utterances'] as const) {
    if (!Array.isArray(document[key])) return `"${key}" is not a list`;
  }
  for (const system of ['reference', 'candidate'] as const) {
    const score = document[system];
    if (!isCounts(score) || typeof (score as { werPercent?: unknown }).werPercent !== 'number')
      return `the ${system} system's WER or error counts are missing`;
  }
  if (
    !isObject(delta) ||
    !['points', 'low', 'high', 'confidence', 'probabilityWorse', 'resamples', 'seed'].every(
      (key) => typeof delta[key] === 'number',
    )
  ) {
    return '"delta" lacks its points, interval or bootstrap settings';
  }
  if (
    !isObject(gate) ||
    typeof gate.mode !== 'string' ||
    typeof gate.thresholdPoints !== 'number' ||
    (gate.verdict !== 'pass' && gate.verdict !== 'fail')
  ) {
    return '"gate" lacks its mode, threshold or verdict';
  }
  if (!isObject(document.run)) return '"run" is missing';
  for (const [index, utterance] of (document.utterances as unknown[]).entries()) {
    if (
      !isObject(utterance) ||
      typeof utterance.id !== 'string' ||
      typeof utterance.transcript !== 'string' ||
      typeof utterance.transcriptNormalized !== 'string'
    ) {
      return `utterance ${index + 1} lacks its "id" or transcript`;
    }
    for (const system of ['reference', 'candidate'] as const) {
      const output = utterance[system];
      if (
        !isObject(output) ||
        typeof output.text !== 'string' ||
        typeof output.normalized !== 'string' ||
        !isCounts(output.counts)
      ) {
        return `utterance "${utterance.id}" lacks the ${system} system's text or error counts`;
      }
    }
  }
  return undefined;
}

function isCounts(value: unknown): value is ErrorCounts {
  return (
    isObject(value) &&
    (['substitutions', 'deletions', 'insertions', 'hits', 'referenceWords'] as const).every((key) =>
      isCount(value[key]),
    )
  );
}

function isCount(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
