// Finds the ONNX initializer each GGUF tensor was made from. By name first (an exporter that keeps
// parameter names, same layout); otherwise by exact content, because exporters rename weights
// (torch: `onnx::MatMul_123`) and store Linear weights transposed ([in, out] where PyTorch and the
// GGUF have [out, in]). The GGUF holds quantized values, so content is compared through the original
// float tensor the caller supplies: its bytes, and for a matrix its transpose's bytes, against the
// bytes of each float32 initializer. A fingerprint (element count and leading values) narrows the
// search and a full comparison of the bits confirms each hit, so the transpose is never built.

import { QuantgateError } from '../../common/errors.js';
import { silentProgress, type Progress } from '../../common/progress.js';
import type { QuantizedTensors } from '../engine.js';
import { DataType, type TensorProto } from './proto.js';
import { elementCount, float32Bytes } from './tensors.js';

export type QuantizedTensorInfo = QuantizedTensors['tensors'][number];

/** The original float32 values of a GGUF tensor, by its GGUF name, in the GGUF's element order. */
export type OriginalValues = (name: string) => Promise<Float32Array>;

/**
 * `same`: the initializer holds the GGUF tensor's elements in the GGUF's order (row-major over the
 * reversed `ne`). `transposed`: the GGUF tensor is a matrix and the initializer holds its transpose.
 */
export type WeightLayout = 'same' | 'transposed';

export interface WeightMatch {
  tensor: QuantizedTensorInfo;
  initializer: TensorProto;
  layout: WeightLayout;
  matchedBy: 'name' | 'content';
}

/** The initializer of every GGUF tensor that has one; each initializer matches at most one tensor. */
export async function matchWeights(
  initializers: readonly TensorProto[],
  tensors: readonly QuantizedTensorInfo[],
  original?: OriginalValues,
  progress: Progress = silentProgress,
): Promise<WeightMatch[]> {
  const floats = initializers.filter((initializer) => initializer.dataType === DataType.FLOAT && initializer.name);
  const byName = new Map(floats.map((initializer) => [initializer.name!, initializer]));
  const claimed = new Set<TensorProto>();
  const matches: WeightMatch[] = [];
  const unnamed: QuantizedTensorInfo[] = [];
  for (const tensor of tensors) {
    const initializer = byName.get(tensor.name);
    if (initializer && sameDims(initializer.dims, [...tensor.ne].reverse())) {
      claimed.add(initializer);
      matches.push({ tensor, initializer, layout: 'same', matchedBy: 'name' });
    } else {
      unnamed.push(tensor);
    }
  }
  if (unnamed.length === 0 || !original) return matches;

  const counts = new Set(unnamed.map((tensor) => elementCount(tensor.ne)));
  const index = new ContentIndex(
    floats.filter((initializer) => !claimed.has(initializer) && counts.has(elementCount(initializer.dims))),
  );
  const task = progress.task('Matching GGUF tensors to ONNX initializers by content', {
    total: unnamed.length,
    unit: 'count',
    unitName: 'tensors',
  });
  for (const tensor of unnamed) {
    const values = await original(tensor.name);
    const count = elementCount(tensor.ne);
    if (values.length !== count) {
      throw new QuantgateError(
        `the original of GGUF tensor "${tensor.name}" has ${values.length} values, but the GGUF tensor has ${count}; pass the safetensors the GGUF was quantized from`,
      );
    }
    const [cols, rows] = tensor.ne;
    const same = index.take(values, 'same', rows, cols);
    const transposed =
      !same && tensor.ne.length === 2 && rows > 1 && cols > 1
        ? index.take(values, 'transposed', rows, cols)
        : undefined;
    const initializer = same ?? transposed;
    if (initializer) matches.push({ tensor, initializer, layout: same ? 'same' : 'transposed', matchedBy: 'content' });
    task.advance(1);
  }
  task.finish();
  return matches;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

/** Leading values that, with the element count, key the index. */
const FINGERPRINT_VALUES = 16;

/** Float32 initializers by fingerprint; each can be taken once. */
class ContentIndex {
  private readonly byFingerprint = new Map<string, TensorProto[]>();

  constructor(initializers: readonly TensorProto[]) {
    for (const initializer of initializers) {
      const bits = initializerBits(initializer);
      const key = fingerprint(elementCount(initializer.dims), bits);
      const list = this.byFingerprint.get(key);
      if (list) list.push(initializer);
      else this.byFingerprint.set(key, [initializer]);
    }
  }

  /**
   * Removes and returns an initializer whose bits equal `values` (a row-major [rows, cols] matrix
   * when `layout` is transposed) in `layout`.
   */
  take(values: Float32Array, layout: WeightLayout, rows: number, cols: number): TensorProto | undefined {
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
    const original =
      layout === 'same' ? (i: number) => words[i] : (i: number) => words[(i % rows) * cols + Math.floor(i / rows)];
    const list = this.byFingerprint.get(fingerprint(values.length, original));
    const at = list?.findIndex((initializer) => sameBits(initializerBits(initializer), original, values.length)) ?? -1;
    return at >= 0 ? list!.splice(at, 1)[0] : undefined;
  }
}

type Bits = (index: number) => number;

/** The bits of a float32 initializer's element `index`, read in place (raw data may be unaligned). */
function initializerBits(initializer: TensorProto): Bits {
  const bytes = float32Bytes(initializer);
  const count = elementCount(initializer.dims);
  if (bytes.length !== count * 4) {
    throw new QuantgateError(
      `initializer "${initializer.name}" has ${bytes.length} bytes of data, but its dims [${initializer.dims.join(', ')}] need ${count * 4}; the model is corrupt — export it again`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (index) => view.getUint32(index * 4, true);
}

function fingerprint(count: number, bits: Bits): string {
  const leading = Array.from({ length: Math.min(count, FINGERPRINT_VALUES) }, (_, i) => bits(i));
  return `${count}:${leading.join(',')}`;
}

function sameBits(a: Bits, b: Bits, count: number): boolean {
  for (let i = 0; i < count; i++) if (a(i) !== b(i)) return false;
  return true;
}
