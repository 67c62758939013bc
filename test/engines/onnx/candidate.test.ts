import { readFile } from 'node:fs/promises';
import { QuantgateError } from '../../../src/common/errors.js';
import { ModelBuilder, graphAttribute, intAttribute } from '../../../src/engines/onnx/builder.js';
import { buildCandidate, summarizeCoverage, type SubstitutionMode } from '../../../src/engines/onnx/candidate.js';
import { decodeModel, encodeModel } from '../../../src/engines/onnx/model.js';
import { DataType, type ModelProto } from '../../../src/engines/onnx/proto.js';
import { float32Tensor, rawTensor, transposeMatrix } from '../../../src/engines/onnx/tensors.js';
import { matchWeights } from '../../../src/engines/onnx/weight-match.js';
import { floatInput, int64Input, runModel, type Output } from '../../helpers/onnxruntime.js';
import { fixture } from '../../helpers/paths.js';
import { pseudoRandom, quantize, torchWeights, type SourceWeight } from './quantized.js';

const K = 64;
const identity = floatInput(
  [K, K],
  Float32Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0)),
);

/** A PyTorch-layout weight [rows, cols] with deterministic values. */
function weight(name: string, rows: number, cols: number, seed: number): SourceWeight {
  return { name, shape: [rows, cols], values: pseudoRandom(rows * cols, seed) };
}

function originals(weights: readonly SourceWeight[]) {
  const byName = new Map(weights.map((each) => [each.name, each.values]));
  return async (name: string) => byName.get(name)!;
}

/** -0 and 0 compare equal: sums of products with zeros turn one into the other. */
function normalized(values: ArrayLike<number>): number[] {
  return Array.from(values, (value) => value + 0);
}

function maxAbsDifference(a: Output, b: Output): number {
  return a.data.reduce((max, value, i) => Math.max(max, Math.abs(value - b.data[i])), 0);
}

function rowArgmax({ data, dims }: Output): number[] {
  const width = dims[dims.length - 1];
  return Array.from({ length: data.length / width }, (_, row) => {
    const slice = data.slice(row * width, (row + 1) * width);
    return slice.indexOf(Math.max(...slice));
  });
}

