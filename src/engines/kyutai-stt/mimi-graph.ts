// Mimi's encoder as one ONNX graph: 24 kHz audio in, the codes of the active codebooks out at the
// frame rate (12.5 Hz). It follows moshi's MimiModel.encode on a whole clip: the SEANet encoder
// (causal convolutions, left-padded with zeros), the encoder transformer (LayerNorm, layer scale,
// interleaved RoPE, attention limited to a causal window), the strided downsampling convolution
// (left-padded with copies of the first frame), then the split residual vector quantizer. Every
// part is causal, so a clip followed by silence gives the codes the streaming encoder gives.

import { QuantgateError } from '../../common/errors.js';
import { intAttribute, intsAttribute, stringAttribute } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import type { KyutaiConfig, MimiConfig } from './config.js';
import { GraphWriter, type OnnxGraph } from './graph.js';
import { attentionWeightNames, gelu, layerNorm, linear, ropeTables, rotate } from './layers.js';
import { expectShape, type MatrixWeight, type WeightSource } from './weights.js';

export interface MimiGraphOptions {
  /** Also output the latents of each stage (`seanet`, `transformer` at the encoder rate, `latent` at the frame rate). */
  latents?: boolean;
  /** Where the graph's folder is made; the system's temp folder unless given. */
  tempDir?: string;
}

export const MIMI_INPUT = 'audio';
export const MIMI_OUTPUT = 'codes';

const LAYER_NORM_EPS = 1e-5;
const CODEBOOK_EPSILON = 1e-5;

/** Samples per frame: the SEANet hop times the downsampling stride (1920 for the real Mimi). */
export function mimiFrameSize(config: MimiConfig): number {
  return hopLength(config) * downsampleStride(config);
}

/**
 * Mimi encodes each utterance padded with silence to a multiple of this many frames (2 s at
 * 12.5 Hz), and the codes of the frames past the utterance's own are dropped. Since Mimi is causal
 * the codes kept do not change, and onnxruntime sees few input shapes: on CUDA, cuDNN searches
 * for the best algorithm of each convolution once per input shape.
 */
const SHAPE_FRAMES = 25;

/**
 * How an utterance of `sampleCount` samples is framed: `frames` LM steps (silence prefix, the
 * audio in whole frames, the audio delay's silence), of which the prefix takes `prefixFrames`,
 * and the `encoded` frames Mimi runs on, padded up to a multiple of SHAPE_FRAMES.
 */
export function framing(
  { stt, mimi }: Pick<KyutaiConfig, 'stt' | 'mimi'>,
  sampleCount: number,
): { frames: number; encoded: number; prefixFrames: number } {
  const chunks = (seconds: number) => Math.ceil(seconds * mimi.frameRate);
  const prefixFrames = chunks(stt.silencePrefixSeconds);
  const frames = prefixFrames + Math.ceil(sampleCount / mimiFrameSize(mimi)) + chunks(stt.audioDelaySeconds);
  return { frames, encoded: Math.ceil(frames / SHAPE_FRAMES) * SHAPE_FRAMES, prefixFrames };
}

/** Input `audio` float32 [batch, 1, samples], samples a multiple of the frame size; output `codes` int64 [batch, codebooks, frames]. */
export async function buildMimiGraph(
  config: MimiConfig,
  weights: WeightSource,
  options: MimiGraphOptions = {},
): Promise<OnnxGraph> {
  return GraphWriter.write(async (g) => {
    const audio = g.input(MIMI_INPUT, 'float32', ['batch', 1, 'samples']);
    const encoded = await seanet(g, audio, config, weights);
    const transformed = await transformer(g, encoded, config, weights);
    const latent = await downsample(g, transformed, config, weights);
    g.output(await quantize(g, latent, config, weights), MIMI_OUTPUT, 'int64', ['batch', config.codebooks, 'frames']);
    if (options.latents) {
      g.output(encoded, 'seanet', 'float32');
      g.output(transformed, 'transformer', 'float32');
      g.output(latent, 'latent', 'float32');
    }
  }, options.tempDir);
}

function hopLength(config: MimiConfig): number {
  return config.seanet.ratios.reduce((product, ratio) => product * ratio, 1);
}

function downsampleStride(config: MimiConfig): number {
  const encoderRate = config.sampleRate / hopLength(config);
  const stride = encoderRate / config.frameRate;
  if (!Number.isInteger(stride)) {
    throw new QuantgateError(
      `Mimi's config gives an encoder rate of ${encoderRate} Hz (sample rate over the product of the ratios), not a whole multiple of its frame rate ${config.frameRate} Hz; fix the Mimi config`,
    );
  }
  return stride;
}

