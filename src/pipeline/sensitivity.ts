// `quantgate sensitivity`: how much quantizing each group of tensors alone costs. Both methods run
// the reference once on a calibration subset.
//   fast (the default): the reference also hands over a sample of the inputs of every quantized
//     weight; a group's score is the relative error its rounding makes in its layers' outputs on
//     those inputs, Σ ‖(W − Q(W)) x‖² / Σ ‖W x‖² over the group's weights and inputs (output-error.ts).
//     One product per weight and input, and no candidate pass.
//   exact: for each group, a GGUF where only that group's weights take the type the plan gives them
//     and every other tensor stays F32 (exact for F32, F16 and BF16 sources) runs against the
//     reference's steps, and the group's score is the mean KL divergence per step. One candidate
//     pass per group; the reference and the decoded audio are shared by every pass.

import { QuantgateError } from '../common/errors.js';
import { silentProgress } from '../common/progress.js';
import { tensorByteSize, type GgmlTypeName } from '../formats/gguf/constants.js';
import type { PlannedTensor, QuantType, TensorTypeOverride } from '../quant/plan.js';
import type { RankedGroup } from '../scoring/types.js';
import { Calibration, type CalibrationCandidate } from './calibration.js';
import type { RunOptions } from './options.js';
import { measureOutputErrors } from './output-error.js';
import type { RunContext } from './run.js';

export const SENSITIVITY_METHODS = ['fast', 'exact'] as const;
export type SensitivityMethod = (typeof SENSITIVITY_METHODS)[number];
export const DEFAULT_SENSITIVITY_METHOD: SensitivityMethod = 'fast';

/** What the score is: the relative output error (fast), or the mean KL divergence per step (exact). */
export type SensitivityMetric = 'output-error' | 'mean-kld';
const METRICS: Record<SensitivityMethod, SensitivityMetric> = { fast: 'output-error', exact: 'mean-kld' };

export const SENSITIVITY_GROUPINGS = ['tensor', 'layer'] as const;
export type SensitivityGrouping = (typeof SENSITIVITY_GROUPINGS)[number];

/**
 * The type a weight falls back to when it cannot take the type asked for (plan.ts): the bytes a
 * group saves are counted against it, since a weight left unquantized would ship in it.
 */
export const FALLBACK_TYPE: GgmlTypeName = 'F16';

/** The types whose rounding is measured: the block types. F16 and F32 weights are not groups. */
const MEASURED_TYPES: readonly GgmlTypeName[] = ['Q4_0', 'Q8_0'];

export interface SensitivityOptions {
  /** The model, the quantization, the dataset and the engine, as `run` reads them; `maxSamples` is ignored. */
  run: RunOptions;
  method: SensitivityMethod;
  grouping: SensitivityGrouping;
  /** The first N utterances of the dataset selection. */
  calibrationSamples: number;
}

export interface GroupSensitivity extends RankedGroup {
  /** The quantized tensors in the group, in the model's order. */
  tensors: string[];
}

export interface SensitivityResult {
  method: SensitivityMethod;
  metric: SensitivityMetric;
  grouping: SensitivityGrouping;
  quantType: QuantType;
  fallbackType: GgmlTypeName;
  engine: string;
  /** Utterances the reference transcribed, which every candidate pass reads. */
  calibrationUtterances: number;
  /** Most sensitive first; ties in name order, so the ranking is the same on every run. */
  groups: GroupSensitivity[];
  /** Wall-clock seconds of the reference pass and of the scoring (the products, or the candidate passes): kept out of the JSON so that two runs give the same file. */
  seconds: { reference: number; groups: number };
}

/**
 * Opens the calibration `measureSensitivity` needs, and the groups it ranks; the caller closes it.
 * With `method` fast the reference also samples the inputs of the groups' weights.
 */
export async function openSensitivity(
  options: SensitivityOptions,
  context: RunContext = {},
): Promise<{ calibration: Calibration; groups: TensorGroup[] }> {
  let groups: TensorGroup[] = [];
  const capture =
    options.method === 'fast' ? { activations: () => groups.flatMap((group) => group.tensors) } : undefined;
  const calibration = await Calibration.open(
    options.run,
    options.calibrationSamples,
    (plan) => {
      groups = groupTensors(
        plan.tensors.filter((tensor) => MEASURED_TYPES.includes(tensor.type)),
        options.grouping,
      );
      if (groups.length === 0)
        throw new QuantgateError(
          `the plan gives no weight a block type (${MEASURED_TYPES.join(', ')}), so there is nothing to measure; use --quant-type q4_0 or q8_0`,
        );
      // Fast runs no candidate: the memory check reads the plan's own file, which tune measures first.
      return options.method === 'fast'
        ? { type: options.run.quantType, tensorTypes: options.run.tensorTypes }
        : groupCandidate(groups[0]!);
    },
    context,
    capture,
  );
  return { calibration, groups };
}

/** Scores and ranks `groups` on an open calibration. */
export async function measureSensitivity(
  calibration: Calibration,
  groups: readonly TensorGroup[],
  options: Pick<SensitivityOptions, 'method' | 'grouping'>,
  context: Pick<RunContext, 'progress' | 'signal'> = {},
): Promise<SensitivityResult> {
  const started = performance.now();
  const scores =
    options.method === 'fast'
      ? await outputErrorScores(calibration, groups, context)
      : await klDivergenceScores(calibration, groups, context);
  return {
    method: options.method,
    metric: METRICS[options.method],
    grouping: options.grouping,
    quantType: calibration.run.quantType,
    fallbackType: FALLBACK_TYPE,
    engine: calibration.factory.name,
    calibrationUtterances: calibration.utterances,
    groups: rankGroups(groups, scores),
    seconds: { reference: calibration.referenceSeconds, groups: (performance.now() - started) / 1000 },
  };
}

