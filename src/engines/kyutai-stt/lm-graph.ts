// One decoding step of the Kyutai STT LM as an ONNX graph, for a batch of streams that all stand at
// the same step. The input embedding is the sum of the audio codebooks' embeddings and the text
// embedding; then come pre-norm transformer layers (RMSNorm, attention with interleaved RoPE over
// a causal window, SiLU-gated feed-forward), the output RMSNorm and the text head.
//
// The KV cache is a ring the caller owns, of `slots` entries per layer (at most context − 1, the
// previous steps the window still sees; fewer when the streams are shorter): the keys, already
// rotated, stored transposed as [batch, heads, head_dim, slots], and the values as
// [batch, heads, slots, head_dim]. The graph attends over the ring plus the current step and
// outputs only the current step's key and value, which the caller writes into slot
// `position mod slots`. Nothing in the graph copies the cache, and on CPU onnxruntime reads it
// straight from the caller's buffers. Slots not written yet (those ≥ position) are masked.

import { intAttribute } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import type { LmConfig } from './config.js';
import { GraphWriter, type OnnxGraph } from './graph.js';
import { attentionWeightNames, linear, rmsNorm, ropeTables, rotate, silu } from './layers.js';
import { expectShape, type FloatType, type MatrixWeight, type WeightSource } from './weights.js';

export const LM_INPUTS = {
  /** int64 [batch, 1 + n_q]: the text token, then one token per audio codebook. */
  tokens: 'tokens',
  /** int64 scalar: the step, 0-based; RoPE's position. */
  position: 'position',
  /** float32 [batch, heads, head_dim, slots]: the ring of rotated keys. */
  pastKey: (layer: number) => `past_key.${layer}`,
  /** float32 [batch, heads, slots, head_dim]: the ring of values. */
  pastValue: (layer: number) => `past_value.${layer}`,
} as const;

export const LM_OUTPUTS = {
  /** float32 [batch, text_card]. */
  logits: 'logits',
  /** float32 [batch, dim]: after the output norm, what the text head and the VAD heads read. */
  hidden: 'hidden',
  /** float32 [batch, heads, head_dim]: this step's rotated key. */
  key: (layer: number) => `key.${layer}`,
  /** float32 [batch, heads, head_dim]: this step's value. */
  value: (layer: number) => `value.${layer}`,
  /** float32 [batch, in]: the input of the linear layer with this weight, when the graph captures it. */
  linearInput: (weight: string) => `input:${weight}`,
} as const;

/** The most ring slots a stream can use: the steps before the current one that the window still sees. */
export function maxRingSlots(config: LmConfig): number {
  return config.context - 1;
}

export interface LmGraphOptions {
  /** Float type of the linear layers' products (float weights are stored in it); float32 elsewhere. */
  compute: FloatType;
  /** Where the graph's folder is made; the system's temp folder unless given. */
  tempDir?: string;
  /** Weights whose linear layer's input becomes an output (`LM_OUTPUTS.linearInput`). */
  capture?: ReadonlySet<string>;
}

/** The weights of the LM's linear layers, each with its input's width, in graph order. */
export function lmLinearWeights(config: LmConfig, weights: Pick<WeightSource, 'has' | 'shape'>): [string, number][] {
  const { dim } = config;
  const names: [string, number][] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    const prefix = `transformer.layers.${layer}`;
    const [inProj, outProj] = attentionWeightNames(weights, `${prefix}.self_attn`);
    const hiddenSize = weights.shape(`${prefix}.gating.linear_out.weight`)[1]!;
    names.push([inProj, dim], [outProj, dim], [`${prefix}.gating.linear_in.weight`, dim]);
    names.push([`${prefix}.gating.linear_out.weight`, hiddenSize]);
  }
  names.push(['text_linear.weight', dim]);
  return names;
}