interface ConvSpec {
  input: number;
  output: number;
  kernel: number;
  stride?: number;
  dilation?: number;
}

/** moshi's StreamingConv1d (with bias) on a whole clip: left padding of (k − 1)·dilation + 1 − stride zeros. */
async function conv(g: GraphWriter, x: string, weights: WeightSource, prefix: string, spec: ConvSpec): Promise<string> {
  const { input, output, kernel, stride = 1, dilation = 1 } = spec;
  const inputs = [
    x,
    await floatWeight(g, weights, `${prefix}.weight`, [output, input, kernel]),
    await floatWeight(g, weights, `${prefix}.bias`, [output]),
  ];
  const padding = (kernel - 1) * dilation + 1 - stride;
  return g.op('Conv', inputs, [
    intsAttribute('kernel_shape', [kernel]),
    intsAttribute('strides', [stride]),
    intsAttribute('dilations', [dilation]),
    intsAttribute('pads', [padding, 0]),
  ]);
}

/** moshi's SEANetEncoder: its `model` list holds convolutions, residual blocks and ELUs in order. */
async function seanet(g: GraphWriter, audio: string, config: MimiConfig, weights: WeightSource): Promise<string> {
  const {
    nFilters,
    dimension,
    kernelSize,
    residualKernelSize,
    lastKernelSize,
    nResidualLayers,
    dilationBase,
    compress,
    ratios,
  } = config.seanet;
  const layer = (index: number) => `encoder.model.${index}.conv.conv`;
  let channels = nFilters;
  let x = await conv(g, audio, weights, layer(0), { input: 1, output: channels, kernel: kernelSize });
  let index = 1;
  for (const ratio of [...ratios].reverse()) {
    for (let j = 0; j < nResidualLayers; j++) {
      const block = `encoder.model.${index}.block`;
      const hidden = channels / compress;
      const narrowed = await conv(g, elu(g, x), weights, `${block}.1.conv.conv`, {
        input: channels,
        output: hidden,
        kernel: residualKernelSize,
        dilation: dilationBase ** j,
      });
      x = g.op('Add', [
        x,
        await conv(g, elu(g, narrowed), weights, `${block}.3.conv.conv`, {
          input: hidden,
          output: channels,
          kernel: 1,
        }),
      ]);
      index++;
    }
    x = await conv(g, elu(g, x), weights, layer(index + 1), {
      input: channels,
      output: 2 * channels,
      kernel: 2 * ratio,
      stride: ratio,
    });
    channels *= 2;
    index += 2;
  }
  return conv(g, elu(g, x), weights, layer(index + 1), { input: channels, output: dimension, kernel: lastKernelSize });
}

async function floatWeight(
  g: GraphWriter,
  weights: WeightSource,
  name: string,
  shape: readonly number[],
): Promise<string> {
  expectShape(weights, name, shape);
  return g.floatWeight(name, shape, await weights.floats(name));
}

async function floats(weights: WeightSource, name: string, length: number): Promise<Float32Array> {
  expectShape(weights, name, [length]);
  return weights.floats(name);
}

async function matrix(weights: WeightSource, name: string, rows: number, cols: number): Promise<MatrixWeight> {
  expectShape(weights, name, [rows, cols]);
  return weights.matrix(name, 'F32');
}

function elu(g: GraphWriter, x: string): string {
  return g.op('Elu', [x]);
}

