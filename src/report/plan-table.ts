// The tensor plan as a person reads it: one row per tensor (shape, source dtype, GGUF type, bytes,
// reason), the tensors left out, the totals before and after, and the file type the GGUF declares.

import { formatBytes } from '../common/format.js';
import { LLAMA_FILE_TYPE } from '../formats/gguf/constants.js';
import { formatTensorType, type TensorPlan } from '../quant/plan.js';
import { ruledTable } from './text-table.js';

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
  // Only the bytes are figures.
  const lines = ruledTable(header, rows, (column) => column !== 4);
  for (const skipped of plan.skipped) lines.push(`${skipped.name}  (left out: ${skipped.reason})`);
  lines.push('', formatPlanTotals(plan), `general.file_type ${plan.fileType} (${fileTypeName(plan.fileType)})`);
  return lines.join('\n');
}

/** llama.cpp's words for a file type: "all F32", else "mostly" and the type. */
function fileTypeName(fileType: number): string {
  const type = Object.entries(LLAMA_FILE_TYPE).find(([, value]) => value === fileType)?.[0] ?? `type ${fileType}`;
  return type === 'F32' ? 'all F32' : `mostly ${type}`;
}

/** The tensors per GGUF type, the overall change in size and any --tensor-type lines, for summaries. */
export function formatPlanTotals(plan: TensorPlan): string {
  const byType = Object.entries(plan.byType).map(
    ([type, totals]) => `${type}: ${totals.tensors} tensors, ${formatBytes(totals.bytes)}`,
  );
  const ratio = plan.bytes > 0 ? (plan.sourceBytes / plan.bytes).toFixed(2) : '∞';
  return [
    `${plan.tensors.length} tensors in the output, ${plan.skipped.length} left out; ${byType.join('; ')}`,
    `size ${formatBytes(plan.sourceBytes)} → ${formatBytes(plan.bytes)} (${ratio}× smaller)`,
    ...(plan.tensorTypes.length > 0
      ? [`--tensor-type ${plan.tensorTypes.map(formatTensorType).join(', ')} over --quant-type ${plan.requested}`]
      : []),
  ].join('\n');
}