describe('buildCandidate on a model exported by torch', () => {
  let model: ModelProto;
  let modelBytes: Buffer;
  let weights: SourceWeight[];
  const feeds = { ids: int64Input([2, 6], [0, 5, 39, 12, 12, 7, 33, 1, 0, 18, 26, 2]) };

  beforeAll(async () => {
    modelBytes = await readFile(fixture('onnx', 'torch-linear.onnx'));
    model = decodeModel(modelBytes);
    weights = await torchWeights();
  });

  const gguf = () => quantize(weights.map((each) => ({ ...each, type: each.shape.length === 2 ? 'Q4_0' : 'F32' })));

  it('finds renamed, transposed weights by content and fuses MatMul and Gemm into MatMulNBits', async () => {
    const { model: candidate, coverage } = await buildCandidate(model, gguf(), { original: originals(weights) });
    const byName = Object.fromEntries(coverage.substituted.map(({ name, ...rest }) => [name, rest]));
    // Every tensor of the file is placed: the biases, F32, as dense weights.
    expect(Object.keys(byName).sort()).toEqual([
      'emb.weight',
      'out.bias',
      'out.weight',
      'pool.bias',
      'pool.weight',
      'proj.bias',
      'proj.weight',
    ]);
    expect(byName['proj.bias']).toMatchObject({ type: 'F32', substitution: 'dense' });
    expect(byName['emb.weight']).toMatchObject({
      initializer: 'emb.weight',
      matchedBy: 'name',
      layout: 'same',
      substitution: 'dequant',
      dequantReason: 'read by Gather',
    });
    expect(byName['proj.weight']).toMatchObject({
      initializer: 'onnx::MatMul_18',
      matchedBy: 'content',
      layout: 'transposed',
      substitution: 'matmulnbits',
    });
    expect(byName['out.weight']).toMatchObject({
      initializer: 'onnx::MatMul_19',
      matchedBy: 'content',
      layout: 'transposed',
      substitution: 'matmulnbits',
    });
    expect(byName['pool.weight']).toMatchObject({
      initializer: 'pool.weight',
      matchedBy: 'name',
      layout: 'same',
      substitution: 'matmulnbits',
      parameters: 1024,
      type: 'Q4_0',
    });
    expect(coverage.missing).toEqual([]);

    const graph = candidate.graph!;
    expect(graph.node.map((node) => node.opType)).toEqual([
      'Gather',
      'MatMulNBits',
      'Add',
      'Relu',
      'MatMulNBits',
      'Add',
      'ReduceMean',
      'MatMulNBits',
      'Add',
    ]);
    expect(
      graph.node.filter((node) => node.opType === 'MatMulNBits').every((node) => node.domain === 'com.microsoft'),
    ).toBe(true);
    expect(candidate.opsetImport.map(({ domain, version }) => [domain ?? '', version])).toEqual([
      ['', 17],
      ['com.microsoft', 1],
    ]);
    const initializers = graph.initializer.map((initializer) => initializer.name);
    expect(initializers).not.toEqual(expect.arrayContaining(['onnx::MatMul_18']));
    expect(initializers).not.toContain('onnx::MatMul_19');
    expect(initializers).not.toContain('pool.weight');
    expect(initializers).toEqual(
      expect.arrayContaining([
        'emb.weight',
        'proj.bias',
        'onnx::MatMul_18_Q4_0',
        'onnx::MatMul_18_scales',
        'pool.weight_Q4_0',
      ]),
    );
    // The float model is left as it was.
    expect(Buffer.from(encodeModel(model)).equals(modelBytes)).toBe(true);
  });

  it('gives the same outputs in both modes, up to summation order, and not the float outputs', async () => {
    const run = async (mode: SubstitutionMode) =>
      runModel((await buildCandidate(model, gguf(), { mode, original: originals(weights) })).model, feeds);
    const [fused, dequantized, reference] = [
      await run('matmulnbits'),
      await run('dequant'),
      await runModel(model, feeds),
    ];
    for (const output of ['logits', 'pooled']) {
      expect(fused[output].dims).toEqual(reference[output].dims);
      expect(maxAbsDifference(fused[output], dequantized[output])).toBeLessThan(1e-5);
      expect(rowArgmax(fused[output])).toEqual(rowArgmax(dequantized[output]));
      expect(maxAbsDifference(dequantized[output], reference[output])).toBeGreaterThan(1e-3);
    }
  });

  it('summarizes its coverage in one line', async () => {
    const { coverage } = await buildCandidate(model, gguf(), { original: originals(weights) });
    expect(summarizeCoverage(coverage)).toBe(
      '7 GGUF tensors (9.8k parameters) substituted into the ONNX graph: 3 (7.2k) through MatMulNBits, 1 (2.6k) dequantized, 3 (112) F16/F32 as dense weights; none missing',
    );
  });

  it('refuses to build a candidate that would not measure every quantized tensor', async () => {
    const withoutOriginals = buildCandidate(model, gguf());
    await expect(withoutOriginals).rejects.toThrow(QuantgateError);
    await expect(buildCandidate(model, gguf())).rejects.toThrow(
      /^quantized GGUF tensors missing from the ONNX graph, so its WER would not measure the GGUF: 2 \(6\.1k parameters\): "out.weight" \(no float32 initializer has its name, and no original weights were given to compare content\), "proj.weight" .*; export the ONNX model from the checkpoint that was quantized/,
    );
  });
});

