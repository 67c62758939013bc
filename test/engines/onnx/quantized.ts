// Quantized tensors for the candidate tests: made in memory with the project's ggml-exact codecs,
// and the float weights of the torch fixture read from its safetensors.

import type { QuantizedTensors } from '../../../src/engines/engine.js';
import { openSafetensors } from '../../../src/formats/safetensors.js';
import { decode, decodeSource, encode, type TargetType } from '../../../src/quant/codec.js';
import { fixture } from '../../helpers/paths.js';

export interface SourceWeight {
  name: string;
  /** Outermost first, as PyTorch stores it. */
  shape: number[];
  values: Float32Array;
}

export interface MemoryQuantized extends QuantizedTensors {
  /** The values the GGUF tensor dequantizes to, in GGUF order. */
  dequantized(name: string): Float32Array;
  readonly reads: string[];
}

/** A GGUF in memory: each weight quantized to its type, ne the reversed shape. */
export function quantize(weights: readonly (SourceWeight & { type: TargetType })[]): MemoryQuantized {
  const bytes = new Map(weights.map((weight) => [weight.name, encode(weight.type, weight.values)]));
  const tensors = weights.map(({ name, type, shape }) => ({ name, type, ne: [...shape].reverse() }));
  const reads: string[] = [];
  return {
    tensors,
    reads,
    async read(name) {
      reads.push(name);
      return bytes.get(name)!;
    },
    dequantized(name) {
      const tensor = tensors.find((each) => each.name === name)!;
      return decode(
        tensor.type,
        bytes.get(name)!,
        tensor.ne.reduce((a, b) => a * b, 1),
      );
    },
  };
}

/** The float32 state dict the torch fixture was exported from. */
export async function torchWeights(): Promise<SourceWeight[]> {
  const reader = await openSafetensors(fixture('onnx', 'torch-linear.safetensors'));
  try {
    return await Promise.all(
      reader.tensors.map(async (tensor) => ({
        name: tensor.name,
        shape: [...tensor.shape],
        values: decodeSource('F32', await reader.readRange(tensor, 0, tensor.elementCount)),
      })),
    );
  } finally {
    await reader.close();
  }
}

/** Deterministic weights in [-1, 1). */
export function pseudoRandom(count: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 31 - 1;
  });
}
