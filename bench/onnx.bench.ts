// The ONNX candidate path, each step against a baseline measured in the same run:
//  - codec: decoding and re-encoding a model with 64 MiB of initializers, against one plain copy of
//    its bytes (the least any encoder that returns one buffer must do);
//  - repack: Q4_0 blocks to MatMulNBits inputs, against dequantizing the same blocks to float32
//    (what dequant mode does instead);
//  - matching: finding renamed, transposed weights by content, against one SHA-256 pass over them;
//  - inference: onnxruntime (CPU, one thread) on an MLP candidate in matmulnbits mode, against the
//    same candidate in dequant mode, for one token and for a batch of tokens.
// Pairs run alternately several times and report medians, since other processes share the CPUs.

import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { formatBytes } from '../src/common/format.js';
import { ModelBuilder } from '../src/engines/onnx/builder.js';
import { buildCandidate, type SubstitutionMode } from '../src/engines/onnx/candidate.js';
import { q4_0ToMatMulNBits } from '../src/engines/onnx/matmulnbits.js';
import { decodeModel, encodeModel } from '../src/engines/onnx/model.js';
import type { ModelProto } from '../src/engines/onnx/proto.js';
import { float32Tensor, transposeMatrix } from '../src/engines/onnx/tensors.js';
import { matchWeights } from '../src/engines/onnx/weight-match.js';
import type { QuantizedTensors } from '../src/engines/engine.js';
import { decode, encode } from '../src/quant/codec.js';
import { medianSeconds } from './measure.js';

const ROUNDS = 5;
const WIDTH = 1024;
const LAYERS = 16;
/** One token per call is how a streaming decoder runs; many tokens is how an encoder runs. */
const TOKEN_COUNTS = [1, 64];

function report(label: string, bytes: number, [baseline, candidate]: number[], baselineLabel: string): void {
  const rate = (time: number) => `${formatBytes(bytes / time)}/s`;
  console.log(
    `${label}: ${(candidate * 1000).toFixed(1)} ms (${rate(candidate)}); ${baselineLabel}: ${(baseline * 1000).toFixed(1)} ms (${rate(baseline)}); ratio ${(candidate / baseline).toFixed(2)}×`,
  );
}

function pseudoRandom(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

/** An MLP of LAYERS Linear layers exported torch-style: MatMul with renamed, transposed weights. */
function mlp(weights: readonly Float32Array[]): ModelProto {
  const builder = new ModelBuilder().input('x0', 'float32', ['tokens', WIDTH]);
  weights.forEach((values, layer) => {
    const name = `onnx::MatMul_${layer}`;
    builder.initializer(float32Tensor(name, [WIDTH, WIDTH], transposeMatrix(values, WIDTH, WIDTH)));
    builder.node('MatMul', [`x${layer}`, name], [`h${layer}`]).node('Relu', [`h${layer}`], [`x${layer + 1}`]);
  });
  return builder.output(`x${weights.length}`, 'float32').build();
}

function quantized(weights: readonly Float32Array[]): QuantizedTensors {
  const blocks = weights.map((values) => encode('Q4_0', values));
  return {
    tensors: weights.map((_, layer) => ({ name: `layers.${layer}.weight`, type: 'Q4_0' as const, ne: [WIDTH, WIDTH] })),
    read: async (name) => blocks[Number(name.split('.')[1])]!,
  };
}

async function session(model: ModelProto): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
}

export const bench = {
  name: 'onnx',
  summary: 'ONNX codec, Q4_0 repacking, content matching and MatMulNBits inference against their baselines',
  run: async () => {
    const weights = Array.from({ length: LAYERS }, (_, layer) => pseudoRandom(WIDTH * WIDTH, layer + 1));
    const model = mlp(weights);
    const bytes = encodeModel(model);
    report(
      'decode + encode',
      bytes.length,
      await medianSeconds([() => Buffer.from(bytes), () => encodeModel(decodeModel(bytes))], ROUNDS),
      'one copy',
    );

    const blocks = encode('Q4_0', weights[0]!);
    report(
      'Q4_0 → MatMulNBits repack',
      WIDTH * WIDTH * 4,
      await medianSeconds(
        [() => decode('Q4_0', blocks, WIDTH * WIDTH), () => q4_0ToMatMulNBits(blocks, WIDTH, WIDTH)],
        ROUNDS,
      ),
      'Q4_0 → float32 dequantize',
    );

    const gguf = quantized(weights);
    const original = async (name: string) => weights[Number(name.split('.')[1])]!;
    const hashOnce = () => weights.forEach((values) => createHash('sha256').update(values).digest());
    report(
      'content matching (transposed)',
      bytes.length,
      await medianSeconds([hashOnce, () => matchWeights(model.graph!.initializer, gguf.tensors, original)], ROUNDS),
      'one SHA-256 pass',
    );

    const sessions = new Map<SubstitutionMode, ort.InferenceSession>();
    for (const mode of ['dequant', 'matmulnbits'] as const)
      sessions.set(mode, await session((await buildCandidate(model, gguf, { mode, original })).model));
    try {
      for (const tokens of TOKEN_COUNTS) {
        const feeds = { x0: new ort.Tensor('float32', pseudoRandom(tokens * WIDTH, 99), [tokens, WIDTH]) };
        const [dequant, fused] = await medianSeconds(
          [() => sessions.get('dequant')!.run(feeds), () => sessions.get('matmulnbits')!.run(feeds)],
          ROUNDS,
        );
        console.log(
          `inference, ${LAYERS} layers ${WIDTH}×${WIDTH}, ${tokens} tokens: MatMulNBits ${(fused * 1000).toFixed(2)} ms; dequantized float ${(dequant * 1000).toFixed(2)} ms; ratio ${(fused / dequant).toFixed(2)}×`,
        );
      }
    } finally {
      for (const each of sessions.values()) await each.release();
    }
  },
};
