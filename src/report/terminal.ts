// The plain-text summary of a scored comparison, for terminals: the two systems' scores aligned in
// columns, the WER difference and verdict, the data set line, and the utterances whose errors
// changed most.

import { formatInteger, formatInterval, formatPercent, formatPoints } from '../scoring/figures.js';
import type { ScoredComparison } from '../scoring/types.js';
import {
  changedTitle,
  changedUtterances,
  datasetLine,
  DEFAULT_CHANGED_LIMIT,
  signed,
  type SummaryOptions,
} from './summary-content.js';

export function renderTextSummary(comparison: ScoredComparison, options: SummaryOptions = {}): string {
  const { delta, gate } = comparison;
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
  const widths = systems[0]!.map((_, column) => Math.max(...systems.map((row) => row[column]!.length)));
  const lines = systems.map((row) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
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
      lines.push(
        `  ${record.id}  ${signed(change)} ${Math.abs(change) === 1 ? 'error' : 'errors'}`,
        `    transcript: ${record.transcriptNormalized}`,
        `    reference:  ${record.reference.normalized}`,
        `    candidate:  ${record.candidate.normalized}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