describe('buildCandidate effective weights', () => {
  // Each weight is read back through an identity input: identity × E = E, the K×N matrix the graph multiplies by.
  const transposedQ4 = weight('linear.weight', 32, K, 1);
  const gemmQ4 = weight('gemm.weight', 32, K, 2);
  const gemmQ8 = weight('gemm8.weight', 32, K, 3);
  const transposedF16 = weight('half.weight', 48, K, 4);
  const rowsQ4 = weight('rows.weight', K, 32, 5);
  const weights = [transposedQ4, gemmQ4, gemmQ8, transposedF16, rowsQ4];
  const gguf = quantize([
    { ...transposedQ4, type: 'Q4_0' },
    { ...gemmQ4, type: 'Q4_0' },
    { ...gemmQ8, type: 'Q8_0' },
    { ...transposedF16, type: 'F16' },
    { ...rowsQ4, type: 'Q4_0' },
  ]);
  const model = new ModelBuilder()
    .input('a', 'float32', [K, K])
    .initializer(float32Tensor('onnx::MatMul_7', [K, 32], transposeMatrix(transposedQ4.values, 32, K)))
    .initializer(float32Tensor('gemm.weight', [32, K], gemmQ4.values))
    .initializer(float32Tensor('onnx::Gemm_8', [32, K], gemmQ8.values))
    .initializer(float32Tensor('onnx::MatMul_9', [K, 48], transposeMatrix(transposedF16.values, 48, K)))
    .initializer(float32Tensor('rows.weight', [K, 32], rowsQ4.values))
    .node('MatMul', ['a', 'onnx::MatMul_7'], ['y1'])
    .node('Gemm', ['a', 'gemm.weight'], ['y2'], { attributes: [intAttribute('transB', 1)] })
    .node('Gemm', ['a', 'onnx::Gemm_8'], ['y3'], { attributes: [intAttribute('transB', 1)] })
    .node('MatMul', ['a', 'onnx::MatMul_9'], ['y4'])
    .node('MatMul', ['a', 'rows.weight'], ['y5'])
    .output('y1', 'float32')
    .output('y2', 'float32')
    .output('y3', 'float32')
    .output('y4', 'float32')
    .output('y5', 'float32')
    .build();

  /** E for a weight stored [N, K] in the GGUF (E = Gᵀ) or, for rows.weight, [K, N] (E = G). */
  const expected = (name: string, transposed: boolean) => {
    const values = gguf.dequantized(name);
    return normalized(transposed ? transposeMatrix(values, values.length / K, K) : values);
  };

  it.each(['matmulnbits', 'dequant'] as const)('equal the GGUF dequantized values exactly in %s mode', async (mode) => {
    const { model: candidate } = await buildCandidate(model, gguf, { mode, original: originals(weights) });
    const outputs = await runModel(candidate, { a: identity });
    expect(normalized(outputs.y1.data)).toEqual(expected('linear.weight', true));
    expect(normalized(outputs.y2.data)).toEqual(expected('gemm.weight', true));
    expect(normalized(outputs.y3.data)).toEqual(expected('gemm8.weight', true));
    expect(normalized(outputs.y4.data)).toEqual(expected('half.weight', true));
    expect(normalized(outputs.y5.data)).toEqual(expected('rows.weight', false));
  });

  it('fuses only Q4_0 matrices whose blocks run along the product, and says why not for the rest', async () => {
    const { coverage } = await buildCandidate(model, gguf, { original: originals(weights) });
    expect(
      coverage.substituted.map(({ name, substitution, dequantReason, matchedBy }) => [
        name,
        matchedBy,
        substitution,
        dequantReason,
      ]),
    ).toEqual([
      ['linear.weight', 'content', 'matmulnbits', undefined],
      ['gemm.weight', 'name', 'matmulnbits', undefined],
      ['gemm8.weight', 'content', 'dequant', 'Q8_0 has no MatMulNBits form here'],
      ['half.weight', 'content', 'dense', undefined],
      ['rows.weight', 'name', 'dequant', 'MatMul multiplies across its Q4_0 blocks (its layout is [N, K])'],
    ]);
    const dequantMode = await buildCandidate(model, gguf, { mode: 'dequant', original: originals(weights) });
    const quantized = dequantMode.coverage.substituted.filter((entry) => entry.substitution !== 'dense');
    expect(new Set(quantized.map((entry) => entry.dequantReason))).toEqual(new Set(['dequant mode']));
    expect(dequantMode.model.opsetImport.map((opset) => opset.domain)).toEqual(['']);
  });
});

