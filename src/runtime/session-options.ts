// How quantgate opens onnxruntime sessions: the execution providers of the chosen device, every
// graph optimization, and one intra-op thread per core (the engines run one batch at a time).

import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import type { Device } from '../engines/engine.js';

export function sessionOptions(device: Device): InferenceSession.SessionOptions {
  return {
    // CPU stays listed after CUDA for the few operators the CUDA provider lacks.
    executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
  };
}
