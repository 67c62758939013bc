// The two results files of an evaluation: eval_results.txt for people (model, engine and device,
// data set, both WERs with their error split, ΔWER with its interval, the token-level damage when
// it was measured, each gate and the verdict, the utterances of largest KLD) and eval_results.json
// with everything, per-utterance records included, for machines and for merging the partial
// results of several jobs. Both are written atomically; the reader checks the schema version and
// the fields a merge or a report relies on. The token metrics and the sensitivity ranking are
// optional fields of schema 1: results written before quantgate measured them have none and stay valid.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { QuantgateError, describeError, jsonText } from '../common/errors.js';
import type { ErrorCounts } from '../scoring/align.js';
import { formatInteger, formatInterval, formatPercent, formatPoints, formatQuantity } from '../scoring/figures.js';
import { formatNats, formatShare } from '../scoring/token-gate.js';
import type { ScoredComparison } from '../scoring/types.js';
import type { SystemScore } from '../scoring/wer.js';
import { sensitivityLines } from './sensitivity-content.js';
import { largestKldLines } from './terminal.js';
import {
  formatNatsInterval,
  formatRatio,
  NO_FIGURE,
  NOT_KEPT_REASON,
  overallVerdictText,
  reuseText,
  tokenGateText,
  unavailableText,
} from './token-content.js';

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
    ['reuse', reuseText(run)],
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
    ...kldLines(comparison.kld),
    ['threshold', `${gate.thresholdPoints.toFixed(2)} points, ${gate.mode} mode`],
    ...verdictLines(comparison),
  ];
  const width = Math.max(...lines.map(([label]) => label.length)) + 1;
  const text = lines.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`);
  return `${[...text, ...largestKldLines(comparison.utterances), ...sensitivityLines(comparison.sensitivity)].join('\n')}\n`;
}

function kldLines(kld: ScoredComparison['kld']): [string, string][] {
  if (!kld) return [];
  if (!kld.available) return [['token metrics', unavailableText(kld.reason)]];
  const nats = (value: number | null) =>
    value === null ? `${NO_FIGURE} (${NOT_KEPT_REASON})` : `${formatNats(value)} nats`;
  return [
    [
      'mean KLD',
      `${formatNats(kld.mean)} nats, 95% interval ${formatNatsInterval(kld.interval)} (bootstrap over utterances)`,
    ],
    ['KLD median', nats(kld.median)],
    ['KLD p99', nats(kld.p99)],
    ['KLD max', nats(kld.max)],
    ['top-1 agreement', formatShare(kld.top1Agreement)],
    ['perplexity ratio', formatRatio(kld.perplexityRatio)],
    ['token steps', formatInteger(kld.steps)],
  ];
}

/** The WER gate's verdict; with token gates set, each gate's own line and then the verdict over all of them. */
function verdictLines(comparison: ScoredComparison): [string, string][] {
  const { gate } = comparison;
  const wer = `${gate.verdict.toUpperCase()}: ${gate.reason}`;
  const tokenGates = comparison.tokenGates ?? [];
  if (tokenGates.length === 0) return [['verdict', wer]];
  return [
    ['WER gate', wer],
    ...tokenGates.map((token): [string, string] => [`${token.gate} gate`, tokenGateText(token)]),
    ['verdict', overallVerdictText(comparison)],
  ];
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
  const tokenProblem = findTokenProblem(document);
  if (tokenProblem) return tokenProblem;
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
    const fieldProblem = findFieldProblem(utterance, UTTERANCE_TOKEN_FIELDS, '');
    if (fieldProblem) return `utterance "${utterance.id}": ${fieldProblem}`;
  }
  return undefined;
}

/** What a field must hold, and how a message says so. */
type FieldCheck = [test: (value: unknown) => boolean, expected: string];

const NON_NEGATIVE: FieldCheck = [(value) => typeof value === 'number' && value >= 0, 'a number ≥ 0'];
const NON_NEGATIVE_OR_NULL: FieldCheck = [(value) => value === null || NON_NEGATIVE[0](value), 'a number ≥ 0 or null'];
const POSITIVE: FieldCheck = [(value) => typeof value === 'number' && value > 0, 'a number > 0'];
const FRACTION: FieldCheck = [
  (value) => typeof value === 'number' && value >= 0 && value <= 1,
  'a fraction from 0 to 1',
];
const COUNT: FieldCheck = [isCount, 'a whole number ≥ 0'];

const KLD_FIELDS: Record<string, FieldCheck> = {
  mean: NON_NEGATIVE,
  interval: [
    (value) =>
      Array.isArray(value) &&
      value.length === 2 &&
      value.every((bound) => NON_NEGATIVE[0](bound)) &&
      (value[0] as number) <= (value[1] as number),
    'a pair [low, high] of numbers ≥ 0',
  ],
  median: NON_NEGATIVE_OR_NULL,
  p99: NON_NEGATIVE_OR_NULL,
  max: NON_NEGATIVE,
  top1Agreement: FRACTION,
  perplexityRatio: POSITIVE,
  steps: COUNT,
};

const TOKEN_GATE_FIELDS: Record<string, FieldCheck> = {
  gate: [(value) => value === 'max-kld' || value === 'min-top1-agreement', '"max-kld" or "min-top1-agreement"'],
  limit: NON_NEGATIVE,
  value: NON_NEGATIVE,
  verdict: [(value) => value === 'pass' || value === 'fail', '"pass" or "fail"'],
  reason: [(value) => typeof value === 'string', 'a string'],
};

/** Optional on each utterance: absent in results without token metrics. */
const UTTERANCE_TOKEN_FIELDS: Record<string, FieldCheck> = {
  kld: NON_NEGATIVE,
  top1Agreement: FRACTION,
  tokenSteps: COUNT,
  kldMax: NON_NEGATIVE,
  perplexityRatio: POSITIVE,
};

/** The first problem of the token metrics' fields (`kld`, `tokenGates`, `run.reused`); each is optional. */
function findTokenProblem(document: Record<string, unknown>): string | undefined {
  const { kld, tokenGates } = document;
  if (kld !== undefined) {
    if (!isObject(kld)) return '"kld" is not an object';
    if (kld.available === false) {
      if (typeof kld.reason !== 'string' || kld.reason === '') return '"kld.reason" is not a non-empty string';
    } else if (kld.available === true) {
      const problem = findFieldProblem(kld, KLD_FIELDS, 'kld.', { required: true });
      if (problem) return problem;
    } else {
      return '"kld.available" is not true or false';
    }
  }
  if (tokenGates !== undefined) {
    if (!Array.isArray(tokenGates)) return '"tokenGates" is not a list';
    for (const [index, gate] of tokenGates.entries()) {
      if (!isObject(gate)) return `"tokenGates[${index}]" is not an object`;
      const problem = findFieldProblem(gate, TOKEN_GATE_FIELDS, `tokenGates[${index}].`, { required: true });
      if (problem) return problem;
    }
  }
  const { reused } = document.run as Record<string, unknown>;
  if (
    reused !== undefined &&
    !(isObject(reused) && typeof reused.reference === 'boolean' && typeof reused.candidate === 'boolean')
  )
    return '"run.reused" is not an object of two booleans, "reference" and "candidate"';
  return undefined;
}

/** The first field of `object` that fails its check, named with `prefix`; absent fields pass unless required. */
function findFieldProblem(
  object: Record<string, unknown>,
  fields: Record<string, FieldCheck>,
  prefix: string,
  { required = false } = {},
): string | undefined {
  for (const [key, [test, expected]] of Object.entries(fields)) {
    const value = object[key];
    if (value === undefined) {
      if (required) return `"${prefix}${key}" is missing`;
    } else if (!test(value)) {
      return `"${prefix}${key}" is not ${expected}`;
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
