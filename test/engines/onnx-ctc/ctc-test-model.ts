// A tiny CTC model for the onnx-ctc tests, built with the project's ONNX builder in the Hugging
// Face export layout. Every frame of 32 samples is one token's "pattern": a row of the 32×32
// Hadamard matrix. A strided Conv correlates each frame with every row, a MatMul picks each
// token's row into its logit, and a bias makes silence decode to "q" — so frames of padding that
// leak into a transcript show up as a q. The ONNX head weight is renamed and stored transposed, as
// torch exports Linear layers; the safetensors hold the PyTorch layout, so the candidate must
// find it by content. Small noise in the head makes Q4_0 lossy.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelBuilder, intAttribute, intsAttribute } from '../../../src/engines/onnx/builder.js';
import { writeModel } from '../../../src/engines/onnx/model.js';
import type { ModelProto } from '../../../src/engines/onnx/proto.js';
import { float32Tensor, int64Tensor, transposeMatrix } from '../../../src/engines/onnx/tensors.js';
import { weights as gaussian, writeTestModel } from '../../helpers/model.js';

export const FRAME = 32;
export const SAMPLE_RATE = 16000;
export const TOKENS = ['<pad>', '<s>', '</s>', '<unk>', '|', 'd', 'e', 'h', 'l', 'o', 'r', 'w', 'q'] as const;
export type Token = (typeof TOKENS)[number];
const SILENCE_TOKEN: Token = 'q';
export const CONV_WEIGHT = 'encoder.conv.weight';
export const HEAD_WEIGHT = 'ctc_head.weight';
export const HEAD_BIAS = 'ctc_head.bias';
export const ONNX_HEAD_WEIGHT = 'onnx::MatMul_17';

/** Row `row` of the Sylvester Hadamard matrix of order 32: ±1, rows mutually orthogonal. */
function hadamard(row: number, column: number): number {
  let bits = row & column;
  let parity = 0;
  while (bits) {
    parity ^= bits & 1;
    bits >>= 1;
  }
  return parity ? -1 : 1;
}

/** Token `id` is drawn with Hadamard row id + 1 (row 0 is constant, which normalization removes). */
function patternRow(id: number): number {
  return id + 1;
}

export interface CtcWeights {
  /** [32 channels, 1, 32 taps], PyTorch's Conv1d layout. */
  conv: Float32Array;
  /** [vocab, 32], PyTorch's Linear layout. */
  head: Float32Array;
  bias: Float32Array;
}

export function ctcWeights(): CtcWeights {
  const conv = Float32Array.from({ length: FRAME * FRAME }, (_, i) => hadamard(Math.floor(i / FRAME), i % FRAME));
  const noise = gaussian(TOKENS.length * FRAME, 7, 0.03);
  const head = Float32Array.from({ length: TOKENS.length * FRAME }, (_, i) => {
    const token = Math.floor(i / FRAME);
    const channel = i % FRAME;
    const picks = TOKENS[token] !== SILENCE_TOKEN && channel === patternRow(token);
    return (picks ? 1 : 0) + noise[i];
  });
  const bias = Float32Array.from(TOKENS, (token) => (token === SILENCE_TOKEN ? 0.5 : 0));
  return { conv, head, bias };
}

/** The graph; with `mask`, it takes attention_mask and zeroes the samples it masks. */
export function ctcModel(weights: CtcWeights, options: { mask?: boolean } = {}): ModelProto {
  const vocab = TOKENS.length;
  const builder = new ModelBuilder()
    .input('input_values', 'float32', ['batch', 'samples'])
    .initializer(float32Tensor(CONV_WEIGHT, [FRAME, 1, FRAME], weights.conv))
    .initializer(float32Tensor(ONNX_HEAD_WEIGHT, [FRAME, vocab], transposeMatrix(weights.head, vocab, FRAME)))
    .initializer(float32Tensor(HEAD_BIAS, [vocab], weights.bias))
    .initializer(int64Tensor('channel_axis', [1], [1]));
  let signal = 'input_values';
  if (options.mask) {
    builder
      .input('attention_mask', 'int64', ['batch', 'samples'])
      .node('Cast', ['attention_mask'], ['mask_float'], { attributes: [intAttribute('to', 1)] })
      .node('Mul', ['input_values', 'mask_float'], ['masked']);
    signal = 'masked';
  }
  return builder
    .node('Unsqueeze', [signal, 'channel_axis'], ['waveform'])
    .node('Conv', ['waveform', CONV_WEIGHT], ['correlations'], {
      attributes: [intsAttribute('kernel_shape', [FRAME]), intsAttribute('strides', [FRAME])],
    })
    .node('Transpose', ['correlations'], ['frames'], { attributes: [intsAttribute('perm', [0, 2, 1])] })
    .node('MatMul', ['frames', ONNX_HEAD_WEIGHT], ['scores'])
    .node('Add', ['scores', HEAD_BIAS], ['logits'])
    .output('logits', 'float32', ['batch', 'frames', vocab])
    .build();
}

export type FrameConfig = 'convolutions' | 'ratio' | 'none';

export interface CtcFolderOptions {
  frames?: FrameConfig;
  mask?: boolean;
  /** Replaces or adds config.json keys. */
  config?: Record<string, unknown>;
}

/** Writes the whole export into `dir`: model.onnx, model.safetensors, vocab.json, config.json, preprocessor_config.json. */
export async function writeCtcModelFolder(dir: string, options: CtcFolderOptions = {}): Promise<string> {
  const weights = ctcWeights();
  const frames = options.frames ?? 'convolutions';
  const geometry =
    frames === 'convolutions'
      ? { conv_kernel: [FRAME], conv_stride: [FRAME] }
      : frames === 'ratio'
        ? { inputs_to_logits_ratio: FRAME }
        : {};
  await writeTestModel(
    dir,
    [
      { name: CONV_WEIGHT, dtype: 'F32', shape: [FRAME, 1, FRAME], values: weights.conv },
      { name: HEAD_WEIGHT, dtype: 'F32', shape: [TOKENS.length, FRAME], values: weights.head },
      { name: HEAD_BIAS, dtype: 'F32', shape: [TOKENS.length], values: weights.bias },
    ],
    { model_type: 'wav2vec2', vocab_size: TOKENS.length, pad_token_id: 0, ...geometry, ...options.config },
  );
  await writeModel(join(dir, 'model.onnx'), ctcModel(weights, { mask: options.mask ?? false }));
  await writeFile(join(dir, 'vocab.json'), JSON.stringify(Object.fromEntries(TOKENS.map((token, id) => [token, id]))));
  await writeFile(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify({
      feature_extractor_type: 'Wav2Vec2FeatureExtractor',
      sampling_rate: SAMPLE_RATE,
      do_normalize: true,
    }),
  );
  return dir;
}

/** Audio whose frames draw `tokens` in turn, at `amplitude`, followed by `tail` zero samples (a partial frame). */
export function speak(tokens: readonly Token[], { amplitude = 0.25, tail = 0 } = {}): Float32Array {
  const audio = new Float32Array(tokens.length * FRAME + tail);
  tokens.forEach((token, frame) => {
    const row = patternRow(TOKENS.indexOf(token));
    for (let i = 0; i < FRAME; i++) audio[frame * FRAME + i] = amplitude * hadamard(row, i);
  });
  return audio;
}

export function tokenIds(tokens: readonly Token[]): number[] {
  return tokens.map((token) => TOKENS.indexOf(token));
}
