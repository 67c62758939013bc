// The markdown summary of a scored comparison, for GitHub job summaries and pull-request comments:
// the verdict table, a data set line, and the utterances whose errors changed most, folded in
// <details>. Text from transcripts is escaped so that it shows as written.

import { formatInteger, formatInterval, formatPercent, formatPoints } from '../scoring/figures.js';
import type { ScoredComparison } from '../scoring/types.js';
import type { SystemScore } from '../scoring/wer.js';
import {
  changedTitle,
  changedUtterances,
  datasetLine,
  DEFAULT_CHANGED_LIMIT,
  signed,
  type SummaryOptions,
} from './summary-content.js';

export function renderMarkdownSummary(comparison: ScoredComparison, options: SummaryOptions = {}): string {
  const { delta, gate } = comparison;
  const verdict = gate.verdict === 'pass' ? '✅ PASS' : '❌ FAIL';
  const level = `${Math.round(delta.confidence * 100)}%`;
  const table = [
    ['reference WER', 'candidate WER', 'ΔWER (points)', `${level} interval`, 'P(worse)', 'threshold', 'verdict'],
    [
      systemCell(comparison.reference),
      systemCell(comparison.candidate),
      formatPoints(delta.points),
      formatInterval(delta.low, delta.high),
      delta.probabilityWorse.toFixed(3),
      `${gate.thresholdPoints.toFixed(2)} (${gate.mode})`,
      `**${verdict}**`,
    ],
  ];
  const parts = [
    `### quantgate WER gate: ${verdict}`,
    markdownTable(table, ['right', 'right', 'right', 'center', 'right', 'right', 'center']),
    `${gate.reason}.`,
    datasetLine(comparison),
  ];
  const changed = changedUtterances(comparison.utterances);
  if (changed.length > 0) {
    const shown = changed.slice(0, options.changedLimit ?? DEFAULT_CHANGED_LIMIT);
    const rows = shown.map(({ record, change }) => [
      `\`${escapeCode(record.id)}\``,
      signed(change),
      escapeMarkdown(record.transcriptNormalized),
      escapeMarkdown(record.reference.normalized),
      escapeMarkdown(record.candidate.normalized),
    ]);
    parts.push(
      [
        `<details><summary>${changedTitle(shown.length, changed.length, comparison.utteranceCount)}</summary>`,
        '',
        markdownTable(
          [['id', 'Δ errors', 'transcript', 'reference hypothesis', 'candidate hypothesis'], ...rows],
          ['left', 'right', 'left', 'left', 'left'],
        ),
        '',
        '</details>',
      ].join('\n'),
    );
  }
  return `${parts.join('\n\n')}\n`;
}

function systemCell(score: SystemScore): string {
  return `${formatPercent(score.werPercent)} (S ${formatInteger(score.substitutions)}, D ${formatInteger(score.deletions)}, I ${formatInteger(score.insertions)})`;
}

/** A table of `rows` (the first is the header), cells already escaped, each column aligned as `align` says. */
export function markdownTable(rows: string[][], align: ('left' | 'right' | 'center')[]): string {
  const rule = align.map((side) => ({ left: ':---', right: '---:', center: ':---:' })[side]);
  return [rows[0]!, rule, ...rows.slice(1)].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

/** Text inside a table cell: no markdown or HTML is interpreted and the row stays one line. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_[\]|~#]/g, (char) => `\\${char}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\s+/g, ' ');
}

function escapeCode(text: string): string {
  return text.replace(/`/g, "'").replace(/\|/g, '\\|');
}
