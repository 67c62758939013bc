// What `quantgate tune` found, and how it is shown and written: the result's shape (which
// tune_results.json holds, leaving the cost out so that two runs of the same search give the same
// file), the search's steps as a table (terminal and job summary), the overrides to commit, and the
// charts of size against ΔWER and KLD (Mermaid for the job summary, an SVG beside the results).

import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { formatBytes, formatDuration } from '../common/format.js';
import { formatInterval, formatPoints } from '../scoring/figures.js';
import { formatNats } from '../scoring/token-gate.js';
import type { RankedGroup } from '../scoring/types.js';
import type { QuantType } from '../quant/plan.js';
import { mermaidChart, svgCharts, type Chart } from './charts.js';
import { escapeMarkdown, markdownTable } from './markdown.js';
import { ruledTable } from './text-table.js';

/** The results file tune writes beside the tuned GGUF. */
export const TUNE_RESULTS_NAME = 'tune_results.json';
/** The chart of the search, beside its results. */
export const TUNE_CHART_NAME = 'tune_chart.svg';

export const TUNE_TARGETS = ['smallest', 'best'] as const;
export type TuneTarget = (typeof TUNE_TARGETS)[number];

/** The figures of one mix on the calibration subset. */
export interface CalibrationFigures {
  /** WER(candidate) − WER(reference) on the calibration utterances, percentage points. */
  deltaWer: number;
  /** Mean KL divergence per step (nats). */
  meanKld: number;
}

/** The full evaluation of a mix: the run's ΔWER with its interval, its mean KLD, and its verdict. */
export interface Confirmation {
  deltaWer: number;
  interval: [number, number];
  meanKld?: number;
  passed: boolean;
  /** The gate's sentences, the WER gate first. */
  reasons: string[];
  utterances: number;
}

export interface TuneStep {
  /** 0 for the start, every weight at --quant-type. */
  step: number;
  /** The group promoted at this step (a tensor name, or a layer-and-role glob), absent for the start. */
  group?: string;
  from?: QuantType;
  /** The group's new type; for the start, --quant-type. */
  type: QuantType;
  /** The GGUF's size, as one file. */
  bytes: number;
  calibration: CalibrationFigures;
  /** Set where the mix met the proxy and was evaluated in full. */
  confirmation?: Confirmation;
}

export interface TuneResult {
  target: TuneTarget;
  /** smallest: a mix passed the gate; best: the chosen mix passed it. */
  passed: boolean;
  quantType: QuantType;
  allowTypes: QuantType[];
  budget: { threshold: number; gateMode: string; maxKld?: number; maxSizeBytes?: number };
  /** The Hub model id or the local folder, and the commit of a Hub model. */
  model: string;
  modelRevision?: string;
  engine: string;
  calibrationUtterances: number;
  /** The ranking the promotions follow. */
  sensitivity: { method: string; metric: string; grouping: string; groups: (RankedGroup & { tensors: string[] })[] };
  steps: TuneStep[];
  /** The step whose mix is the tuned file; absent when no mix passed (target smallest). */
  chosen?: number;
  /** The `--tensor-type` lines that reproduce the tuned file with --quant-type. */
  overrides: string[];
  /** The tuned GGUF's size against uniform --quant-type and uniform F16, each as one file. */
  size: { bytes?: number; uniform: Partial<Record<QuantType, number>> };
  /** Uniform F16 on the calibration subset, the other end of the chart. */
  uniformF16: { bytes: number; calibration: CalibrationFigures };
  /** The tuned mix's full evaluation. */
  confirmed?: Confirmation;
  /** What the search cost: kept out of the JSON (its timings differ between runs) so that two runs give the same file. */
  cost: { calibrationPasses: number; seconds: { sensitivity: number; calibration: number; confirmations: number } };
}

/** Writes tune_results.json and the chart's SVG into `outDir`; returns their paths. */
export async function writeTuneResults(
  result: TuneResult,
  outDir: string,
): Promise<{ resultsPath: string; chartPath: string }> {
  const resultsPath = join(outDir, TUNE_RESULTS_NAME);
  const chartPath = join(outDir, TUNE_CHART_NAME);
  const { cost: _cost, ...stable } = result;
  await writeFileAtomic(resultsPath, `${JSON.stringify(stable, null, 2)}\n`);
  await writeFileAtomic(chartPath, svgCharts(tuneCharts(result)));
  return { resultsPath, chartPath };
}

