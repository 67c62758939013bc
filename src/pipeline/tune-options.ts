// The options of `quantgate tune`, read the same way by the CLI's flags and the action's inputs: the
// run's own options (model, dataset, engine, the gate's threshold and max-kld, the output folder),
// and the search's (the allowed types, the target, the calibration subset, the sensitivity ranking).
// Every bad value, and every combination that cannot work, is a one-line error before any work.

import { QuantgateError } from '../common/errors.js';
import { choiceOption, listOption, numberOption, type OptionValues } from '../common/option-values.js';
import { QUANT_TYPES, type QuantType } from '../quant/plan.js';
import { TUNE_TARGETS, type TuneTarget } from '../report/tune-report.js';
import { DEFAULT_CALIBRATION_SAMPLES } from './calibration.js';
import { readRunOptions, type RunOptions } from './options.js';
import {
  SENSITIVITY_GROUPINGS,
  SENSITIVITY_METHODS,
  type SensitivityGrouping,
  type SensitivityMethod,
} from './sensitivity.js';

/** The types the seed's browser runtime reads (it rejects Q8_0). */
export const DEFAULT_ALLOW_TYPES: readonly QuantType[] = ['q4_0', 'f16'];

/** Narrowest first: a promotion moves a group to the next allowed type along this order. */
export const TYPE_ORDER: readonly QuantType[] = ['q4_0', 'q8_0', 'f16', 'f32'];

/**
 * The ranking tune promotes by: exact, unlike `quantgate sensitivity`'s fast default. The search is
 * only as good as its order; on the demo model the fast ranking barely agrees with the exact one
 * (Spearman −0.08), and a tune ranked by it promotes every group before it meets the budget.
 * `--method fast` makes a large model's ranking minutes instead of hours (docs/TUNING.md).
 */
export const DEFAULT_TUNE_METHOD: SensitivityMethod = 'exact';

export interface TuneOptions {
  /**
   * The model, the quantization type to start from, the dataset, the engine, the gate (threshold,
   * gate mode, max-kld) and the output folder, as `run` reads them; the confirmations are runs of these.
   */
  run: RunOptions;
  /** The types a weight may end up in, narrowest first; `run.quantType` is one of them. */
  allowTypes: QuantType[];
  target: TuneTarget;
  /** `--target best`: the largest GGUF allowed, in bytes. */
  maxSizeBytes?: number;
  calibrationSamples: number;
  method: SensitivityMethod;
  grouping: SensitivityGrouping;
}

export function readTuneOptions(values: OptionValues): TuneOptions {
  const run = readRunOptions(values);
  const label = (name: string) => values.label(name);
  if (run.tensorTypes.length > 0) {
    throw new QuantgateError(
      `${label('tensor-type')} is what tune writes (its overrides start from every weight at ${label('quant-type')}); leave it out, and give it to run or quantize with the lines tune prints`,
    );
  }
  if (run.shard)
    throw new QuantgateError(`${label('shard')} splits one evaluation; tune runs whole ones, leave it out`);
  const allowTypes = allowTypesOption(values, run.quantType);
  const target = choiceOption(values, 'target', TUNE_TARGETS) ?? 'smallest';
  const maxSize = numberOption(values, 'max-size', { min: 0 });
  if (target === 'best' && maxSize === undefined) {
    throw new QuantgateError(
      `${label('target')} best finds the lowest KLD within a size; give that size with ${label('max-size')} <MB>`,
    );
  }
  if (target === 'smallest' && maxSize !== undefined) {
    throw new QuantgateError(
      `${label('max-size')} bounds the size for ${label('target')} best; ${label('target')} smallest (the default) looks for the smallest file within the threshold, so drop ${label('max-size')} or add ${label('target')} best`,
    );
  }
  return {
    run,
    allowTypes,
    target,
    ...(maxSize !== undefined && { maxSizeBytes: Math.round(maxSize * 1024 * 1024) }),
    calibrationSamples:
      numberOption(values, 'calibration-samples', { min: 1, integer: true }) ?? DEFAULT_CALIBRATION_SAMPLES,
    method: choiceOption(values, 'method', SENSITIVITY_METHODS) ?? DEFAULT_TUNE_METHOD,
    grouping: choiceOption(values, 'group', SENSITIVITY_GROUPINGS) ?? 'tensor',
  };
}

/** `allow-types`: known types, `quant-type` among them and at least one wider to promote to; narrowest first. */
function allowTypesOption(values: OptionValues, quantType: QuantType): QuantType[] {
  const label = values.label('allow-types');
  const given = listOption(values, 'allow-types').map((item) => item.toLowerCase());
  const types = given.length > 0 ? given : [...DEFAULT_ALLOW_TYPES];
  for (const type of types) {
    if (!(QUANT_TYPES as readonly string[]).includes(type))
      throw new QuantgateError(
        `${label}: "${type}" is not a type; use a comma-separated list of ${QUANT_TYPES.join(', ')}, e.g. q4_0,f16`,
      );
  }
  const allowed = TYPE_ORDER.filter((type) => types.includes(type));
  if (quantType !== 'q4_0' && quantType !== 'q8_0') {
    throw new QuantgateError(
      `tune starts from every weight at a block type and promotes some to wider ones; ${values.label('quant-type')} ${quantType} leaves nothing to promote, use q4_0 or q8_0`,
    );
  }
  if (!allowed.includes(quantType)) {
    throw new QuantgateError(
      `${label} ${allowed.join(',')} leaves out ${values.label('quant-type')} ${quantType}, the type tune starts from; add it`,
    );
  }
  if (allowed.indexOf(quantType) === allowed.length - 1) {
    throw new QuantgateError(
      `${label} ${allowed.join(',')} has no type wider than ${quantType} to promote a weight to; add f16 (or q8_0)`,
    );
  }
  return allowed;
}