/** The encoder transformer on [batch, channels, time]; its residual stream is kept as [batch·time, channels]. */
async function transformer(g: GraphWriter, x: string, config: MimiConfig, weights: WeightSource): Promise<string> {
  const { dModel, numHeads, numLayers, dimFeedforward, context, maxPeriod } = config.transformer;
  const headDim = dModel / numHeads;
  const timeMajor = g.op('Transpose', [x], [intsAttribute('perm', [0, 2, 1])]);
  const time = g.op('Slice', [g.op('Shape', [timeMajor]), g.ints('starts', [1], [1]), g.ints('ends', [1], [2])]);
  const steps = g.op('Range', [g.ints('zero', [], [0]), g.op('Squeeze', [time]), g.ints('one', [], [1])]);
  const rope = ropeTables(g, g.op('Cast', [steps], [intAttribute('to', DataType.FLOAT)]), headDim, maxPeriod);
  const mask = windowMask(g, steps, context);
  const heads = g.op(
    'Concat',
    [g.ints('batch', [1], [-1]), time, g.ints('heads', [2], [numHeads, headDim])],
    [intAttribute('axis', 0)],
  );
  let stream = g.op('Reshape', [timeMajor, g.ints('shape', [2], [-1, dModel])]);

  for (let layer = 0; layer < numLayers; layer++) {
    const prefix = `encoder_transformer.transformer.layers.${layer}`;
    const vector = (name: string) => floats(weights, `${prefix}.${name}`, dModel);
    const [inProj, outProj] = attentionWeightNames(weights, `${prefix}.self_attn`);

    const normed = layerNorm(
      g,
      stream,
      await vector('norm1.weight'),
      await vector('norm1.bias'),
      LAYER_NORM_EPS,
      `${prefix}.norm1`,
    );
    const [q, k, v] = g.ops(
      'Split',
      [
        linear(g, normed, await matrix(weights, inProj, 3 * dModel, dModel), inProj, 'F32'),
        g.ints('split', [3], [dModel, dModel, dModel]),
      ],
      3,
      [intAttribute('axis', 1)],
    );
    const perHead = (value: string) =>
      g.op('Transpose', [g.op('Reshape', [value, heads])], [intsAttribute('perm', [0, 2, 1, 3])]);
    const query = rotate(g, perHead(q!), 4, headDim, rope);
    const keyT = g.op('Transpose', [rotate(g, perHead(k!), 4, headDim, rope)], [intsAttribute('perm', [0, 1, 3, 2])]);
    const scores = g.op('Add', [
      g.op('Mul', [g.op('MatMul', [query, keyT]), g.floats('scale', [], [1 / Math.sqrt(headDim)])]),
      mask,
    ]);
    const attended = g.op('MatMul', [g.op('Softmax', [scores], [intAttribute('axis', -1)]), perHead(v!)]);
    const merged = g.op('Reshape', [
      g.op('Transpose', [attended], [intsAttribute('perm', [0, 2, 1, 3])]),
      g.ints('shape', [2], [-1, dModel]),
    ]);
    const attention = linear(g, merged, await matrix(weights, outProj, dModel, dModel), outProj, 'F32');
    stream = g.op('Add', [
      stream,
      g.op('Mul', [attention, g.floats(`${prefix}.layer_scale_1`, [dModel], await vector('layer_scale_1.scale'))]),
    ]);

    const normed2 = layerNorm(
      g,
      stream,
      await vector('norm2.weight'),
      await vector('norm2.bias'),
      LAYER_NORM_EPS,
      `${prefix}.norm2`,
    );
    const hidden = gelu(
      g,
      linear(
        g,
        normed2,
        await matrix(weights, `${prefix}.linear1.weight`, dimFeedforward, dModel),
        `${prefix}.linear1`,
        'F32',
      ),
    );
    const feedForward = linear(
      g,
      hidden,
      await matrix(weights, `${prefix}.linear2.weight`, dModel, dimFeedforward),
      `${prefix}.linear2`,
      'F32',
    );
    stream = g.op('Add', [
      stream,
      g.op('Mul', [feedForward, g.floats(`${prefix}.layer_scale_2`, [dModel], await vector('layer_scale_2.scale'))]),
    ]);
  }
  const restored = g.op('Reshape', [
    stream,
    g.op('Concat', [g.ints('batch', [1], [-1]), time, g.ints('channels', [1], [dModel])], [intAttribute('axis', 0)]),
  ]);
  return g.op('Transpose', [restored], [intsAttribute('perm', [0, 2, 1])]);
}

/** 0 where query t may see key p (0 ≤ t − p < context), −∞ elsewhere: [time, time]. */
function windowMask(g: GraphWriter, steps: string, context: number): string {
  const delta = g.op('Sub', [
    g.op('Unsqueeze', [steps, g.ints('axes', [1], [1])]),
    g.op('Unsqueeze', [steps, g.ints('axes', [1], [0])]),
  ]);
  const visible = g.op('And', [
    g.op('GreaterOrEqual', [delta, g.ints('zero', [], [0])]),
    g.op('Less', [delta, g.ints('context', [], [context])]),
  ]);
  return g.op('Where', [visible, g.floats('open', [], [0]), g.floats('closed', [], [-Infinity])]);
}

