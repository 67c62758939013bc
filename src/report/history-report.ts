// The gate's history for people: the recorded runs as a terminal table (`quantgate history`), and
// the job summary's and PR comment's history section — the head against the base branch's latest
// record (Δ of each WER, of ΔWER and of the size, or why the two cannot be compared) and the
// Mermaid charts of the last runs.

import { formatBytes } from '../common/format.js';
import type { BaseComparison, HistoryRecord } from '../publish/history.js';
import { historyCharts } from '../publish/history.js';
import { formatInterval, formatPercent, formatPoints } from '../scoring/figures.js';
import { mermaidChart } from './charts.js';
import { escapeMarkdown, markdownTable } from './markdown.js';
import { alignColumns } from './text-table.js';

/** The records as aligned columns, oldest first: when, commit, both WERs, ΔWER with its interval, size, device. */
export function renderHistoryTable(records: readonly HistoryRecord[]): string {
  const rows = [
    ['time', 'commit', 'model revision', 'reference', 'candidate', 'ΔWER', 'interval', 'size', 'device'],
    ...records.map((record) => [
      record.time.replace(/\.\d+Z$/, 'Z'),
      record.commit.slice(0, 7),
      record.model.revision?.slice(0, 7) ?? '—',
      formatPercent(record.wer.reference),
      formatPercent(record.wer.candidate),
      formatPoints(record.wer.delta),
      formatInterval(...record.wer.interval),
      formatBytes(record.sizes.outputBytes),
      record.device,
    ]),
  ];
  const numeric = new Set([3, 4, 5, 7]);
  return `${alignColumns(rows, (column) => !numeric.has(column)).join('\n')}\n`;
}

export interface HistorySection {
  /** This run's record. */
  head: HistoryRecord;
  /** This run against the base branch's latest record. */
  base: BaseComparison;
  /** The records charted, this run's last when it was recorded. */
  records: readonly HistoryRecord[];
  /** How many runs the charts show. */
  last: number;
}

/** The markdown section: the base comparison, then the WER and size charts when there is a history to draw. */
export function renderHistorySection(section: HistorySection): string {
  const parts = ['#### Against the base branch', baseComparisonMarkdown(section.head, section.base)];
  if (section.records.length > 0) {
    const charts = historyCharts(section.records, section.last);
    parts.push('#### History', mermaidChart(charts.wer), mermaidChart(charts.size));
  }
  return parts.join('\n\n');
}

function baseComparisonMarkdown(head: HistoryRecord, comparison: BaseComparison): string {
  if (!comparison.comparable) {
    const base = comparison.base ? ` (latest record: ${comparison.base.commit.slice(0, 7)})` : '';
    return `${escapeMarkdown(capitalised(comparison.reason))}${base}.`;
  }
  const { base } = comparison;
  const row = (label: string, before: string, after: string, change: string) => [label, before, after, change];
  const rows = [
    ['', `base (${base.commit.slice(0, 7)})`, `head (${head.commit.slice(0, 7)})`, 'Δ'],
    row(
      'reference WER',
      formatPercent(base.wer.reference),
      formatPercent(head.wer.reference),
      `${formatPoints(comparison.referenceWer)} points`,
    ),
    row(
      'candidate WER',
      formatPercent(base.wer.candidate),
      formatPercent(head.wer.candidate),
      `${formatPoints(comparison.candidateWer)} points`,
    ),
    row(
      'ΔWER',
      formatPoints(base.wer.delta),
      formatPoints(head.wer.delta),
      `${formatPoints(comparison.deltaWer)} points`,
    ),
    row(
      'size',
      formatBytes(base.sizes.outputBytes),
      formatBytes(head.sizes.outputBytes),
      `${comparison.outputBytes > 0 ? '+' : comparison.outputBytes < 0 ? '-' : ''}${formatBytes(Math.abs(comparison.outputBytes))}`,
    ),
  ];
  return markdownTable(rows, ['left', 'right', 'right', 'right']);
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
