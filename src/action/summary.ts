// The job summary (and pull-request comment) of an evaluation: the verdict table, data set line and
// worst utterances of the report's markdown summary, then how the run was made — model and
// revision, engine and device, the quantization's sizes before and after, where the outputs went —
// the run against the base branch's latest record with the history's charts, and how long each
// stage took (per shard, for merged results).

import * as core from '@actions/core';
import { formatDuration } from '../common/format.js';
import type { ShardRun } from '../scoring/merge.js';
import type { TensorPlan } from '../quant/plan.js';
import { renderHistorySection, type HistorySection } from '../report/history-report.js';
import { renderMarkdownSummary } from '../report/markdown.js';
import { formatPlanTotals } from '../report/plan-table.js';
import type { ScoredComparison } from '../scoring/types.js';

export interface JobSummary {
  comparison: ScoredComparison;
  /** `i/n` when these are one shard's partial results. */
  partialShard?: string;
  plan?: TensorPlan;
  /** Where things were published, as [label, URL]. */
  links?: readonly [string, string][];
  /** The base comparison and the charts, when the history is kept. */
  history?: HistorySection;
}

export function renderJobSummary(summary: JobSummary): string {
  const { comparison } = summary;
  const parts: string[] = [];
  if (summary.partialShard !== undefined) {
    parts.push(
      `> [!NOTE]\n> Partial results of shard ${summary.partialShard}: the gate is decided when the merge job combines every shard.`,
    );
  }
  parts.push(renderMarkdownSummary(comparison).trimEnd());
  parts.push(['#### Run', '', table(['', ''], runRows(summary), 'left')].join('\n'));
  if (summary.history) parts.push(renderHistorySection(summary.history));
  const timings = timingTable(comparison);
  if (timings !== undefined) parts.push(['#### Timings', '', timings].join('\n'));
  return `${parts.join('\n\n')}\n`;
}

/** Appends `markdown` to the job's summary page; outside a workflow there is none, and the log says so. */
export async function writeJobSummary(markdown: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (!env.GITHUB_STEP_SUMMARY) {
    core.info('no job summary written: GITHUB_STEP_SUMMARY is unset (not running in a GitHub Actions job)');
    return;
  }
  await core.summary.addRaw(markdown).write();
}

function runRows(summary: JobSummary): string[][] {
  const { run } = summary.comparison;
  const rows: string[][] = [];
  if (run.modelId !== undefined)
    rows.push(['model', `\`${run.modelId}\`${run.modelRevision ? ` @ \`${run.modelRevision}\`` : ''}`]);
  if (run.engine !== undefined) rows.push(['engine', `${run.engine}${run.device ? ` on ${run.device}` : ''}`]);
  if (summary.plan)
    rows.push([
      'quantization',
      `${summary.plan.requested.toUpperCase()}: ${formatPlanTotals(summary.plan).split('\n').join('<br>')}`,
    ]);
  for (const [label, url] of summary.links ?? []) rows.push([label, url]);
  return rows;
}

/** Seconds per stage: one row for a single job, one row per shard for merged results. */
function timingTable(comparison: ScoredComparison): string | undefined {
  const shards = comparison.run.shards as ShardRun[] | undefined;
  const rows: { label: string; seconds: Record<string, number> }[] = shards
    ? shards
        .filter((shard) => shard.stageSeconds)
        .map((shard) => ({
          label: `shard ${shard.shard}${shard.device ? ` (${shard.device})` : ''}`,
          seconds: shard.stageSeconds!,
        }))
    : comparison.run.stageSeconds
      ? [{ label: 'this job', seconds: comparison.run.stageSeconds }]
      : [];
  if (rows.length === 0) return undefined;
  const stages = [...new Set(rows.flatMap((row) => Object.keys(row.seconds)))];
  const total = (seconds: Record<string, number>) => Object.values(seconds).reduce((sum, value) => sum + value, 0);
  return table(
    ['', ...stages, 'total'],
    rows.map((row) => [
      row.label,
      ...stages.map((stage) => (row.seconds[stage] === undefined ? '—' : formatDuration(row.seconds[stage]!))),
      formatDuration(total(row.seconds)),
    ]),
  );
}

/** A markdown table whose first column is left-aligned and the others as `align` says. */
function table(header: string[], rows: string[][], align: 'left' | 'right' = 'right'): string {
  const rule = header.map((_, column) => (column === 0 || align === 'left' ? ':---' : '---:'));
  return [header, rule, ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}
