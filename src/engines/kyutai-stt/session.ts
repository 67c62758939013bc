// Starts onnxruntime on a graph the engine built, on the CPU or CUDA execution provider: the model
// is written beside its weights file and loaded from there, so onnxruntime maps the weights instead
// of receiving a copy. The session owns the graph's folder from then on and removes it on close.

import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeFileAtomic } from '../../common/atomic.js';
import { QuantgateError, describeError } from '../../common/errors.js';
import type { Device } from '../engine.js';
import { encodeModel } from '../onnx/model.js';
import { disposeGraph, type OnnxGraph } from './graph.js';

/** What the engine runs: onnxruntime's `run`, and `close`, which also removes the graph's files. */
export interface GraphSession extends Pick<ort.InferenceSession, 'run'> {
  close(): Promise<void>;
}

const MODEL_FILE = 'model.onnx';

export interface SessionOptions {
  /**
   * Whether onnxruntime keeps the CPU memory it allocated for activations between runs (its arena;
   * on by default). A graph whose activations grow with the input, as Mimi's do with the audio's
   * length, runs without it, so that their memory is returned after each run.
   */
  memoryArena?: boolean;
}

export async function startSession(
  graph: OnnxGraph,
  device: Device,
  what: string,
  options: SessionOptions = {},
): Promise<GraphSession> {
  let session: ort.InferenceSession;
  try {
    const path = join(graph.dir, MODEL_FILE);
    await writeFileAtomic(path, encodeModel(graph.model));
    session = await ort.InferenceSession.create(path, {
      executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      enableCpuMemArena: options.memoryArena ?? true,
    });
  } catch (error) {
    await disposeGraph(graph);
    if (device !== 'cuda') throw error;
    throw new QuantgateError(
      `onnxruntime could not start the ${what} on CUDA (${describeError(error)}); check that the CUDA and cuDNN libraries onnxruntime needs are installed, or run with --device cpu`,
      { cause: error },
    );
  }
  return {
    run: session.run.bind(session),
    async close() {
      await session.release();
      await disposeGraph(graph);
    },
  };
}
