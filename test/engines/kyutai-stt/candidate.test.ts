// The candidate LM: the golden LM quantized by the project's quantizer (preset kyutai-stt, Q4_0),
// read back from the GGUF. Through MatMulNBits it must decode as the float graph does on the
// GGUF's dequantized weights: the only difference allowed is float rounding.

import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QuantizedModel } from '../../../src/engines/engine.js';
import type { LmConfig } from '../../../src/engines/kyutai-stt/config.js';
import { decodeGreedy, type AudioCodes } from '../../../src/engines/kyutai-stt/decoder.js';
import { disposeGraph, type OnnxGraph } from '../../../src/engines/kyutai-stt/graph.js';
import { buildLmStepGraph } from '../../../src/engines/kyutai-stt/lm-graph.js';
import { startSession, type GraphSession } from '../../../src/engines/kyutai-stt/session.js';
import { openGgufWeights, type FloatType } from '../../../src/engines/kyutai-stt/weights.js';
import type { SubstitutionMode } from '../../../src/engines/onnx/candidate.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { goldenInts, goldenJson, goldenLmConfig, maxDifference } from './golden.js';

const TOLERANCE = 1e-4;
const Q4_0_MATRICES = ['self_attn.in_projs.0.weight', 'self_attn.out_projs.0.weight', 'gating.linear_in.weight']
  .flatMap((name) => [0, 1].map((layer) => `transformer.layers.${layer}.${name}`))
  .concat('text_linear.weight');

let config: LmConfig;
let quantized: QuantizedModel;

async function quantizeGolden(skip: string[] = []): Promise<QuantizedModel> {
  const dir = await makeTempDir();
  await copyFile(fixture('safetensors', 'lm.safetensors'), join(dir, 'model.safetensors'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(await goldenJson('lm_config.json')));
  const { output } = await quantizeModel({ model: dir, outDir: join(dir, 'out'), skip, threads: 1 });
  return output!;
}

async function candidateGraph(
  model: QuantizedModel,
  mode: SubstitutionMode,
  compute: FloatType = 'F32',
): Promise<OnnxGraph> {
  const weights = await openGgufWeights(model, mode, 'golden-q4.gguf');
  try {
    return await buildLmStepGraph(config, weights, { compute });
  } finally {
    await weights.close();
  }
}

async function decode(graph: OnnxGraph, streams: AudioCodes[]): Promise<{ tokens: number[][]; logits: number[] }> {
  const session: GraphSession = await startSession(graph, 'cpu', 'candidate LM');
  try {
    const logits: number[] = [];
    const tokens = await decodeGreedy(session, config, streams, { onStep: (step) => logits.push(...step.logits) });
    return { tokens: tokens.map((each) => Array.from(each)), logits };
  } finally {
    await session.close();
  }
}

/** The graph's op types; the graph is disposed of. */
async function opTypes(graph: OnnxGraph): Promise<(string | undefined)[]> {
  await disposeGraph(graph);
  return graph.model.graph!.node.map((node) => node.opType);
}

beforeAll(async () => {
  config = await goldenLmConfig();
  quantized = await quantizeGolden();
});

afterAll(removeTempDirs);

describe('candidate LM from the quantized GGUF', () => {
  let streams: AudioCodes[];

  beforeAll(async () => {
    streams = [
      { frames: 32, data: await goldenInts('mimi_codes_streaming.i32') },
      { frames: 100, data: await goldenInts('lm_long_input_codes.i32') },
    ];
  });

  it('holds the LM without the VAD heads, its Q4_0 matrices as the quantizer planned them', async () => {
    const gguf = await quantized.open();
    try {
      const names = gguf.tensors.map((tensor) => tensor.name);
      expect(names.some((name) => name.startsWith('extra_heads.'))).toBe(false);
      expect(
        gguf.tensors
          .filter((tensor) => tensor.type === 'Q4_0' && tensor.name.includes('.weight') && !tensor.name.includes('emb'))
          .map((tensor) => tensor.name)
          .sort(),
      ).toEqual([...Q4_0_MATRICES].sort());
    } finally {
      await gguf.close();
    }
  });

  it('multiplies every Q4_0 matrix through MatMulNBits and the rest through Gemm', async () => {
    const fused = await opTypes(await candidateGraph(quantized, 'matmulnbits'));
    expect(fused.filter((type) => type === 'MatMulNBits')).toHaveLength(Q4_0_MATRICES.length);
    // linear_out has 176 inputs, not whole Q4_0 blocks: the quantizer keeps it F16.
    expect(fused.filter((type) => type === 'Gemm')).toHaveLength(2);
    const dequantized = await opTypes(await candidateGraph(quantized, 'dequant'));
    expect(dequantized.filter((type) => type === 'MatMulNBits')).toHaveLength(0);
    expect(dequantized.filter((type) => type === 'Gemm')).toHaveLength(Q4_0_MATRICES.length + 2);
  });

  it('decodes exactly as the float graph on the dequantized weights, logits within 1e-4', async () => {
    const fused = await decode(await candidateGraph(quantized, 'matmulnbits'), streams);
    const reference = await decode(await candidateGraph(quantized, 'dequant'), streams);
    expect(fused.tokens).toEqual(reference.tokens);
    expect(maxDifference(fused.logits, reference.logits)).toBeLessThan(TOLERANCE);
  });

  it('differs from the float LM, since the weights were quantized', async () => {
    const { tokens } = await decode(await candidateGraph(quantized, 'matmulnbits'), streams.slice(0, 1));
    expect(tokens[0]).not.toEqual(Array.from(await goldenInts('text_tokens.i32')));
  });

  it('runs MatMulNBits in float16 (the CUDA setting) within 1e-2 of float32', async () => {
    const half = await decode(await candidateGraph(quantized, 'matmulnbits', 'F16'), streams.slice(0, 1));
    const full = await decode(await candidateGraph(quantized, 'matmulnbits'), streams.slice(0, 1));
    expect(half.tokens).toEqual(full.tokens);
    expect(maxDifference(half.logits, full.logits)).toBeLessThan(1e-2);
  });

  it('refuses a GGUF that left out a tensor the LM needs', async () => {
    const partial = await quantizeGolden(['text_linear.weight']);
    await expect(candidateGraph(partial, 'matmulnbits')).rejects.toThrow(
      /^golden-q4\.gguf has no tensor text_linear\.weight, which the Kyutai LM needs; quantize the model again without leaving that tensor out/,
    );
  });
});
