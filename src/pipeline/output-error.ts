// The output error behind `sensitivity --method fast`: for a weight W that the plan quantizes to
// Q(W), the squared error its rounding makes in the layer's outputs on the reference's own inputs,
// Σₓ ‖(W − Q(W)) x‖², beside the outputs' own size, Σₓ ‖W x‖². Q(W) is the project's quantizer's
// result (the worker pool, bit-exact with ggml and with what `quantize` writes), read back with
// the scalar dequantizer. The products run in onnxruntime (MLAS), one tensor at a time, over the
// rows the reference's pass sampled (activation-sample.ts); sums are taken in float64. An
// embedding table's inputs are one-hot, so its sums are over the rows that were looked up.

import * as ort from 'onnxruntime-node';
import { QuantgateError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import { intAttribute, ModelBuilder } from '../engines/onnx/builder.js';
import { encodeModel } from '../engines/onnx/model.js';
import { openSafetensors } from '../formats/safetensors.js';
import { sessionOptions } from '../runtime/session-options.js';
import { decode, type SourceType, type TargetType } from '../quant/codec.js';
import type { PlannedTensor } from '../quant/plan.js';
import { createConvertPool } from '../quant/pool.js';
import type { ActivationSample, SampledInput } from './activation-sample.js';

/** The two sums of one weight, over every input it multiplies. */
export interface OutputError {
  /** Σ ‖(W − Q(W)) x‖². */
  error: number;
  /** Σ ‖W x‖². */
  reference: number;
}

export interface OutputErrorOptions {
  threads?: number;
  progress?: Progress;
  signal?: AbortSignal;
}

/** The sums of each of `tensors` (at the type the plan gives it), read from the safetensors at `model`. */
export async function measureOutputErrors(
  model: string,
  tensors: readonly PlannedTensor[],
  sample: ActivationSample,
  options: OutputErrorOptions = {},
): Promise<Map<string, OutputError>> {
  const progress = options.progress ?? silentProgress;
  const reader = await openSafetensors(model);
  const pool = createConvertPool({ threads: options.threads });
  const products = new Products();
  const task = progress.task('output error (one product per weight and input)', {
    total: tensors.reduce((sum, tensor) => sum + tensor.elements, 0),
    unit: 'count',
    unitName: 'parameters',
  });
  try {
    const errors = new Map<string, OutputError>();
    for (const tensor of tensors) {
      options.signal?.throwIfAborted();
      const source = reader.tensor(tensor.name);
      if (!source)
        throw new QuantgateError(
          `tensor ${tensor.name} of the plan is not in ${reader.source}; the model folder changed during the run — run again`,
        );
      const bytes = await reader.readRange(source, 0, source.elementCount);
      const sourceType = source.dtype as SourceType;
      // The pool takes over the buffer it is given, so the first job gets a copy.
      const [float, quantized] = await settledAll([
        pool.convert({ source: sourceType, target: 'F32', bytes: new Uint8Array(bytes) }),
        pool.convert({ source: sourceType, target: tensor.type as TargetType, bytes }),
      ]);
      const weight = new Float32Array(float.data.buffer, float.data.byteOffset, tensor.elements);
      const difference = decode(tensor.type, quantized.data, tensor.elements);
      for (let i = 0; i < difference.length; i++) difference[i] = weight[i]! - difference[i]!;
      const matrix = { rows: tensor.ne[1] ?? 1, cols: tensor.ne[0]!, weight, difference };
      const sums: OutputError = { error: 0, reference: 0 };
      for (const input of sample.inputsOf(tensor.name)) add(sums, await products.measure(matrix, input));
      const lookups = sample.lookupsOf(tensor.name);
      if (lookups) add(sums, lookupError(matrix, lookups));
      errors.set(tensor.name, sums);
      task.advance(tensor.elements);
    }
    task.finish();
    return errors;
  } finally {
    await Promise.allSettled([products.close(), pool.close(), reader.close()]);
  }
}

/** The GGUF matrix [rows, cols] row-major (ne = [cols, rows]), and W − Q(W) in the same layout. */
interface WeightMatrix {
  rows: number;
  cols: number;
  weight: Float32Array;
  difference: Float32Array;
}

function add(sums: OutputError, more: OutputError): void {
  sums.error += more.error;
  sums.reference += more.reference;
}

/** Σ over looked-up rows r (each as often as it was read) of ‖ΔW[r]‖² and ‖W[r]‖². */
function lookupError({ cols, weight, difference }: WeightMatrix, counts: Float64Array): OutputError {
  const sums: OutputError = { error: 0, reference: 0 };
  counts.forEach((count, row) => {
    if (count === 0) return;
    for (let i = row * cols; i < (row + 1) * cols; i++) {
      sums.error += count * difference[i]! ** 2;
      sums.reference += count * weight[i]! ** 2;
    }
  });
  return sums;
}

/** Two onnxruntime graphs, opened on first use: x·Wᵀ and x·ΔWᵀ (`rows`), or x·W and x·ΔW (`columns`). */
class Products {
  private readonly sessions = new Map<'rows' | 'columns', Promise<ort.InferenceSession>>();

  async measure(matrix: WeightMatrix, input: SampledInput): Promise<OutputError> {
    const { rows, cols } = matrix;
    const count = input.rows.length / input.width;
    if (count === 0) return { error: 0, reference: 0 };
    if (input.width !== (input.along === 'rows' ? cols : rows))
      throw new RangeError(`rows of ${input.width} values cannot multiply a [${rows}, ${cols}] weight ${input.along}`);
    const session = await this.session(input.along);
    const dims = [rows, cols];
    const results = await session.run({
      x: new ort.Tensor('float32', input.rows, [count, input.width]),
      w: new ort.Tensor('float32', matrix.weight, dims),
      d: new ort.Tensor('float32', matrix.difference, dims),
    });
    return {
      error: sumOfSquares(results.e!.data as Float32Array),
      reference: sumOfSquares(results.y!.data as Float32Array),
    };
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) await (await session).release();
  }

  private session(along: 'rows' | 'columns'): Promise<ort.InferenceSession> {
    let session = this.sessions.get(along);
    if (!session) {
      const builder = new ModelBuilder()
        .input('x', 'float32', ['n', 'k'])
        .input('w', 'float32', ['r', 'c'])
        .input('d', 'float32', ['r', 'c']);
      const product = (weight: string, output: string) =>
        along === 'rows'
          ? builder.node('Gemm', ['x', weight], [output], { attributes: [intAttribute('transB', 1)] })
          : builder.node('MatMul', ['x', weight], [output]);
      product('w', 'y');
      product('d', 'e');
      builder.output('y', 'float32').output('e', 'float32');
      // Always the CPU: the products are a small part of the work, and MLAS computes them in full float32.
      session = ort.InferenceSession.create(encodeModel(builder.build()), sessionOptions('cpu'));
      this.sessions.set(along, session);
    }
    return session;
  }
}

/** Both results once both settled, so that a failure leaves no job behind; the first failure is thrown. */
async function settledAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

function sumOfSquares(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! ** 2;
  return sum;
}