export async function buildLmStepGraph(
  config: LmConfig,
  weights: WeightSource,
  options: LmGraphOptions,
): Promise<OnnxGraph> {
  const { dim, numLayers, normEps } = config;
  const heads = config.numHeads;
  const headDim = dim / heads;
  return GraphWriter.write(async (g) => {
    const tokens = g.input(LM_INPUTS.tokens, 'int64', ['batch', config.nQ + 1]);
    const position = g.input(LM_INPUTS.position, 'int64', []);
    const matrix = async (name: string, rows: number, cols: number) => {
      expectShape(weights, name, [rows, cols]);
      return weights.matrix(name, options.compute);
    };
    /** `linear`, whose input is also an output when the weight is captured. */
    const project = (x: string, weight: MatrixWeight, name: string) => {
      if (options.capture?.has(name)) g.output(x, LM_OUTPUTS.linearInput(name), 'float32', ['batch', weight.cols]);
      return linear(g, x, weight, name, options.compute);
    };
    const norm = async (x: string, name: string) => {
      expectShape(weights, name, [1, 1, dim]);
      return rmsNorm(g, x, await weights.floats(name), normEps, name);
    };

    let stream = await embed(g, tokens, config, weights);
    const rope = ropeTables(
      g,
      g.op('Reshape', [g.op('Cast', [position], [intAttribute('to', DataType.FLOAT)]), g.ints('shape', [1], [1])]),
      headDim,
      config.maxPeriod,
    );
    const past = Array.from({ length: numLayers }, (_, layer) => ({
      key: g.input(LM_INPUTS.pastKey(layer), 'float32', ['batch', heads, headDim, 'slots']),
      value: g.input(LM_INPUTS.pastValue(layer), 'float32', ['batch', heads, 'slots', headDim]),
    }));
    const slots = g.op('Slice', [g.op('Shape', [past[0]!.key]), g.ints('starts', [1], [3]), g.ints('ends', [1], [4])]);
    const mask = ringMask(g, position, slots);
    const split = g.op('Concat', [slots, g.ints('current', [1], [1])], [intAttribute('axis', 0)]);
    const headShape = g.ints('heads', [3], [0, heads, headDim]);

    for (let layer = 0; layer < numLayers; layer++) {
      const prefix = `transformer.layers.${layer}`;
      const [inProj, outProj] = attentionWeightNames(weights, `${prefix}.self_attn`);

      const projected = project(
        await norm(stream, `${prefix}.norm1.alpha`),
        await matrix(inProj, 3 * dim, dim),
        inProj,
      );
      const [q, k, v] = g.ops('Split', [projected, g.ints('split', [3], [dim, dim, dim])], 3, [
        intAttribute('axis', 1),
      ]);
      const query = rotate(g, g.op('Reshape', [q!, headShape]), 3, headDim, rope);
      const key = rotate(g, g.op('Reshape', [k!, headShape]), 3, headDim, rope);
      const value = g.op('Reshape', [v!, headShape]);
      g.output(key, LM_OUTPUTS.key(layer), 'float32', ['batch', heads, headDim]);
      g.output(value, LM_OUTPUTS.value(layer), 'float32', ['batch', heads, headDim]);

      const attended = attend(
        g,
        { query, key, value, pastKey: past[layer]!.key, pastValue: past[layer]!.value, mask, split },
        heads,
        headDim,
      );
      const merged = g.op('Reshape', [attended, g.ints('shape', [2], [0, dim])]);
      stream = g.op('Add', [stream, project(merged, await matrix(outProj, dim, dim), outProj)]);

      const hiddenSize = weights.shape(`${prefix}.gating.linear_out.weight`)[1]!;
      const gateUp = project(
        await norm(stream, `${prefix}.norm2.alpha`),
        await matrix(`${prefix}.gating.linear_in.weight`, 2 * hiddenSize, dim),
        `${prefix}.gating.linear_in.weight`,
      );
      const [gate, up] = g.ops('Split', [gateUp, g.ints('split', [2], [hiddenSize, hiddenSize])], 2, [
        intAttribute('axis', 1),
      ]);
      const gated = g.op('Mul', [silu(g, gate!), up!]);
      stream = g.op('Add', [
        stream,
        project(
          gated,
          await matrix(`${prefix}.gating.linear_out.weight`, dim, hiddenSize),
          `${prefix}.gating.linear_out.weight`,
        ),
      ]);
    }

    const hidden = await norm(stream, 'out_norm.alpha');
    g.output(hidden, LM_OUTPUTS.hidden, 'float32', ['batch', dim]);
    const logits = project(hidden, await matrix('text_linear.weight', config.textCard, dim), 'text_linear.weight');
    g.output(logits, LM_OUTPUTS.logits, 'float32', ['batch', config.textCard]);
  }, options.tempDir);
}

