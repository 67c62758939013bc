// The sensitivity ranking a run keeps after its gate (`run --sensitivity`), as every report shows
// it: a title saying what was measured and on what, and one row per group: rank, group,
// parameters, bytes saved against F16, the score and its share.

import { formatBytes, formatCount } from '../common/format.js';
import type { RankedGroup, SensitivitySummary } from '../scoring/types.js';
import { alignColumns } from './text-table.js';

export const SENSITIVITY_HEADER = ['#', 'group', 'parameters', 'saved vs F16', 'score', 'share'];

/** What was ranked, by what, on what: the line above the table. */
export function sensitivityTitle(summary: SensitivitySummary): string {
  const metric =
    summary.metric === 'output-error'
      ? 'relative output error ‖(W − Q(W))·x‖² / ‖W·x‖² on inputs sampled from the reference'
      : 'mean KLD with only the group quantized';
  return `Most sensitive tensors (sensitivity --method ${summary.method}, ${summary.grouping} groups): the first ${summary.top.length} of ${summary.groups} by ${metric}, on the first ${summary.calibrationUtterances} utterances`;
}

/** One row per group: rank, group, parameters, bytes saved, score, share. */
export function rankedGroupRows(groups: readonly RankedGroup[]): string[][] {
  return groups.map((group) => [
    String(group.rank),
    group.group,
    formatCount(group.parameters),
    formatBytes(group.bytesSaved),
    group.score.toPrecision(4),
    `${(group.share * 100).toFixed(1)}%`,
  ]);
}

/** The title and the table as aligned plain text, after a blank line; nothing without a ranking. */
export function sensitivityLines(summary: SensitivitySummary | undefined): string[] {
  if (!summary) return [];
  const lines = alignColumns([SENSITIVITY_HEADER, ...rankedGroupRows(summary.top)], groupColumn);
  return ['', `${sensitivityTitle(summary)}:`, ...lines.map((line) => `  ${line}`)];
}

/** The group's name is the one column left-aligned. */
export function groupColumn(column: number): boolean {
  return column === 1;
}