/**
 * Size against the calibration ΔWER and against the mean KLD: the start (uniform --quant-type),
 * each step, and uniform F16, in order of size, each labelled with its size in MiB and the two
 * uniform files with their type.
 */
export function tuneCharts(result: TuneResult): Chart[] {
  const points = [
    ...result.steps.map((step) => ({
      label: `${sizeLabel(step.bytes)}${step.step === 0 ? ` ${step.type.toUpperCase()}` : ''}`,
      bytes: step.bytes,
      ...step.calibration,
    })),
    {
      label: `${sizeLabel(result.uniformF16.bytes)} F16`,
      bytes: result.uniformF16.bytes,
      ...result.uniformF16.calibration,
    },
  ].sort((a, b) => a.bytes - b.bytes);
  const labels = points.map((point) => point.label);
  const subset = `${result.calibrationUtterances} calibration utterances`;
  const xLabel = 'GGUF size (MiB)';
  return [
    {
      title: `tune: size against ΔWER on ${subset}`,
      labels,
      xLabel,
      yLabel: 'ΔWER (points)',
      series: [{ name: 'ΔWER (calibration)', values: points.map((point) => point.deltaWer) }],
    },
    {
      title: `tune: size against mean KLD on ${subset}`,
      labels,
      xLabel,
      yLabel: 'mean KLD (nats)',
      series: [{ name: 'mean KLD (calibration)', values: points.map((point) => point.meanKld) }],
    },
  ];
}

/** MiB with three significant digits, whole MiB from 100 up: short enough for a chart's axis. */
function sizeLabel(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib >= 100 ? mib.toFixed(0) : String(Number(mib.toPrecision(3)));
}

/** The steps, the answer and its overrides, and what the search cost, for the terminal. */
export function renderTuneText(result: TuneResult): string {
  const header = ['step', 'promoted', 'type', 'size', 'of F16', 'cal. ΔWER', 'cal. KLD', 'full evaluation'];
  const rows = tableRows(result, (text) => text);
  const { seconds, calibrationPasses: passes } = result.cost;
  const confirmations = result.steps.filter((step) => step.confirmation).length;
  return [
    '',
    headline(result),
    '',
    ...ruledTable(header, rows, (column) => [1, 2, 7].includes(column)),
    '',
    ...answerLines(result),
    `cost: sensitivity ${formatDuration(seconds.sensitivity)}, ${passes} calibration passes ${formatDuration(seconds.calibration)}, ${confirmations} full evaluation${confirmations === 1 ? '' : 's'} ${formatDuration(seconds.confirmations)}`,
  ].join('\n');
}

/** The job summary's section: the verdict, the steps, the overrides to commit and both charts. */
export function renderTuneMarkdown(result: TuneResult): string {
  const rows = tableRows(result, escapeMarkdown);
  const parts = [
    `### quantgate tune: ${result.passed ? '✅' : '❌'} ${escapeMarkdown(headline(result))}`,
    markdownTable(
      [
        ['step', 'promoted', 'type', 'size', 'of F16', 'calibration ΔWER', 'calibration KLD', 'full evaluation'],
        ...rows,
      ],
      ['right', 'left', 'left', 'right', 'right', 'right', 'right', 'left'],
    ),
    answerLines(result)
      .filter((text) => !text.startsWith('  '))
      .map(escapeMarkdown)
      .join('<br>\n'),
  ];
  if (result.overrides.length > 0)
    parts.push(
      [
        'Commit these lines as the `tensor-type` input (or pass each as `--tensor-type`):',
        '',
        '```text',
        ...result.overrides,
        '```',
      ].join('\n'),
    );
  parts.push(...tuneCharts(result).map(mermaidChart));
  return `${parts.join('\n\n')}\n`;
}