/** Σ emb[k][audio_k] over the codebooks, then + text_emb[text], in moshi's order of additions. */
async function embed(g: GraphWriter, tokens: string, config: LmConfig, weights: WeightSource): Promise<string> {
  const lookup = async (column: number, name: string, rows: number) => {
    expectShape(weights, name, [rows, config.dim]);
    const table = g.floatWeight(name, [rows, config.dim], await weights.floats(name));
    return g.op('Gather', [table, g.op('Gather', [tokens, g.ints('column', [], [column])], [intAttribute('axis', 1)])]);
  };
  const parts: string[] = [];
  for (let codebook = 0; codebook < config.nQ; codebook++)
    parts.push(await lookup(codebook + 1, `emb.${codebook}.weight`, config.card + 1));
  parts.push(await lookup(0, 'text_emb.weight', config.textCard + 1));
  return parts.reduce((sum, part) => g.op('Add', [sum, part]));
}

/** [slots + 1]: 0 for the ring slots already written and for the current step, −∞ for the rest. */
function ringMask(g: GraphWriter, position: string, slots: string): string {
  const slot = g.op('Range', [g.ints('zero', [], [0]), g.op('Squeeze', [slots]), g.ints('one', [], [1])]);
  const written = g.op('Where', [
    g.op('Less', [slot, position]),
    g.floats('open', [], [0]),
    g.floats('closed', [], [-Infinity]),
  ]);
  return g.op('Concat', [written, g.floats('current', [1], [0])], [intAttribute('axis', 0)]);
}

interface AttentionValues {
  /** [batch, heads, head_dim]. */
  query: string;
  key: string;
  value: string;
  pastKey: string;
  pastValue: string;
  mask: string;
  /** int64 [2]: the ring's slot count, then 1. */
  split: string;
}

/** Softmax attention of the query over the ring and the current step: [batch, heads, 1, head_dim]. */
function attend(g: GraphWriter, values: AttentionValues, heads: number, headDim: number): string {
  const query = g.op('Reshape', [values.query, g.ints('shape', [4], [0, heads, 1, headDim])]);
  const pastScores = g.op('MatMul', [query, values.pastKey]);
  const currentScore = g.op(
    'ReduceSum',
    [g.op('Mul', [values.query, values.key]), g.ints('axes', [1], [-1])],
    [intAttribute('keepdims', 1)],
  );
  const scores = g.op(
    'Concat',
    [pastScores, g.op('Unsqueeze', [currentScore, g.ints('axes', [1], [2])])],
    [intAttribute('axis', -1)],
  );
  const scaled = g.op('Add', [g.op('Mul', [scores, g.floats('scale', [], [1 / Math.sqrt(headDim)])]), values.mask]);
  const [pastWeights, currentWeight] = g.ops(
    'Split',
    [g.op('Softmax', [scaled], [intAttribute('axis', -1)]), values.split],
    2,
    [intAttribute('axis', -1)],
  );
  const current = g.op('Mul', [
    currentWeight!,
    g.op('Reshape', [values.value, g.ints('shape', [4], [0, heads, 1, headDim])]),
  ]);
  return g.op('Add', [g.op('MatMul', [pastWeights!, values.pastValue]), current]);
}
