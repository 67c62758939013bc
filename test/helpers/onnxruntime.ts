// Runs an ONNX model once in onnxruntime-node, in-process (test/environment.js gives jest's sandbox
// the typed-array classes onnxruntime checks against): CPU, one thread, the session released after.
// Outputs come back as plain numbers, int64 included, so tests compare them with toEqual.

import { InferenceSession, Tensor } from 'onnxruntime-node';
import { encodeModel } from '../../src/engines/onnx/model.js';
import type { ModelProto } from '../../src/engines/onnx/proto.js';

export interface Output {
  dims: number[];
  data: number[];
}

export function floatInput(dims: readonly number[], values: ArrayLike<number>): Tensor {
  return new Tensor('float32', Float32Array.from(values), dims);
}

export function int64Input(dims: readonly number[], values: readonly number[]): Tensor {
  return new Tensor(
    'int64',
    BigInt64Array.from(values, (value) => BigInt(value)),
    dims,
  );
}

/** Each output's dims and values after one run of `model` (a model or its encoded bytes). */
export async function runModel(
  model: ModelProto | Uint8Array,
  feeds: Record<string, Tensor>,
): Promise<Record<string, Output>> {
  const session = await InferenceSession.create(model instanceof Uint8Array ? model : encodeModel(model), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const results = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(results).map(([name, tensor]) => [
        name,
        { dims: [...tensor.dims], data: Array.from(tensor.data as ArrayLike<number | bigint>, Number) },
      ]),
    );
  } finally {
    await session.release();
  }
}
