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
import { openGgufWeights, type FloatType, type LmCoverage } from '../../../src/engines/kyutai-stt/weights.js';
import { summarizeCoverage, type SubstitutionMode } from '../../../src/engines/onnx/candidate.js';
import type { TensorTypeOverride } from '../../../src/quant/plan.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { goldenFloats, goldenInts, goldenJson, goldenLmConfig, maxDifference } from './golden.js';

const TOLERANCE = 1e-4;
const Q4_0_MATRICES = ['self_attn.in_projs.0.weight', 'self_attn.out_projs.0.weight', 'gating.linear_in.weight']
  .flatMap((name) => [0, 1].map((layer) => `transformer.layers.${layer}.${name}`))
  .concat('text_linear.weight');

let config: LmConfig;
let quantized: QuantizedModel;

async function quantizeGolden(skip: string[] = [], tensorTypes: TensorTypeOverride[] = []): Promise<QuantizedModel> {
  const dir = await makeTempDir();
  await copyFile(fixture('safetensors', 'lm.safetensors'), join(dir, 'model.safetensors'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(await goldenJson('lm_config.json')));
  const { output } = await quantizeModel({ model: dir, outDir: join(dir, 'out'), skip, tensorTypes, threads: 1 });
  return output!;
}

async function candidateGraph(
  model: QuantizedModel,
  mode: SubstitutionMode,
  compute: FloatType = 'F32',
  onCoverage?: (coverage: LmCoverage) => void,
): Promise<OnnxGraph> {
  const weights = await openGgufWeights(model, mode, 'golden-q4.gguf');
  try {
    const graph = await buildLmStepGraph(config, weights, { compute });
    onCoverage?.(weights.coverage());
    return graph;
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

describe('candidate LM from a GGUF of mixed types (--tensor-type)', () => {
  const MIXED: TensorTypeOverride[] = [
    { glob: 'transformer.layers.*.gating.*', type: 'q8_0' },
    { glob: 'transformer.layers.0.self_attn.*', type: 'f16' },
    { glob: 'text_linear.weight', type: 'f32' },
  ];
  let mixed: QuantizedModel;
  let streams: AudioCodes[];

  beforeAll(async () => {
    mixed = await quantizeGolden([], MIXED);
    streams = [{ frames: 32, data: await goldenInts('mimi_codes_streaming.i32') }];
  });

  it('reads every tensor of the file: Q4_0 through MatMulNBits, Q8_0 dequantized, F16 and F32 as dense weights', async () => {
    const gguf = await mixed.open();
    const types = new Map(gguf.tensors.map((tensor) => [tensor.name, tensor.type]));
    await gguf.close();
    expect(types.get('transformer.layers.1.gating.linear_in.weight')).toBe('Q8_0');
    expect(types.get('transformer.layers.0.self_attn.in_projs.0.weight')).toBe('F16');
    expect(types.get('transformer.layers.1.self_attn.in_projs.0.weight')).toBe('Q4_0');
    expect(types.get('text_linear.weight')).toBe('F32');

    let coverage: LmCoverage | undefined;
    const ops = await opTypes(await candidateGraph(mixed, 'matmulnbits', 'F32', (each) => (coverage = each)));
    // Layer 1's attention is all that is left in Q4_0.
    expect(ops.filter((type) => type === 'MatMulNBits')).toHaveLength(2);
    expect(coverage!.missing).toEqual([]);
    expect(coverage!.substituted.map((entry) => entry.name).sort()).toEqual([...types.keys()].sort());
    // The embeddings are read by Gather, which takes no Q4_0 blocks.
    const expected = (name: string) => {
      const type = types.get(name)!;
      if (type === 'Q4_0') return name.includes('emb') ? 'dequant' : 'matmulnbits';
      return type === 'Q8_0' ? 'dequant' : 'dense';
    };
    for (const { name, substitution } of coverage!.substituted)
      expect([name, substitution]).toEqual([name, expected(name)]);
    expect(summarizeCoverage(coverage!, 'the LM graph')).toBe(
      '23 GGUF tensors (140.2k parameters) substituted into the LM graph: 2 (16.4k) through MatMulNBits, 11 (81.5k) dequantized, 10 (42.3k) F16/F32 as dense weights; none missing',
    );
  });

  it('decodes as the float graph on the same values, logits within 1e-4', async () => {
    const fused = await decode(await candidateGraph(mixed, 'matmulnbits'), streams);
    const reference = await decode(await candidateGraph(mixed, 'dequant'), streams);
    expect(fused.tokens).toEqual(reference.tokens);
    expect(maxDifference(fused.logits, reference.logits)).toBeLessThan(TOLERANCE);
  });

  it('with every tensor F32 decodes exactly as the float LM: the golden tokens and logits', async () => {
    const float = await quantizeGolden([], [{ glob: '*', type: 'f32' }]);
    const gguf = await float.open();
    expect(new Set(gguf.tensors.map((tensor) => tensor.type))).toEqual(new Set(['F32']));
    await gguf.close();
    const { tokens, logits } = await decode(await candidateGraph(float, 'matmulnbits'), streams);
    expect(tokens[0]).toEqual(Array.from(await goldenInts('text_tokens.i32')));
    expect(maxDifference(logits, Array.from(await goldenFloats('text_logits.f32')))).toBeLessThan(TOLERANCE);
  });

  it('lists the tensors of the file the LM does not read', async () => {
    // A file that kept a VAD head, which the LM graph has no use for.
    const withHead: QuantizedModel = {
      ...mixed,
      open: async () => {
        const gguf = await mixed.open();
        return { ...gguf, tensors: [...gguf.tensors, { name: 'extra_heads.0.weight', type: 'Q4_0', ne: [64, 6] }] };
      },
    };
    let coverage: LmCoverage | undefined;
    await opTypes(await candidateGraph(withHead, 'matmulnbits', 'F32', (each) => (coverage = each)));
    expect(coverage!.missing).toEqual([{ name: 'extra_heads.0.weight', type: 'Q4_0', parameters: 384 }]);
    expect(summarizeCoverage(coverage!, 'the LM graph')).toMatch(
      /; 1 \(384\) not in the graph: extra_heads\.0\.weight$/,
    );
  });
});
