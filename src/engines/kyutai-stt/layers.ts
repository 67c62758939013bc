// The building blocks Mimi and the STT LM share, written as plain ONNX ops with PyTorch's order of
// operations so that float32 results stay within rounding of moshi's: linear layers (Gemm on
// float weights, com.microsoft::MatMulNBits on Q4_0 blocks), RMSNorm and LayerNorm, SiLU and
// exact GELU, and moshi's interleaved rotary embedding.

import { encode } from '../../quant/codec.js';
import { floatAttribute, intAttribute, intsAttribute } from '../onnx/builder.js';
import { MICROSOFT_DOMAIN } from '../onnx/candidate.js';
import { q4_0ToMatMulNBits, Q4_0_BLOCK_VALUES } from '../onnx/matmulnbits.js';
import { DataType } from '../onnx/proto.js';
import type { GraphWriter } from './graph.js';
import type { FloatType, MatrixWeight, WeightSource } from './weights.js';

/**
 * onnxruntime's MatMulNBits computes in float32 at accuracy level 0 (it dequantizes the blocks),
 * so the candidate differs from the reference only by the GGUF's rounding of the weights.
 */
const MATMULNBITS_ACCURACY_LEVEL = 0;

/**
 * `x` [rows, cols] times the transpose of `weight` [out, in]: PyTorch's Linear without bias. With
 * `compute` F16 the product runs in float16 (float weights must then come as F16) and `x` and the
 * result are cast around it; the rest of the graph stays float32.
 */
export function linear(g: GraphWriter, x: string, weight: MatrixWeight, base: string, compute: FloatType): string {
  if (weight.type !== 'Q4_0' && weight.type !== compute)
    throw new RangeError(`${base}: a ${weight.type} weight cannot be multiplied in ${compute}`);
  const input = compute === 'F16' ? g.op('Cast', [x], [intAttribute('to', DataType.FLOAT16)]) : x;
  const product = weight.type === 'Q4_0' ? matMulNBits(g, input, weight, base, compute) : gemm(g, input, weight, base);
  return compute === 'F16' ? g.op('Cast', [product], [intAttribute('to', DataType.FLOAT)]) : product;
}

function gemm(g: GraphWriter, x: string, weight: MatrixWeight, base: string): string {
  const name = g.weight(
    base,
    weight.type === 'F16' ? DataType.FLOAT16 : DataType.FLOAT,
    [weight.rows, weight.cols],
    weight.bytes,
  );
  return g.op('Gemm', [x, name], [intAttribute('transB', 1)]);
}

function matMulNBits(g: GraphWriter, x: string, weight: MatrixWeight, base: string, compute: FloatType): string {
  const { packed, scales } = q4_0ToMatMulNBits(weight.bytes, weight.rows, weight.cols);
  const blocks = weight.cols / Q4_0_BLOCK_VALUES;
  const packedName = g.weight(`${base}.q4`, DataType.UINT8, [weight.rows, blocks, Q4_0_BLOCK_VALUES / 2], packed);
  // Q4_0 scales are float16 values widened to float32, so narrowing them back is exact.
  const scaleBytes =
    compute === 'F16' ? encode('F16', scales) : new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength);
  const scalesName = g.weight(
    `${base}.scales`,
    compute === 'F16' ? DataType.FLOAT16 : DataType.FLOAT,
    [weight.rows, blocks],
    scaleBytes,
  );
  const attributes = [
    intAttribute('K', weight.cols),
    intAttribute('N', weight.rows),
    intAttribute('bits', 4),
    intAttribute('block_size', Q4_0_BLOCK_VALUES),
    intAttribute('accuracy_level', MATMULNBITS_ACCURACY_LEVEL),
  ];
  return g.op('MatMulNBits', [x, packedName, scalesName], attributes, undefined, { domain: MICROSOFT_DOMAIN });
}

