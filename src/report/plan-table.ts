// The tensor plan as a person reads it: one row per tensor (shape, source dtype, GGUF type, bytes,
// reason), the tensors left out, and the totals before and after.

import { formatBytes } from '../common/format.js';
import type { TensorPlan } from '../quant/plan.js';

export function formatPlanTable(plan: TensorPlan): string {
  const header = ['tensor', 'shape', 'from', 'to', 'bytes', 'why'];
  const rows = plan.tensors.map((tensor) => [
    tensor.name,
    `[${tensor.shape.join(', ')}]`,
    tensor.sourceDtype,
    tensor.type,
    formatBytes(tensor.bytes),
    tensor.reason,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 4 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
  for (const skipped of plan.skipped) lines.push(`${skipped.name}  (left out: ${skipped.reason})`);
  lines.push('', formatPlanTotals(plan));
  return lines.join('\n');
}

/** One line per GGUF type and the overall change in size, for summaries. */
export function formatPlanTotals(plan: TensorPlan): string {
  const byType = Object.entries(plan.byType).map(
    ([type, totals]) => `${type}: ${totals.tensors} tensors, ${formatBytes(totals.bytes)}`,
  );
  const ratio = plan.bytes > 0 ? (plan.sourceBytes / plan.bytes).toFixed(2) : '∞';
  return [
    `${plan.tensors.length} tensors in the output, ${plan.skipped.length} left out; ${byType.join('; ')}`,
    `size ${formatBytes(plan.sourceBytes)} → ${formatBytes(plan.bytes)} (${ratio}× smaller)`,
  ].join('\n');
}