describe('buildCandidate with uses MatMulNBits cannot take', () => {
  const shared = weight('shared.weight', 32, K, 6);
  const gemmTransA = weight('gemm.weight', 32, K, 7);
  const gguf = quantize([
    { ...shared, type: 'Q4_0' },
    { ...gemmTransA, type: 'Q4_0' },
  ]);
  const model = new ModelBuilder()
    .input('a', 'float32', [K, K])
    .initializer(float32Tensor('onnx::MatMul_3', [K, 32], transposeMatrix(shared.values, 32, K)))
    .initializer(float32Tensor('gemm.weight', [32, K], gemmTransA.values))
    .node('MatMul', ['a', 'onnx::MatMul_3'], ['y'])
    .node('Identity', ['onnx::MatMul_3'], ['copy'])
    .node('Gemm', ['a', 'gemm.weight'], ['g'], { attributes: [intAttribute('transA', 1), intAttribute('transB', 1)] })
    .output('y', 'float32')
    .output('copy', 'float32')
    .output('g', 'float32')
    .build();

  it('keeps the dequantized weight for them and fuses the rest', async () => {
    const { model: candidate, coverage } = await buildCandidate(model, gguf, {
      original: originals([shared, gemmTransA]),
    });
    expect(
      coverage.substituted.map(({ name, substitution, dequantReason }) => [name, substitution, dequantReason]),
    ).toEqual([
      ['shared.weight', 'mixed', 'read by Identity'],
      ['gemm.weight', 'dequant', 'Gemm with transA or alpha'],
    ]);
    expect(candidate.graph!.node.map((node) => node.opType)).toEqual(['MatMulNBits', 'Identity', 'Gemm']);
    const outputs = await runModel(candidate, { a: identity });
    const sharedValues = normalized(transposeMatrix(gguf.dequantized('shared.weight'), 32, K));
    expect(normalized(outputs.y.data)).toEqual(sharedValues);
    expect(normalized(outputs.copy.data)).toEqual(sharedValues);
    // Gemm(aᵀ, Wᵀ) with a = identity is Wᵀ.
    expect(normalized(outputs.g.data)).toEqual(normalized(transposeMatrix(gguf.dequantized('gemm.weight'), 32, K)));
  });
});

describe('buildCandidate with a weight read inside a subgraph', () => {
  const shared = weight('shared.weight', 32, K, 16);
  const gguf = quantize([{ ...shared, type: 'Q4_0' }]);
  const branch = (output: string) =>
    new ModelBuilder().node('MatMul', ['a', 'onnx::MatMul_4'], [output]).output(output, 'float32').build().graph!;
  const model = new ModelBuilder()
    .input('a', 'float32', [K, K])
    .input('flag', 'int64', [])
    .initializer(float32Tensor('onnx::MatMul_4', [K, 32], transposeMatrix(shared.values, 32, K)))
    .node('MatMul', ['a', 'onnx::MatMul_4'], ['direct'])
    .node('Cast', ['flag'], ['condition'], { attributes: [intAttribute('to', DataType.BOOL)] })
    .node('If', ['condition'], ['branched'], {
      attributes: [
        graphAttribute('then_branch', branch('then_out')),
        graphAttribute('else_branch', branch('else_out')),
      ],
    })
    .output('direct', 'float32')
    .output('branched', 'float32')
    .build();

  it('keeps the dequantized weight for the subgraph and fuses the direct use', async () => {
    const { model: candidate, coverage } = await buildCandidate(model, gguf, { original: originals([shared]) });
    expect(coverage.substituted.map(({ substitution, dequantReason }) => [substitution, dequantReason])).toEqual([
      ['mixed', 'read by MatMul inside a subgraph'],
    ]);
    const outputs = await runModel(candidate, { a: identity, flag: int64Input([], [1]) });
    const expected = normalized(transposeMatrix(gguf.dequantized('shared.weight'), 32, K));
    expect(normalized(outputs.direct.data)).toEqual(expected);
    expect(normalized(outputs.branched.data)).toEqual(expected);
  });
});

