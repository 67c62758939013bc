// The plain-text summary of a scored comparison, for terminals: the two systems' scores aligned in
// columns, the token-level damage when it was measured, the WER difference and each gate's
// verdict, the data set line, the utterances whose errors changed most and those of largest KLD.

import { formatInteger, formatInterval, formatPercent, formatPoints } from '../scoring/figures.js';
import type { ScoredComparison, UtteranceRecord } from '../scoring/types.js';
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
  overallVerdictText,
  percentilesNote,
  reuseText,
  tokenGateText,
  unavailableText,
} from './token-content.js';
import { sensitivityLines } from './sensitivity-content.js';
import { alignColumns } from './text-table.js';

export function renderTextSummary(comparison: ScoredComparison, options: SummaryOptions = {}): string {
  const { delta, gate, kld } = comparison;
  const systems = [
    ['', 'WER', 'S', 'D', 'I', 'words'],
    ...(['reference', 'candidate'] as const).map((name) => {
      const score = comparison[name];
      return [
        name,
        formatPercent(score.werPercent),
        ...[score.substitutions, score.deletions, score.insertions, score.referenceWords].map(formatInteger),
      ];
    }),
  ];
  const lines = alignColumns(systems, labelsFirst);
  if (kld?.available) {
    lines.push('', ...alignColumns([KLD_HEADER, kldRow(kld)], () => false));
    const note = percentilesNote(kld);
    if (note !== undefined) lines.push(note);
  }
  lines.push(
    '',
    `ΔWER ${formatPoints(delta.points)} points, ${Math.round(delta.confidence * 100)}% interval ${formatInterval(delta.low, delta.high)}, P(candidate worse) ${delta.probabilityWorse.toFixed(3)}`,
  );
  if (kld && !kld.available) lines.push(`Token metrics: ${unavailableText(kld.reason)}`);
  const werLine = `${gate.verdict.toUpperCase()} (${gate.mode} mode, threshold ${gate.thresholdPoints.toFixed(2)} points): ${gate.reason}`;
  const tokenGates = comparison.tokenGates ?? [];
  if (tokenGates.length === 0) {
    lines.push(werLine);
  } else {
    lines.push(
      `WER gate ${werLine}`,
      ...tokenGates.map((token) => `${token.gate} gate ${tokenGateText(token)}`),
      `Verdict ${overallVerdictText(comparison)}`,
    );
  }
  const reuse = reuseText(comparison.run);
  if (reuse !== undefined) lines.push(reuse);
  lines.push(datasetLine(comparison));
  const changed = changedUtterances(comparison.utterances);
  if (changed.length > 0) {
    const shown = changed.slice(0, options.changedLimit ?? DEFAULT_CHANGED_LIMIT);
    lines.push('', `${changedTitle(shown.length, changed.length, comparison.utteranceCount)}:`);
    for (const { record, change } of shown) {
      lines.push(
        `  ${record.id}  ${signed(change)} ${Math.abs(change) === 1 ? 'error' : 'errors'}`,
        `    transcript: ${record.transcriptNormalized}`,
        `    reference:  ${record.reference.normalized}`,
        `    candidate:  ${record.candidate.normalized}`,
      );
    }
  }
  lines.push(...largestKldLines(comparison.utterances), ...sensitivityLines(comparison.sensitivity));
  return `${lines.join('\n')}\n`;
}

/** The utterances of largest KLD under their title, after a blank line; nothing when none was measured. */
export function largestKldLines(utterances: readonly UtteranceRecord[]): string[] {
  const damaged = largestKld(utterances);
  if (damaged.length === 0) return [];
  const shown = damaged.slice(0, LARGEST_KLD_SHOWN);
  return [
    '',
    `${largestKldTitle(shown.length, damaged.length)}:`,
    ...alignColumns([LARGEST_KLD_HEADER, ...shown.map(largestKldCells)], labelsFirst).map((line) => `  ${line}`),
  ];
}

/** Figures right-aligned, the first column's labels left-aligned. */
function labelsFirst(column: number): boolean {
  return column === 0;
}