function headline(result: TuneResult): string {
  const types = result.allowTypes.join(', ');
  const budget = [
    `ΔWER within ${result.budget.threshold.toFixed(2)} points (${result.budget.gateMode} mode)`,
    ...(result.budget.maxKld !== undefined ? [`mean KLD within ${formatNats(result.budget.maxKld)} nats`] : []),
  ].join(' and ');
  const search =
    result.target === 'smallest'
      ? `the smallest mix of ${types} with ${budget}`
      : `the lowest KLD of ${types} within ${formatBytes(result.budget.maxSizeBytes!)}, gated on ${budget}`;
  return `tune: ${search}; groups by ${result.sensitivity.grouping}, ranked by ${result.sensitivity.method} sensitivity on ${result.calibrationUtterances} utterances (${result.engine})`;
}

function tableRows(result: TuneResult, text: (value: string) => string): string[][] {
  const f16 = result.uniformF16.bytes;
  const row = (
    step: string,
    promoted: string,
    type: string,
    bytes: number,
    figures: TuneStep['calibration'],
    full: string,
  ) => [
    step,
    text(promoted),
    type,
    formatBytes(bytes),
    `${((100 * bytes) / f16).toFixed(1)}%`,
    formatPoints(figures.deltaWer),
    formatNats(figures.meanKld),
    text(full),
  ];
  return [
    ...result.steps.map((step) =>
      row(
        `${step.step}${step.step === result.chosen ? ' ←' : ''}`,
        step.group ?? '(every weight)',
        step.from ? `${step.from} → ${step.type}` : step.type,
        step.bytes,
        step.calibration,
        step.confirmation ? confirmationText(step.confirmation) : '',
      ),
    ),
    row('F16', '(uniform, for comparison)', 'f16', f16, result.uniformF16.calibration, ''),
  ];
}

function confirmationText(confirmation: Confirmation): string {
  const kld = confirmation.meanKld === undefined ? '' : `, KLD ${formatNats(confirmation.meanKld)}`;
  return `${confirmation.passed ? 'PASS' : 'FAIL'} ΔWER ${formatPoints(confirmation.deltaWer)} ${formatInterval(...confirmation.interval)}${kld}`;
}

/** One line: what the search found and whether it passed, for the log and the action's annotation. */
export function tuneVerdict(result: TuneResult): string {
  const { size, confirmed } = result;
  if (size.bytes === undefined) {
    const last = result.steps.at(-1)!;
    return `quantgate tune FAIL: no mix of ${result.allowTypes.join(', ')} reaches the budget: the widest tried, ${formatBytes(last.bytes)}, ${last.confirmation ? confirmationText(last.confirmation) : 'was not evaluated'}; raise the threshold${result.budget.maxKld !== undefined ? ' or max-kld' : ''}, or allow a wider type (allow-types)`;
  }
  const f16 = size.uniform.f16!;
  return `quantgate tune ${confirmed!.passed ? 'PASS' : 'FAIL'}: ${formatBytes(size.bytes)} (${((100 * size.bytes) / f16).toFixed(1)}% of uniform F16) with ${result.overrides.length} override${result.overrides.length === 1 ? '' : 's'}; ${confirmed!.reasons.join('; ')}`;
}

/** The tuned size against the uniform files, the confirmation, and the overrides; or why there is no answer. */
function answerLines(result: TuneResult): string[] {
  const { size, confirmed } = result;
  if (size.bytes === undefined) return [tuneVerdict(result)];
  const uniform = size.uniform[result.quantType]!;
  const f16 = size.uniform.f16!;
  const lines = [
    `tuned: ${formatBytes(size.bytes)}, ${((100 * size.bytes) / f16).toFixed(1)}% of uniform F16 (${formatBytes(f16)}), ${(size.bytes / uniform).toFixed(2)}× uniform ${result.quantType.toUpperCase()} (${formatBytes(uniform)})`,
    `confirmed on ${confirmed!.utterances} utterances: ${confirmationText(confirmed!)}; ${confirmed!.reasons.join('; ')}`,
  ];
  if (result.overrides.length === 0) lines.push(`overrides: none (uniform ${result.quantType} is within the budget)`);
  else
    lines.push(
      'overrides (--tensor-type, or one per line of the tensor-type input):',
      ...result.overrides.map((line) => `  ${line}`),
    );
  return lines;
}