describe('buildCandidate coverage refusals', () => {
  const used = weight('used.weight', 32, K, 8);
  const unused = weight('unused.weight', 32, K, 9);
  const model = new ModelBuilder()
    .input('x', 'float32', [1, K])
    .initializer(float32Tensor('onnx::MatMul_1', [K, 32], transposeMatrix(used.values, 32, K)))
    .initializer(float32Tensor('unused.weight', [32, K], unused.values))
    .node('MatMul', ['x', 'onnx::MatMul_1'], ['y'])
    .output('y', 'float32')
    .build();

  it('lists a missing F16 tensor without refusing', async () => {
    const ghost = weight('ghost.weight', 16, K, 10);
    const gguf = quantize([
      { ...used, type: 'Q4_0' },
      { ...ghost, type: 'F16' },
    ]);
    const { coverage } = await buildCandidate(model, gguf, { original: originals([used, ghost]) });
    expect(coverage.missing).toEqual([
      {
        name: 'ghost.weight',
        type: 'F16',
        parameters: 16 * K,
        reason: 'no float32 initializer has its name, or its content in either orientation',
      },
    ]);
    expect(summarizeCoverage(coverage)).toMatch(/; 1 \(1\.0k\) not in the graph: ghost\.weight$/);
  });

  it.each([
    [
      'absent from the graph',
      weight('ghost.weight', 16, K, 11),
      /"ghost\.weight" \(no float32 initializer has its name, or its content in either orientation\)/,
    ],
    ['an initializer no node reads', unused, /"unused\.weight" \(its initializer "unused\.weight" feeds no node\)/],
  ])('refuses a Q8_0 tensor %s, before reading any tensor data', async (_, extra, reason) => {
    const gguf = quantize([
      { ...used, type: 'Q4_0' },
      { ...extra, type: 'Q8_0' },
    ]);
    const build = buildCandidate(model, gguf, { original: originals([used, extra]) });
    await expect(build).rejects.toThrow(QuantgateError);
    await expect(buildCandidate(model, gguf, { original: originals([used, extra]) })).rejects.toThrow(reason);
    expect(gguf.reads).toEqual([]);
  });
});

describe('matchWeights', () => {
  it('matches by name only when the dims agree, then by content in either orientation', async () => {
    const square = weight('square.weight', K, K, 12);
    const wide = weight('wide.weight', 32, K, 13);
    const initializers = [
      float32Tensor('wide.weight', [K, 32], transposeMatrix(wide.values, 32, K)),
      float32Tensor('onnx::MatMul_5', [K, K], transposeMatrix(square.values, K, K)),
    ];
    const tensors = quantize([
      { ...square, type: 'Q4_0' },
      { ...wide, type: 'Q4_0' },
    ]).tensors;
    const matches = await matchWeights(initializers, tensors, originals([square, wide]));
    expect(matches.map((match) => [match.tensor.name, match.initializer.name, match.matchedBy, match.layout])).toEqual([
      ['square.weight', 'onnx::MatMul_5', 'content', 'transposed'],
      ['wide.weight', 'wide.weight', 'content', 'transposed'],
    ]);
  });

  it('pairs identical tensors with distinct initializers', async () => {
    const first = weight('a.weight', 32, K, 14);
    const second = { ...first, name: 'b.weight' };
    const initializers = [
      float32Tensor('onnx::X_1', [32, K], first.values),
      float32Tensor('onnx::X_2', [32, K], first.values),
    ];
    const tensors = quantize([
      { ...first, type: 'Q4_0' },
      { ...second, type: 'Q4_0' },
    ]).tensors;
    const matches = await matchWeights(initializers, tensors, originals([first, second]));
    expect(matches.map((match) => [match.tensor.name, match.initializer.name, match.layout])).toEqual([
      ['a.weight', 'onnx::X_1', 'same'],
      ['b.weight', 'onnx::X_2', 'same'],
    ]);
  });

  it('refuses an initializer whose data does not fill its dims', async () => {
    const tensors = quantize([{ ...weight('w', 32, K, 17), type: 'Q4_0' }]).tensors;
    const corrupt = rawTensor('onnx::MatMul_2', DataType.FLOAT, [K, 32], new Uint8Array(100));
    await expect(matchWeights([corrupt], tensors, async () => new Float32Array(32 * K))).rejects.toThrow(
      /^initializer "onnx::MatMul_2" has 100 bytes of data, but its dims \[64, 32\] need 8192; the model is corrupt/,
    );
  });

  it('refuses original values that do not fit the GGUF tensor', async () => {
    const tensors = quantize([{ ...weight('w', 32, K, 15), type: 'Q4_0' }]).tensors;
    await expect(
      matchWeights([float32Tensor('v', [4], [1, 2, 3, 4])], tensors, async () => new Float32Array(10)),
    ).rejects.toThrow(
      /^the original of GGUF tensor "w" has 10 values, but the GGUF tensor has 2048; pass the safetensors the GGUF was quantized from$/,
    );
  });
});
