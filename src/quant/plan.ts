// The tensor plan: which tensor of the source model becomes which GGUF type, and why. The same
// rules as llama.cpp's converter and the seed's quantize script: weights quantize, norms and 1-D
// tensors stay F32, weights whose rows are not whole Q4/Q8 blocks fall back to F16. BF16 is never
// written (the seed's browser runtime reads only F32, F16 and Q4_0, and candle 0.9 rejects BF16).

import { matchAny } from '../common/glob.js';
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

export interface TypeTotals {
  tensors: number;
  elements: number;
  bytes: number;
}

export interface TensorPlan {
  requested: QuantType;
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

  const tensors: PlannedTensor[] = [];
  const skipped: TensorPlan['skipped'] = [];
  for (const tensor of source) {
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
    const [type, reason] = chooseType(tensor.name, ne, tensor.shape.length, target, keep(tensor.name));
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

  const byType: TensorPlan['byType'] = {};
  for (const tensor of tensors) {
    const totals = (byType[tensor.type] ??= { tensors: 0, elements: 0, bytes: 0 });
    totals.tensors++;
    totals.elements += tensor.elements;
    totals.bytes += tensor.bytes;
  }
  return {
    requested,
    tensors,
    skipped,
    sourceBytes: tensors.reduce((sum, tensor) => sum + tensor.sourceBytes, 0),
    bytes: tensors.reduce((sum, tensor) => sum + tensor.bytes, 0),
    byType,
    fileType: fileTypeOf(target, byType),
  };
}

function chooseType(
  name: string,
  ne: readonly number[],
  dims: number,
  target: GgmlTypeName,
  kept: boolean,
): [GgmlTypeName, string] {
  if (dims <= 1) return ['F32', '1-D'];
  if (isNormLike(name)) return ['F32', 'norm'];
  if (kept) return ['F32', 'matches --keep'];
  if (!isWeight(name)) return ['F32', 'not a weight'];
  const blockSize = GGML_TYPES[target].blockSize;
  if (ne[0]! % blockSize !== 0) return ['F16', `ne0 ${ne[0]} is not a multiple of ${blockSize}`];
  return [target, 'weight'];
}

/**
 * llama.cpp names a file after the type most of its weights have ("mostly Q4_0", although norms
 * stay F32). When no weight could take the requested type, the file is what was actually written.
 */
function fileTypeOf(target: GgmlTypeName, byType: TensorPlan['byType']): number {
  if (byType[target]) return LLAMA_FILE_TYPE[target];
  return byType.F16 ? LLAMA_FILE_TYPE.F16 : LLAMA_FILE_TYPE.F32;
}