export async function runSensitivity(
  options: SensitivityOptions,
  context: RunContext = {},
): Promise<SensitivityResult> {
  const { calibration, groups } = await openSensitivity(options, context);
  try {
    return await measureSensitivity(calibration, groups, options, context);
  } finally {
    await calibration.close();
  }
}

/** Each group's mean KLD with only that group quantized: one candidate pass per group. */
async function klDivergenceScores(
  calibration: Calibration,
  groups: readonly TensorGroup[],
  context: Pick<RunContext, 'progress' | 'signal'>,
): Promise<number[]> {
  const task = (context.progress ?? silentProgress).task('sensitivity (exact, one candidate pass per group)', {
    total: groups.length,
    unitName: 'groups',
  });
  const scores: number[] = [];
  for (const group of groups) {
    scores.push((await calibration.measure(groupCandidate(group), context.signal)).meanKld);
    task.advance(1);
  }
  task.finish();
  return scores;
}

/** Each group's relative output error: the sum of its weights' error sums over the sum of their reference sums. */
async function outputErrorScores(
  calibration: Calibration,
  groups: readonly TensorGroup[],
  context: Pick<RunContext, 'progress' | 'signal'>,
): Promise<number[]> {
  const sample = calibration.activations;
  if (!sample) throw new Error('--method fast needs a calibration opened by openSensitivity with method fast');
  const unseen = sample.unseen;
  if (unseen.length > 0)
    throw new QuantgateError(
      `the reference's pass never read ${unseen.slice(0, 3).join(', ')}${unseen.length > 3 ? ` and ${unseen.length - 3} more` : ''}, so --method fast has no inputs to score them on; use --method exact`,
    );
  const errors = await measureOutputErrors(
    calibration.model.dir,
    groups.flatMap((group) => group.tensors),
    sample,
    { threads: calibration.run.threads, ...context },
  );
  return groups.map((group) => {
    const sums = group.tensors.map((tensor) => errors.get(tensor.name)!);
    const reference = sums.reduce((sum, each) => sum + each.reference, 0);
    return reference > 0 ? sums.reduce((sum, each) => sum + each.error, 0) / reference : 0;
  });
}

/** Only `group` at its planned types, every other tensor F32. */
function groupCandidate(group: TensorGroup): CalibrationCandidate {
  return { type: 'f32', tensorTypes: group.tensors.map(literalOverride) };
}

/** A group's quantized tensors, in the model's order. */
export interface TensorGroup {
  name: string;
  tensors: PlannedTensor[];
}

/**
 * Groups in the order their first tensor appears: one per tensor, or by layer and role. By layer,
 * a tensor name with a numeric segment (the layer index) followed by at least two more segments
 * belongs to the glob of everything up to the segment after the index (the role) and `*` in place
 * of the rest: `layers.7.ffn.up.weight` and `layers.7.ffn.down.weight` make `layers.7.ffn.*`,
 * `layers.7.conv.weight` makes `layers.7.conv.*`. Any other name (`ctc_head.weight`) is a group of
 * its own.
 */
export function groupTensors(tensors: readonly PlannedTensor[], grouping: SensitivityGrouping): TensorGroup[] {
  const groups = new Map<string, PlannedTensor[]>();
  for (const tensor of tensors) {
    const name = grouping === 'layer' ? layerGroupOf(tensor.name) : tensor.name;
    const members = groups.get(name);
    if (members) members.push(tensor);
    else groups.set(name, [tensor]);
  }
  return [...groups].map(([name, members]) => ({ name, tensors: members }));
}

/** The layer-and-role glob of a tensor name, or the name itself when it has no layer index. */
export function layerGroupOf(name: string): string {
  const segments = name.split('.');
  const layer = segments.findIndex((segment) => /^\d+$/.test(segment));
  if (layer < 0 || layer + 2 >= segments.length) return name;
  return `${segments.slice(0, layer + 2).join('.')}.*`;
}

/** An override that matches exactly this tensor, at the type the plan gave it. */
function literalOverride(tensor: PlannedTensor): TensorTypeOverride {
  return { glob: tensor.name.replace(/[*?[]/g, '[$&]'), type: tensor.type.toLowerCase() as QuantType };
}

function rankGroups(groups: readonly TensorGroup[], scores: readonly number[]): GroupSensitivity[] {
  const total = scores.reduce((sum, score) => sum + score, 0);
  const rows = groups.map((group, i) => {
    const parameters = group.tensors.reduce((sum, tensor) => sum + tensor.elements, 0);
    const bytes = group.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0);
    return {
      group: group.name,
      tensors: group.tensors.map((tensor) => tensor.name),
      parameters,
      bytesSaved: tensorByteSize(FALLBACK_TYPE, parameters) - bytes,
      score: scores[i]!,
      share: total > 0 ? scores[i]! / total : 0,
    };
  });
  rows.sort((a, b) => b.score - a.score || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return rows.map((row, i) => ({ rank: i + 1, ...row }));
}