/** The learnt stride-2 convolution to the frame rate, left-padded with copies of the first frame. */
async function downsample(g: GraphWriter, x: string, config: MimiConfig, weights: WeightSource): Promise<string> {
  const stride = downsampleStride(config);
  const kernel = 2 * stride;
  const padded = g.op(
    'Pad',
    [x, g.ints('pads', [6], [0, 0, kernel - stride, 0, 0, 0])],
    [stringAttribute('mode', 'edge')],
  );
  const channels = config.seanet.dimension;
  return g.op(
    'Conv',
    [padded, await floatWeight(g, weights, 'downsample.conv.conv.conv.weight', [channels, channels, kernel])],
    [intsAttribute('kernel_shape', [kernel]), intsAttribute('strides', [stride])],
  );
}

/**
 * The split RVQ: the first codebook quantizes one projection of the latent, the others quantize a
 * second projection residually. Each level picks the nearest centroid (squared Euclidean
 * distance, first index on ties) and subtracts it.
 */
async function quantize(g: GraphWriter, latent: string, config: MimiConfig, weights: WeightSource): Promise<string> {
  const codes: string[] = [];
  for (const [group, levels] of [
    ['rvq_first', 1],
    ['rvq_rest', config.codebooks - 1],
  ] as const) {
    if (levels === 0) continue;
    const prefix = `quantizer.${group}`;
    const projection = await floatWeight(g, weights, `${prefix}.input_proj.weight`, [
      config.quantizer.dimension,
      config.seanet.dimension,
      1,
    ]);
    const projected = g.op('Conv', [latent, projection], [intsAttribute('kernel_shape', [1])]);
    let residual = g.op('Transpose', [projected], [intsAttribute('perm', [0, 2, 1])]);
    for (let level = 0; level < levels; level++) {
      const centroids = await codebook(
        weights,
        `${prefix}.vq.layers.${level}._codebook`,
        config.quantizer.bins,
        config.quantizer.dimension,
      );
      const code = nearest(g, residual, centroids, `${prefix}.${level}`, config.quantizer.dimension);
      codes.push(g.op('Unsqueeze', [code.index, g.ints('axes', [1], [1])]));
      residual = g.op('Sub', [residual, code.centroid]);
    }
  }
  return codes.length === 1 ? codes[0]! : g.op('Concat', codes, [intAttribute('axis', 1)]);
}

/** Centroids as moshi computes them: embedding_sum / max(cluster_usage, ε), in float32. */
async function codebook(weights: WeightSource, prefix: string, bins: number, dimension: number): Promise<Float32Array> {
  const sumsName = pick(weights, [`${prefix}.embedding_sum`, `${prefix}.embed_avg`, `${prefix}.embed_sum`]);
  const usageName = pick(weights, [`${prefix}.cluster_usage`, `${prefix}.cluster_size`]);
  expectShape(weights, sumsName, [bins, dimension]);
  const [sums, usage] = [await weights.floats(sumsName), await floats(weights, usageName, bins)];
  const epsilon = Math.fround(CODEBOOK_EPSILON);
  return sums.map((sum, i) => Math.fround(sum / Math.max(usage[Math.floor(i / dimension)]!, epsilon)));
}

function pick(weights: WeightSource, names: readonly string[]): string {
  return names.find((name) => weights.has(name)) ?? names[0]!;
}

function nearest(
  g: GraphWriter,
  x: string,
  centroids: Float32Array,
  base: string,
  dimension: number,
): { index: string; centroid: string } {
  const count = centroids.length / dimension;
  const transposed = new Float32Array(centroids.length);
  const norms = new Float32Array(count);
  for (let c = 0; c < count; c++) {
    let norm = 0;
    for (let d = 0; d < dimension; d++) {
      const value = centroids[c * dimension + d]!;
      transposed[d * count + c] = value;
      norm += value * value;
    }
    norms[c] = norm;
  }
  const table = g.floatWeight(`${base}.centroids`, [count, dimension], centroids);
  const products = g.op('MatMul', [x, g.floatWeight(`${base}.centroids_t`, [dimension, count], transposed)]);
  const squares = g.op('ReduceSum', [g.op('Mul', [x, x]), g.ints('axes', [1], [-1])], [intAttribute('keepdims', 1)]);
  const distances = g.op('Add', [
    g.op('Sub', [squares, g.op('Mul', [products, g.floats('two', [], [2])])]),
    g.floats(`${base}.norms`, [count], norms),
  ]);
  const index = g.op(
    'ArgMin',
    [distances],
    [intAttribute('axis', -1), intAttribute('keepdims', 0), intAttribute('select_last_index', 0)],
  );
  return { index, centroid: g.op('Gather', [table, index]) };
}
