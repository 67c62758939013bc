// The kyutai-stt engine's memory estimate, from the config and the weights files' headers: the
// LM's weights as the graph holds them (float32 on the CPU, float16 linear layers on CUDA, Q4_0
// matrices as MatMulNBits blocks), Mimi's encoder weights and the activations of one utterance
// through it, and per utterance of a batch its KV ring, sized like the decoder sizes it.

import { GGML_TYPES } from '../../formats/gguf/constants.js';
import { openSafetensors } from '../../formats/safetensors.js';
import type { EngineOptions, MemoryEstimate, ModelSource, QuantizedModel, Variant } from '../engine.js';
import type { SubstitutionMode } from '../onnx/candidate.js';
import { readKyutaiConfig, type KyutaiConfig } from './config.js';
import { requireKyutaiFiles } from './files.js';
import { maxRingSlots } from './lm-graph.js';
import { framing, mimiFrameSize } from './mimi-graph.js';

const FLOAT32_BYTES = 4;
/** MatMulNBits holds a Q4_0 block of 32 values as 16 bytes of nibbles and one scale. */
const Q4_0_NIBBLE_BYTES_PER_VALUE = 0.5;
/**
 * Mimi's encoder on one utterance holds at most about this many float32 buffers of its first
 * layer's size (n_filters channels at the audio's rate): 0.80 GiB measured for 36 s of audio
 * into the real Mimi (64 filters), 3.9 such buffers.
 */
const MIMI_ACTIVATION_BUFFERS = 4;
/** Tensors of the checkpoint the engine does not load (the VAD heads). */
const UNUSED_PREFIX = 'extra_heads.';

export async function estimateKyutaiMemory(
  model: ModelSource,
  variant: Variant,
  { device, maxSeconds }: EngineOptions & { maxSeconds: number },
  mode: SubstitutionMode,
): Promise<MemoryEstimate> {
  const config = await readKyutaiConfig(model.dir);
  const files = await requireKyutaiFiles(model.dir, config.names);
  const computeBytes = device === 'cuda' ? 2 : 4;
  const lm =
    variant.kind === 'reference'
      ? await floatLmBytes(files.lm, computeBytes)
      : await quantizedLmBytes(variant.quantized, mode, computeBytes);
  const samples = Math.ceil(maxSeconds * config.mimi.sampleRate);
  const { frames, encoded } = framing(config, samples);
  const mimiInput = encoded * mimiFrameSize(config.mimi);
  const mimiActivations = MIMI_ACTIVATION_BUFFERS * config.mimi.seanet.nFilters * mimiInput * FLOAT32_BYTES;
  return {
    loadedBytes: lm + (await mimiEncoderBytes(files.mimi)) + mimiActivations,
    // The audio, its framed copy for Mimi, and the KV ring of keys and values of every layer.
    perUtteranceBytes: (samples + mimiInput) * FLOAT32_BYTES + ringBytes(config, frames),
  };
}

/** Keys and values of every layer for the slots the decoder keeps for a stream of `steps` steps. */
function ringBytes({ lm }: KyutaiConfig, steps: number): number {
  const slots = Math.max(1, Math.min(maxRingSlots(lm), steps - 1));
  return 2 * lm.numLayers * lm.dim * slots * FLOAT32_BYTES;
}

/** Embedding tables and norms are read as float32; the other 2-D tensors are linear layers' matrices. */
function isMatrix(name: string, dimensions: number): boolean {
  return dimensions === 2 && !/^(emb\.\d+|text_emb)\.weight$/.test(name);
}

async function floatLmBytes(path: string, computeBytes: number): Promise<number> {
  const reader = await openSafetensors(path);
  try {
    return reader.tensors
      .filter(({ name }) => !name.startsWith(UNUSED_PREFIX))
      .reduce(
        (sum, { name, shape, elementCount }) =>
          sum + elementCount * (isMatrix(name, shape.length) ? computeBytes : FLOAT32_BYTES),
        0,
      );
  } finally {
    await reader.close();
  }
}

async function quantizedLmBytes(
  quantized: QuantizedModel,
  mode: SubstitutionMode,
  computeBytes: number,
): Promise<number> {
  const gguf = await quantized.open();
  try {
    return gguf.tensors
      .filter(({ name }) => !name.startsWith(UNUSED_PREFIX))
      .reduce((sum, { name, type, ne }) => {
        const elements = ne.reduce((product, dim) => product * dim, 1);
        if (!isMatrix(name, ne.length)) return sum + elements * FLOAT32_BYTES;
        if (type === 'Q4_0' && mode === 'matmulnbits')
          return sum + elements * Q4_0_NIBBLE_BYTES_PER_VALUE + (elements / GGML_TYPES.Q4_0.blockSize) * computeBytes;
        return sum + elements * computeBytes;
      }, 0);
  } finally {
    await gguf.close();
  }
}

/** Mimi's encoder side (the checkpoint also holds its decoder, which the engine does not load), float32. */
async function mimiEncoderBytes(path: string): Promise<number> {
  const reader = await openSafetensors(path);
  try {
    return reader.tensors
      .filter(({ name }) => !/^(decoder|upsample)/.test(name))
      .reduce((sum, { elementCount }) => sum + elementCount * FLOAT32_BYTES, 0);
  } finally {
    await reader.close();
  }
}