/** moshi's RMSNorm: x · (alpha · 1/√(mean(x²) + eps)) over the last axis, in float32. */
export function rmsNorm(g: GraphWriter, x: string, alpha: Float32Array, eps: number, base: string): string {
  const meanSquare = g.op(
    'ReduceMean',
    [g.op('Mul', [x, x])],
    [intsAttribute('axes', [-1]), intAttribute('keepdims', 1)],
  );
  const inverse = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSquare, g.floats('eps', [], [eps])])])]);
  const scale = g.op('Mul', [g.floats(`${base}.alpha`, [alpha.length], alpha), inverse]);
  return g.op('Mul', [x, scale]);
}

/** nn.LayerNorm over the last axis. */
export function layerNorm(
  g: GraphWriter,
  x: string,
  weight: Float32Array,
  bias: Float32Array,
  eps: number,
  base: string,
): string {
  const scale = g.floats(`${base}.weight`, [weight.length], weight);
  const shift = g.floats(`${base}.bias`, [bias.length], bias);
  return g.op('LayerNormalization', [x, scale, shift], [intAttribute('axis', -1), floatAttribute('epsilon', eps)]);
}

export function silu(g: GraphWriter, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** PyTorch's exact GELU: x · ½ · (1 + erf(x / √2)). */
export function gelu(g: GraphWriter, x: string): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.floats('sqrt_half', [], [Math.SQRT1_2])])]);
  return g.op('Mul', [g.op('Mul', [x, g.floats('half', [], [0.5])]), g.op('Add', [erf, g.floats('one', [], [1])])]);
}

/** cos and sin of the rotation angles for `positions` (float32 [P]), each [P, headDim/2, 1]. */
export function ropeTables(
  g: GraphWriter,
  positions: string,
  headDim: number,
  maxPeriod: number,
): { cos: string; sin: string } {
  // As moshi: exp(i · (−ln(max_period) · 2 / D)) in float32, times the position in float32.
  const step = Math.fround((-Math.log(maxPeriod) * 2) / headDim);
  const frequencies = Array.from({ length: headDim / 2 }, (_, i) => Math.fround(Math.exp(Math.fround(i * step))));
  const angles = g.op('Mul', [
    g.op('Unsqueeze', [positions, g.ints('axes', [1], [1])]),
    g.floats('rope.frequencies', [1, headDim / 2], frequencies),
  ]);
  const column = g.ints('axes', [1], [-1]);
  return {
    cos: g.op('Unsqueeze', [g.op('Cos', [angles]), column]),
    sin: g.op('Unsqueeze', [g.op('Sin', [angles]), column]),
  };
}

/**
 * Rotates the interleaved pairs (2i, 2i+1) of the last axis of `x` (rank `rank`, last axis
 * `headDim`) by the angles of `ropeTables`, whose shape broadcasts against [..., headDim/2, 1].
 */
export function rotate(
  g: GraphWriter,
  x: string,
  rank: number,
  headDim: number,
  { cos, sin }: { cos: string; sin: string },
): string {
  const keep = Array<number>(rank - 1).fill(0);
  const pairs = g.op('Reshape', [x, g.ints('shape', [rank + 1], [...keep, headDim / 2, 2])]);
  const [real, imaginary] = g.ops('Split', [pairs, g.ints('split', [2], [1, 1])], 2, [intAttribute('axis', -1)]);
  const rotatedReal = g.op('Sub', [g.op('Mul', [real!, cos]), g.op('Mul', [imaginary!, sin])]);
  const rotatedImaginary = g.op('Add', [g.op('Mul', [real!, sin]), g.op('Mul', [imaginary!, cos])]);
  const joined = g.op('Concat', [rotatedReal, rotatedImaginary], [intAttribute('axis', -1)]);
  return g.op('Reshape', [joined, g.ints('shape', [rank], [...keep, headDim])]);
}

/** The attention projections' names: moshi's current ones, or the older ones its load hook renames. */
export function attentionWeightNames(
  weights: Pick<WeightSource, 'has'>,
  prefix: string,
): [inProj: string, outProj: string] {
  const current: [string, string] = [`${prefix}.in_projs.0.weight`, `${prefix}.out_projs.0.weight`];
  const legacy: [string, string] = [`${prefix}.in_proj_weight`, `${prefix}.out_proj.weight`];
  return weights.has(current[0]) || !weights.has(legacy[0]) ? current : legacy;
}
