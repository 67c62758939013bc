// Summaries of a scored comparison: markdown for GitHub job summaries and pull-request comments
// (the verdict table, a data set line, and the utterances whose errors changed most, folded in
// <details>), and the same content as aligned plain text for terminals.

import { formatInteger, formatInterval, formatPercent, formatPoints, formatQuantity } from '../scoring/figures.js';
import type { ScoredComparison, UtteranceRecord } from '../scoring/types.js';
import { errorsOf, type SystemScore } from '../scoring/wer.js';

const DEFAULT_CHANGED_LIMIT = 10;

export interface SummaryOptions {
  /** How many changed utterances to list (default 10). */
  changedLimit?: number;
}

interface ChangedUtterance {
  record: UtteranceRecord;
  /** Candidate errors minus reference errors. */
  change: number;
}

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
  const parts = [`### quantgate WER gate: ${verdict}`, markdownTable(table, ['right', 'right', 'right', 'center', 'right', 'right', 'center']), `${gate.reason}.`, datasetLine(comparison)];
  const changed = changedUtterances(comparison.utterances);
  if (changed.length > 0) {
    const shown = changed.slice(0, options.changedLimit ?? DEFAULT_CHANGED_LIMIT);
    const rows = shown.map(({ record, change }) => [`\`${escapeCode(record.id)}\``, signed(change), escapeMarkdown(record.transcriptNormalized), escapeMarkdown(record.reference.normalized), escapeMarkdown(record.candidate.normalized)]);
    parts.push(
      [
        `<details><summary>${changedTitle(shown.length, changed.length, comparison.utteranceCount)}</summary>`,
        '',
        markdownTable([['id', 'Δ errors', 'transcript', 'reference hypothesis', 'candidate hypothesis'], ...rows], ['left', 'right', 'left', 'left', 'left']),
        '',
        '</details>',
      ].join('\n'),
    );
  }
  return `${parts.join('\n\n')}\n`;
}

export function renderTextSummary(comparison: ScoredComparison, options: SummaryOptions = {}): string {
  const { delta, gate } = comparison;
  const systems = [
    ['', 'WER', 'S', 'D', 'I', 'words'],
    ...(['reference', 'candidate'] as const).map((name) => {
      const score = comparison[name];
      return [name, formatPercent(score.werPercent), ...[score.substitutions, score.deletions, score.insertions, score.referenceWords].map(formatInteger)];
    }),
  ];
  const widths = systems[0]!.map((_, column) => Math.max(...systems.map((row) => row[column]!.length)));
  const lines = systems.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd());
  lines.push(
    '',
    `ΔWER ${formatPoints(delta.points)} points, ${Math.round(delta.confidence * 100)}% interval ${formatInterval(delta.low, delta.high)}, P(candidate worse) ${delta.probabilityWorse.toFixed(3)}`,
    `${gate.verdict.toUpperCase()} (${gate.mode} mode, threshold ${gate.thresholdPoints.toFixed(2)} points): ${gate.reason}`,
    datasetLine(comparison),
  );
  const changed = changedUtterances(comparison.utterances);
  if (changed.length > 0) {
    const shown = changed.slice(0, options.changedLimit ?? DEFAULT_CHANGED_LIMIT);
    lines.push('', `${changedTitle(shown.length, changed.length, comparison.utteranceCount)}:`);
    for (const { record, change } of shown) {
      lines.push(`  ${record.id}  ${signed(change)} ${Math.abs(change) === 1 ? 'error' : 'errors'}`, `    transcript: ${record.transcriptNormalized}`, `    reference:  ${record.reference.normalized}`, `    candidate:  ${record.candidate.normalized}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Utterances whose error count differs between the systems: regressions worst first, then improvements largest first. */
function changedUtterances(utterances: readonly UtteranceRecord[]): ChangedUtterance[] {
  const changed = utterances
    .map((record) => ({ record, change: errorsOf(record.candidate.counts) - errorsOf(record.reference.counts) }))
    .filter(({ change }) => change !== 0);
  return changed.sort((a, b) => {
    if (a.change > 0 !== b.change > 0) return a.change > 0 ? -1 : 1;
    return Math.abs(b.change) - Math.abs(a.change) || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0);
  });
}

function changedTitle(shown: number, changed: number, total: number): string {
  return `Utterances whose error count changed most (${shown} of ${formatInteger(changed)} changed, of ${formatInteger(total)} scored)`;
}

function datasetLine(comparison: ScoredComparison): string {
  const { dataset } = comparison;
  const name = [dataset.name, dataset.config && `(${dataset.config})`, dataset.split, dataset.revision && `@ ${dataset.revision.slice(0, 12)}`].filter(Boolean).join(' ');
  const facts = [
    name,
    formatQuantity(comparison.utteranceCount, 'utterance'),
    formatQuantity(comparison.wordCount, 'word'),
    `${comparison.normalizer} normalizer`,
    comparison.droppedEmptyIds.length > 0 && `${formatQuantity(comparison.droppedEmptyIds.length, 'empty reference')} dropped`,
    comparison.failedUtterances.length > 0 && formatQuantity(comparison.failedUtterances.length, 'failed utterance'),
  ];
  return `Data set: ${facts.filter(Boolean).join(' · ')}`;
}

function systemCell(score: SystemScore): string {
  return `${formatPercent(score.werPercent)} (S ${formatInteger(score.substitutions)}, D ${formatInteger(score.deletions)}, I ${formatInteger(score.insertions)})`;
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
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
