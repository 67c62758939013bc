// The gate's history, as github-action-benchmark keeps one: a JSON Lines file per model and dataset,
// one record per run on the default branch, read by pull requests to compare their head with the
// base branch's latest run. A record holds what a reader needs to compare two runs and to say
// when they cannot be compared (another model revision, dataset revision or device).

import { QuantgateError } from '../common/errors.js';
import type { Chart } from '../report/charts.js';
import { formatPercent, formatPoints } from '../scoring/figures.js';
import type { ScoredComparison } from '../scoring/types.js';

export const HISTORY_RECORD_VERSION = 1;

export interface HistoryRecord {
  version: typeof HISTORY_RECORD_VERSION;
  /** ISO 8601 time the run finished. */
  time: string;
  commit: string;
  branch?: string;
  /** The workflow run; a run id is never appended twice. */
  runId?: string;
  runUrl?: string;
  model: { id: string; revision?: string };
  dataset: { name: string; revision?: string; split?: string; config?: string; utterances: number; words: number };
  quantization: { type: string; shardFormat: string; keep: string[]; skip: string[]; tensorTypes: string[] };
  sizes: { sourceBytes: number; outputBytes: number };
  wer: { reference: number; candidate: number; delta: number; interval: [number, number] };
  kld?: { mean: number; interval: [number, number]; top1Agreement: number };
  device: string;
  stageSeconds: Record<string, number>;
}

export interface RecordContext {
  time: Date;
  commit: string;
  branch?: string;
  runId?: string;
  runUrl?: string;
  quantization: HistoryRecord['quantization'];
  sizes: HistoryRecord['sizes'];
  kld?: HistoryRecord['kld'];
}

/** The record of one evaluated run. */
export function historyRecord(comparison: ScoredComparison, context: RecordContext): HistoryRecord {
  const { dataset, run } = comparison;
  return {
    version: HISTORY_RECORD_VERSION,
    time: context.time.toISOString(),
    commit: context.commit,
    ...(context.branch && { branch: context.branch }),
    ...(context.runId && { runId: context.runId }),
    ...(context.runUrl && { runUrl: context.runUrl }),
    model: { id: run.modelId ?? 'unknown', ...(run.modelRevision && { revision: run.modelRevision }) },
    dataset: {
      name: dataset.name,
      ...(dataset.revision && { revision: dataset.revision }),
      ...(dataset.split && { split: dataset.split }),
      ...(dataset.config && { config: dataset.config }),
      utterances: comparison.utteranceCount,
      words: comparison.wordCount,
    },
    quantization: context.quantization,
    sizes: context.sizes,
    wer: {
      reference: comparison.reference.werPercent,
      candidate: comparison.candidate.werPercent,
      delta: comparison.delta.points,
      interval: [comparison.delta.low, comparison.delta.high],
    },
    ...(context.kld && { kld: context.kld }),
    device: run.device ?? 'unknown',
    stageSeconds: run.stageSeconds ?? {},
  };
}

/** The history file of a model on a dataset: one per pair, named so that any repo ids fit a file name. */
export function historyFileName(modelId: string, datasetName: string): string {
  const safe = (id: string) => id.replace(/[^A-Za-z0-9._-]+/g, '--');
  return `${safe(modelId)}__${safe(datasetName)}.jsonl`;
}

/** Parses a history file; a line that is not a record is one error naming the line. */
export function parseHistory(text: string, path: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new QuantgateError(`${path} line ${index + 1} is not JSON; repair or remove that line of the history`);
    }
    const problem = recordProblem(value);
    if (problem)
      throw new QuantgateError(
        `${path} line ${index + 1} is not a quantgate history record (${problem}); repair or remove that line of the history`,
      );
    records.push(value as HistoryRecord);
  });
  return records;
}

/** The history as a file's text, one record a line. */
export function formatHistory(records: readonly HistoryRecord[]): string {
  return records.map((record) => `${JSON.stringify(record)}\n`).join('');
}

/** `records` with `record` appended; undefined when its run is already there (a re-run appends nothing). */
export function appendRecord(records: readonly HistoryRecord[], record: HistoryRecord): HistoryRecord[] | undefined {
  if (record.runId !== undefined && records.some((each) => each.runId === record.runId)) return undefined;
  return [...records, record];
}

