// The tensor plan: which tensor of the source model becomes which GGUF type, and why. The same
// rules as llama.cpp's converter and the seed's quantize script: weights quantize, norms and 1-D
// tensors stay F32, weights whose rows are not whole Q4/Q8 blocks fall back to F16. BF16 is never
// written (the seed's browser runtime reads only F32, F16 and Q4_0, and candle 0.9 rejects BF16).
// `--tensor-type` gives chosen weights another type than `--quant-type`; the fixed rules (norms,
// 1-D tensors, --keep) still hold over it, as in llama-quantize.

import { globToRegExp, matchAny } from '../common/glob.js';
import { QuantgateError } from '../common/errors.js';
import { GGML_TYPES, LLAMA_FILE_TYPE, tensorByteSize, type GgmlTypeName } from '../formats/gguf/constants.js';

export const QUANT_TYPES = ['q4_0', 'q8_0', 'f16', 'f32'] as const;
export type QuantType = (typeof QUANT_TYPES)[number];

export const PRESETS = ['kyutai-stt'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface SourceTensor {
  name: string;
  /** The safetensors dtype, e.g. BF16. */
  dtype: string;
  /** Dimensions as the source stores them, outermost first. */
  shape: readonly number[];
}

export interface PlannedTensor {
  name: string;
  sourceDtype: string;
  shape: readonly number[];
  /** GGUF dimension order: innermost first. */
  ne: number[];
  elements: number;
  type: GgmlTypeName;
  /** Why this type was chosen, shown in the plan. */
  reason: string;
  sourceBytes: number;
  bytes: number;
}

/** One `--tensor-type <glob>=<type>` line. */
export interface TensorTypeOverride {
  glob: string;
  type: QuantType;
}

export interface TypeTotals {
  tensors: number;
  elements: number;
  bytes: number;
}

export interface TensorPlan {
  requested: QuantType;
  /** The `--tensor-type` lines, in the order given. */
  tensorTypes: TensorTypeOverride[];
  /** The tensors written, in source order. */
  tensors: PlannedTensor[];
  skipped: { name: string; reason: string }[];
  sourceBytes: number;
  bytes: number;
  byType: Partial<Record<GgmlTypeName, TypeTotals>>;
  /** llama.cpp's `general.file_type` for the result. */
  fileType: number;
}

export interface PlanOptions {
  type?: QuantType;
  /** Globs of tensors that stay F32. */
  keep?: readonly string[];
  /** Globs of tensors left out of the output. */
  skip?: readonly string[];
  /** Types for the weights matching each glob instead of `type`; the last match wins. */
  tensorTypes?: readonly TensorTypeOverride[];
  preset?: PresetName;
}

interface PresetRules {
  skip: string[];
  keep: string[];
  architecture: string;
}

const PRESET_RULES: Record<PresetName, PresetRules> = {
  // The VAD heads are unused by the seed's runtime; Mimi lives in its own file and stays float.
  'kyutai-stt': { skip: ['extra_heads.*'], keep: [], architecture: 'kyutai-stt' },
};

export function presetArchitecture(preset: PresetName | undefined): string | undefined {
  return preset ? PRESET_RULES[preset].architecture : undefined;
}

const TARGET: Record<QuantType, GgmlTypeName> = { q4_0: 'Q4_0', q8_0: 'Q8_0', f16: 'F16', f32: 'F32' };

const SOURCE_DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

function isNormLike(name: string): boolean {
  return /alpha$/.test(name) || /norm/.test(name);
}

function isWeight(name: string): boolean {
  return /(^|[._])weight$/.test(name);
}

export function planTensors(source: readonly SourceTensor[], options: PlanOptions = {}): TensorPlan {
  const requested = options.type ?? 'q4_0';
  const target = TARGET[requested];
  const preset = options.preset ? PRESET_RULES[options.preset] : undefined;
  const skip = matchAny([...(preset?.skip ?? []), ...(options.skip ?? [])]);
  const keep = matchAny([...(preset?.keep ?? []), ...(options.keep ?? [])]);
  const tensorTypes = [...(options.tensorTypes ?? [])];
  const overridesOf = matchingOverrides(tensorTypes);
  /** Per override: whether it matched any tensor, and whether it decided one's type. */
  const matched = tensorTypes.map(() => ({ any: false, used: false }));
  /** Parameters per type among the weights whose type was asked for, which name the file. */
  const chosenElements = new Map<GgmlTypeName, number>();

  const tensors: PlannedTensor[] = [];
  const skipped: TensorPlan['skipped'] = [];
  for (const tensor of source) {
    const matching = overridesOf(tensor.name);
    for (const index of matching) matched[index]!.any = true;
    // The last line that matches wins, so a broad line can come first and its exceptions after it.
    const override = matching.at(-1) ?? -1;
    if (skip(tensor.name)) {
      skipped.push({ name: tensor.name, reason: 'matches --skip' });
      continue;
    }
    const sourceDtypeBytes = SOURCE_DTYPE_BYTES[tensor.dtype];
    if (sourceDtypeBytes === undefined) {
      throw new QuantgateError(
        `tensor ${tensor.name} has dtype ${tensor.dtype}, which cannot be converted (F32, F16 and BF16 can); leave it out with --skip '${tensor.name}'`,
      );
    }
    const ne = tensor.shape.length === 0 ? [1] : [...tensor.shape].reverse();
    const elements = tensor.shape.reduce((product, dim) => product * dim, 1);
    const [type, reason, decidedBy] = chooseType(
      tensor.name,
      ne,
      tensor.shape.length,
      keep(tensor.name),
      override >= 0
        ? {
            target: TARGET[tensorTypes[override]!.type],
            why: `--tensor-type ${formatTensorType(tensorTypes[override]!)}`,
          }
        : { target, why: 'weight' },
    );
    if (decidedBy !== 'rule' && override >= 0) matched[override]!.used = true;
    if (decidedBy === 'asked') chosenElements.set(type, (chosenElements.get(type) ?? 0) + elements);
    tensors.push({
      name: tensor.name,
      sourceDtype: tensor.dtype,
      shape: tensor.shape,
      ne,
      elements,
      type,
      reason,
      sourceBytes: elements * sourceDtypeBytes,
      bytes: tensorByteSize(type, elements),
    });
  }
  if (tensors.length === 0) {
    throw new QuantgateError('the plan writes no tensors (every tensor matched --skip); loosen --skip');
  }
  tensorTypes.forEach((override, i) => checkOverrideUsed(override, matched[i]!));

  const byType: TensorPlan['byType'] = {};
  for (const tensor of tensors) {
    const totals = (byType[tensor.type] ??= { tensors: 0, elements: 0, bytes: 0 });
    totals.tensors++;
    totals.elements += tensor.elements;
    totals.bytes += tensor.bytes;
  }
  return {
    requested,
    tensorTypes,
    tensors,
    skipped,
    sourceBytes: tensors.reduce((sum, tensor) => sum + tensor.sourceBytes, 0),
    bytes: tensors.reduce((sum, tensor) => sum + tensor.bytes, 0),
    byType,
    fileType: fileTypeOf(target, chosenElements, byType),
  };
}

/** The indices of the overrides whose globs match a name, in order. */
function matchingOverrides(overrides: readonly TensorTypeOverride[]): (name: string) => number[] {
  const expressions = overrides.map((override) => globToRegExp(override.glob));
  return (name) => expressions.flatMap((expression, index) => (expression.test(name) ? [index] : []));
}

/** A line as the option spells it: for plans, manifests and cache keys. */
export function formatTensorType(override: TensorTypeOverride): string {
  return `${override.glob}=${override.type}`;
}

/** A line that types no tensor is a mistake (a misspelt name, a glob on a norm): say which, before anything is written. */
function checkOverrideUsed(override: TensorTypeOverride, matched: { any: boolean; used: boolean }): void {
  if (matched.used) return;
  const line = `--tensor-type '${formatTensorType(override)}'`;
  if (!matched.any) {
    throw new QuantgateError(
      `${line} matches no tensor of the model; globs match whole names (e.g. 'layers.*.ffn.*'), and quantize --dry-run without this line lists them`,
    );
  }
  throw new QuantgateError(
    `${line} matches only tensors whose type is fixed (norms, 1-D tensors, non-weights, --keep, --skip, or a later --tensor-type line); point it at weights, which quantize --dry-run without this line lists with the reason "weight"`,
  );
}

/**
 * The type, why, and what decided it: a fixed rule, the F16 fallback for rows that are not whole
 * blocks, or the type asked for (by --quant-type or --tensor-type).
 */
function chooseType(
  name: string,
  ne: readonly number[],
  dims: number,
  kept: boolean,
  asked: { target: GgmlTypeName; why: string },
): [GgmlTypeName, string, 'rule' | 'fallback' | 'asked'] {
  if (dims <= 1) return ['F32', '1-D', 'rule'];
  if (isNormLike(name)) return ['F32', 'norm', 'rule'];
  if (kept) return ['F32', 'matches --keep', 'rule'];
  if (!isWeight(name)) return ['F32', 'not a weight', 'rule'];
  const blockSize = GGML_TYPES[asked.target].blockSize;
  if (ne[0]! % blockSize !== 0) {
    const fallback = `ne0 ${ne[0]} is not a multiple of ${blockSize}`;
    return ['F16', asked.why === 'weight' ? fallback : `${fallback} (${asked.why})`, 'fallback'];
  }
  return [asked.target, asked.why, 'asked'];
}

/**
 * The file is named after the type holding most of the parameters of the weights whose type was
 * asked for ("mostly Q4_0", although norms stay F32), the --quant-type on a tie. llama-quantize
 * writes the requested type whatever its overrides; with --tensor-type lines that move most
 * weights elsewhere that would misname the file, so quantgate counts instead, as llama.cpp's
 * loader does for a file without the key (it counts tensors; parameters say more about a mix of
 * small and large matrices). When no weight could take the type asked for, the file is what the
 * fallbacks wrote.
 */
function fileTypeOf(
  target: GgmlTypeName,
  chosen: ReadonlyMap<GgmlTypeName, number>,
  byType: TensorPlan['byType'],
): number {
  let dominant: GgmlTypeName | undefined = chosen.has(target) ? target : undefined;
  for (const [type, elements] of chosen) if (elements > (dominant ? chosen.get(dominant)! : 0)) dominant = type;
  if (dominant) return LLAMA_FILE_TYPE[dominant];
  return byType.F16 ? LLAMA_FILE_TYPE.F16 : LLAMA_FILE_TYPE.F32;
}
