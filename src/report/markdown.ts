// The markdown summary of a scored comparison, for GitHub job summaries and pull-request comments:
// the verdict table, the token-level damage when it was measured and each gate set beside the WER
// gate, a data set line, and the utterances whose errors changed most and those of largest KLD,
// folded in <details>. Text from transcripts is escaped so that it shows as written.

import { formatInteger, formatInterval, formatPercent, formatPoints } from '../scoring/figures.js';
import { verdictOf } from '../scoring/token-gate.js';
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
import {
  KLD_HEADER,
  kldRow,
  largestKld,
  largestKldCells,
  LARGEST_KLD_HEADER,
  LARGEST_KLD_SHOWN,
  largestKldTitle,
  percentilesNote,
  reuseText,
  unavailableText,
} from './token-content.js';
import { rankedGroupRows, SENSITIVITY_HEADER, sensitivityTitle } from './sensitivity-content.js';

export function renderMarkdownSummary(comparison: ScoredComparison, options: SummaryOptions = {}): string {
  const { delta, gate, kld } = comparison;
  const tokenGates = comparison.tokenGates ?? [];
  const verdict = verdictMark(gate.verdict);
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
  // The heading gives the verdict over every gate; the table keeps the WER gate's own.
  const parts = [
    tokenGates.length === 0
      ? `### quantgate WER gate: ${verdict}`
      : `### quantgate gates: ${verdictMark(verdictOf(comparison))}`,
    markdownTable(table, ['right', 'right', 'right', 'center', 'right', 'right', 'center']),
  ];
  if (kld?.available) {
    parts.push(
      markdownTable(
        [KLD_HEADER, kldRow(kld)],
        ['right', 'center', 'right', 'right', 'right', 'right', 'right', 'right'],
      ),
    );
    const note = percentilesNote(kld);
    if (note !== undefined) parts.push(note);
  } else if (kld) {
    parts.push(`Token metrics (KLD, same top-1): ${escapeMarkdown(unavailableText(kld.reason))}.`);
  }
  if (tokenGates.length === 0) {
    parts.push(`${gate.reason}.`);
  } else {
    parts.push(
      [
        `- WER gate ${verdict}: ${gate.reason}.`,
        ...tokenGates.map((token) => `- ${token.gate} gate ${verdictMark(token.verdict)}: ${token.reason}.`),
      ].join('\n'),
    );
  }
  const reuse = reuseText(comparison.run);
  if (reuse !== undefined) parts.push(`${reuse.charAt(0).toUpperCase()}${reuse.slice(1)}.`);
  parts.push(datasetLine(comparison));
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
  const damaged = largestKld(comparison.utterances);
  if (damaged.length > 0) {
    const shown = damaged.slice(0, LARGEST_KLD_SHOWN);
    const rows = shown.map((entry) => {
      const [id, ...figures] = largestKldCells(entry);
      return [`\`${escapeCode(id!)}\``, ...figures];
    });
    parts.push(
      [
        `<details><summary>${largestKldTitle(shown.length, damaged.length)}</summary>`,
        '',
        markdownTable([LARGEST_KLD_HEADER, ...rows], ['left', 'right', 'right', 'right']),
        '',
        '</details>',
      ].join('\n'),
    );
  }
  if (comparison.sensitivity) {
    const rows = rankedGroupRows(comparison.sensitivity.top).map(([rank, group, ...figures]) => [
      rank!,
      `\`${escapeCode(group!)}\``,
      ...figures,
    ]);
    parts.push(
      [
        `<details open><summary>${escapeMarkdown(sensitivityTitle(comparison.sensitivity))}</summary>`,
        '',
        markdownTable([SENSITIVITY_HEADER, ...rows], ['right', 'left', 'right', 'right', 'right', 'right']),
        '',
        '</details>',
      ].join('\n'),
    );
  }
  return `${parts.join('\n\n')}\n`;
}

function verdictMark(verdict: 'pass' | 'fail'): string {
  return verdict === 'pass' ? '✅ PASS' : '❌ FAIL';
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