export type BaseComparison =
  | { comparable: false; base?: HistoryRecord; reason: string }
  | {
      comparable: true;
      base: HistoryRecord;
      /** Head minus base: WER points, ΔWER points, bytes. */
      referenceWer: number;
      candidateWer: number;
      deltaWer: number;
      outputBytes: number;
    };

/** The head's results against the base branch's latest record, or why they cannot be compared. */
export function compareWithBase(head: HistoryRecord, records: readonly HistoryRecord[]): BaseComparison {
  const base = records.at(-1);
  if (!base) return { comparable: false, reason: 'the base branch has no recorded run yet' };
  const differences: string[] = [];
  if (base.model.id !== head.model.id || base.model.revision !== head.model.revision) {
    differences.push(
      `model ${head.model.id}@${head.model.revision ?? 'local'} against ${base.model.id}@${base.model.revision ?? 'local'}`,
    );
  }
  if (
    base.dataset.name !== head.dataset.name ||
    base.dataset.revision !== head.dataset.revision ||
    base.dataset.split !== head.dataset.split
  ) {
    differences.push(`dataset ${describeDataset(head)} against ${describeDataset(base)}`);
  }
  if (base.device !== head.device) differences.push(`device ${head.device} against ${base.device}`);
  if (differences.length > 0) return { comparable: false, base, reason: `not comparable: ${differences.join('; ')}` };
  return {
    comparable: true,
    base,
    referenceWer: head.wer.reference - base.wer.reference,
    candidateWer: head.wer.candidate - base.wer.candidate,
    deltaWer: head.wer.delta - base.wer.delta,
    outputBytes: head.sizes.outputBytes - base.sizes.outputBytes,
  };
}

/** One line for logs: the head's candidate WER against the base's. */
export function describeBaseComparison(comparison: BaseComparison, head: HistoryRecord): string {
  if (!comparison.comparable) return `base branch: ${comparison.reason}`;
  const { base } = comparison;
  return `base branch (${base.commit.slice(0, 7)}): candidate WER ${formatPercent(base.wer.candidate)} → ${formatPercent(head.wer.candidate)} (${formatPoints(comparison.candidateWer)} points)`;
}

/** The charts of the last `last` records: both WERs, and the output's size in MiB. */
export function historyCharts(records: readonly HistoryRecord[], last = 20): { wer: Chart; size: Chart } {
  const shown = records.slice(-last);
  const labels = shown.map((record) => record.commit.slice(0, 7));
  return {
    wer: {
      title: `WER over the last ${shown.length} runs`,
      labels,
      yLabel: 'WER (%)',
      series: [
        { name: 'candidate', values: shown.map((record) => record.wer.candidate) },
        { name: 'reference', values: shown.map((record) => record.wer.reference) },
      ],
    },
    size: {
      title: `Quantized size over the last ${shown.length} runs`,
      labels,
      yLabel: 'size (MiB)',
      series: [{ name: 'quantized output', values: shown.map((record) => record.sizes.outputBytes / 2 ** 20) }],
    },
  };
}

function describeDataset(record: HistoryRecord): string {
  return [
    record.dataset.name,
    record.dataset.split,
    record.dataset.revision && `@${record.dataset.revision.slice(0, 7)}`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** The first way `value` falls short of a record, or undefined. */
function recordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (value.version !== HISTORY_RECORD_VERSION)
    return `version ${JSON.stringify(value.version)} is not ${HISTORY_RECORD_VERSION}`;
  if (typeof value.time !== 'string' || typeof value.commit !== 'string') return 'no time or commit';
  if (!isObject(value.model) || typeof value.model.id !== 'string') return 'no model';
  if (!isObject(value.dataset) || typeof value.dataset.name !== 'string') return 'no dataset';
  if (!isObject(value.sizes) || !isNumber(value.sizes.outputBytes) || !isNumber(value.sizes.sourceBytes))
    return 'no sizes';
  const wer = value.wer;
  if (
    !isObject(wer) ||
    !isNumber(wer.reference) ||
    !isNumber(wer.candidate) ||
    !isNumber(wer.delta) ||
    !Array.isArray(wer.interval)
  )
    return 'no WER figures';
  if (typeof value.device !== 'string') return 'no device';
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
