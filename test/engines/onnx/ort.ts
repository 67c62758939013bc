// Runs a model in onnxruntime-node for the ONNX tests, in a worker thread: inside jest's sandbox
// onnxruntime rejects its own outputs (their Float32Array comes from another realm than the one
// jest gives the test), while a worker has an ordinary global scope. One worker per run, CPU, one
// thread, the session released before the worker ends.

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { encodeModel } from '../../../src/engines/onnx/model.js';
import type { ModelProto } from '../../../src/engines/onnx/proto.js';
import { repoRoot } from '../../helpers/paths.js';

export interface Feed {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}

export interface Output {
  dims: number[];
  data: number[];
}

export function floatInput(dims: readonly number[], values: ArrayLike<number>): Feed {
  return { type: 'float32', data: Float32Array.from(values), dims };
}

export function int64Input(dims: readonly number[], values: readonly number[]): Feed {
  return { type: 'int64', data: BigInt64Array.from(values, (value) => BigInt(value)), dims };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
(async () => {
  const session = await ort.InferenceSession.create(workerData.model, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const feeds = {};
    for (const [name, feed] of Object.entries(workerData.feeds)) feeds[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
    const results = await session.run(feeds);
    const outputs = {};
    for (const [name, tensor] of Object.entries(results)) outputs[name] = { dims: [...tensor.dims], data: Array.from(tensor.data, Number) };
    parentPort.postMessage({ outputs });
  } finally {
    await session.release();
  }
})().catch((error) => parentPort.postMessage({ error: String(error && error.message || error) }));
`;

/** Each output's dims and values after one run of `model` (a model or its encoded bytes). */
export async function runModel(model: ModelProto | Uint8Array, feeds: Record<string, Feed>): Promise<Record<string, Output>> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ortPath: join(repoRoot, 'node_modules', 'onnxruntime-node'), model: bytes, feeds },
  });
  try {
    const reply = await new Promise<{ outputs?: Record<string, Output>; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`onnxruntime worker exited with code ${code}`)));
    });
    if (reply.error !== undefined) throw new Error(`onnxruntime: ${reply.error}`);
    return reply.outputs!;
  } finally {
    await worker.terminate();
  }
}
