// Files of mixed tensor types (`--tensor-type`) through the whole road: the quantizer writes each
// tensor in its type, bit-exact with the scalar reference codecs, and says so in the plan, the
// GGUF's general.file_type and the manifest; `verify` checks every tensor against the source; and
// `run` evaluates them with both built-in engines.

import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_OK } from '../../src/cli/command.js';
import { readManifest } from '../../src/formats/gguf/manifest.js';
import { findMetadata } from '../../src/formats/gguf/metadata.js';
import { openGgufModel } from '../../src/formats/gguf/open.js';
import { verifyQuantized } from '../../src/formats/gguf/verify.js';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from '../../src/pipeline/options.js';
import { quantizedCacheKey, quantizeModel } from '../../src/pipeline/quantize.js';
import { runPipeline, type RunResult } from '../../src/pipeline/run.js';
import { decodeSource, encode, type TargetType } from '../../src/quant/codec.js';
import type { TensorTypeOverride } from '../../src/quant/plan.js';
import { runCli } from '../helpers/cli.js';
import { encodeValues, tinyModelTensors, writeTestModel } from '../helpers/model.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { recordingProgress } from '../helpers/progress.js';
import { writeGoldenModel } from '../engines/kyutai-stt/golden.js';

afterAll(removeTempDirs);

const tensors = tinyModelTensors();
const MIXED: TensorTypeOverride[] = [
  { glob: 'layers.*', type: 'q8_0' },
  { glob: 'layers.0.self_attn.*', type: 'f16' },
  { glob: 'head.weight', type: 'f32' },
];
const MIXED_KYUTAI: TensorTypeOverride[] = [
  { glob: 'transformer.layers.*.gating.*', type: 'q8_0' },
  { glob: 'transformer.layers.1.self_attn.*', type: 'f16' },
  { glob: 'text_linear.weight', type: 'f32' },
];
let modelDir: string;

beforeAll(async () => {
  modelDir = await writeTestModel(join(await makeTempDir(), 'tiny'), tensors, { model_type: 'tiny-test' });
});

describe('quantize with --tensor-type', () => {
  test('writes each tensor in its type, bit-exact, and names the file after the dominant type', async () => {
    const outDir = await makeTempDir();
    const { plan, output } = await quantizeModel({ model: modelDir, outDir, tensorTypes: MIXED, threads: 2 });
    expect(plan.tensors.map((tensor) => [tensor.name, tensor.type, tensor.reason])).toEqual([
      ['emb.weight', 'Q4_0', 'weight'],
      ['layers.0.norm1.alpha', 'F32', 'norm'],
      ['layers.0.self_attn.in_proj_weight', 'F16', '--tensor-type layers.0.self_attn.*=f16'],
      ['layers.0.gating.linear_in.weight', 'Q8_0', '--tensor-type layers.*=q8_0'],
      ['layers.0.gating.linear_out.weight', 'F16', 'ne0 176 is not a multiple of 32 (--tensor-type layers.*=q8_0)'],
      ['head.bias', 'F32', '1-D'],
      ['head.weight', 'F32', '--tensor-type head.weight=f32'],
      ['conv.weight', 'F16', 'ne0 7 is not a multiple of 32'],
    ]);
    // Of the weights typed as asked, Q8_0 holds 22.5k parameters, F16 12.3k, Q4_0 4.2k, F32 448.
    expect(plan.fileType).toBe(7);

    const gguf = await openGgufModel(output!.files[0]!);
    try {
      expect(findMetadata(gguf.metadata, 'general.file_type')?.value).toBe(7);
      for (const source of tensors) {
        const planned = plan.tensors.find((tensor) => tensor.name === source.name)!;
        expect(gguf.tensors.find((tensor) => tensor.name === source.name)?.type).toBe(planned.type);
        const expected = encode(
          planned.type as TargetType,
          decodeSource(source.dtype, encodeValues(source.dtype, source.values)),
        );
        expect(Buffer.from(await gguf.read(source.name)).equals(Buffer.from(expected))).toBe(true);
      }
    } finally {
      await gguf.close();
    }

    expect((await readManifest(output!.manifestPath)).types).toEqual({
      fileType: 7,
      quantType: 'q4_0',
      tensorTypes: ['layers.*=q8_0', 'layers.0.self_attn.*=f16', 'head.weight=f32'],
      byType: {
        Q4_0: { tensors: 1, parameters: 65 * 64, bytes: (65 * 64 * 18) / 32 },
        F32: { tensors: 3, parameters: 64 + 7 + 7 * 64, bytes: (64 + 7 + 7 * 64) * 4 },
        F16: { tensors: 3, parameters: 192 * 64 + 64 * 176 + 56, bytes: (192 * 64 + 64 * 176 + 56) * 2 },
        Q8_0: { tensors: 1, parameters: 352 * 64, bytes: (352 * 64 * 34) / 32 },
      },
    });

    // verify checks every tensor of the file against the source, each within its own type's step.
    const report = await verifyQuantized({ path: output!.files[0]!, model: modelDir });
    expect(report.tensors!.map((tensor) => tensor.type).sort()).toEqual(
      plan.tensors.map((tensor) => tensor.type).sort(),
    );
    expect(report.tensors!.every((tensor) => tensor.worstRatio <= 1)).toBe(true);
  });

  test('the quantized-output cache key holds the lines, in their order', () => {
    const base = { model: modelDir, outDir: '/out', repoId: 'org/tiny', revision: 'd'.repeat(40) };
    const mixed = quantizedCacheKey({ ...base, tensorTypes: MIXED });
    expect(mixed).not.toBe(quantizedCacheKey(base));
    expect(quantizedCacheKey({ ...base, tensorTypes: [...MIXED].reverse() })).not.toBe(mixed);
    expect(quantizedCacheKey({ ...base, tensorTypes: MIXED.map((line) => ({ ...line })) })).toBe(mixed);
  });

  test('the CLI takes the flag repeated, shows the result in the plan table, and verify passes', async () => {
    const outDir = await makeTempDir();
    const run = await runCli([
      'quantize',
      '--model',
      modelDir,
      '--out-dir',
      outDir,
      '--tensor-type',
      'layers.*=q8_0',
      '--tensor-type',
      'head.weight=f32',
    ]);
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toMatch(
      /^layers\.0\.gating\.linear_in\.weight +\[352, 64\] +F32 +Q8_0 +.* --tensor-type layers\.\*=q8_0$/m,
    );
    expect(run.stdout).toContain('\n--tensor-type layers.*=q8_0, head.weight=f32 over --quant-type q4_0\n');
    expect(run.stdout).toContain('\ngeneral.file_type 7 (mostly Q8_0)\n');
    const verify = await runCli(['verify', join(outDir, 'tiny-q4.gguf'), '--model', modelDir]);
    expect(verify.code).toBe(EXIT_OK);
    expect(verify.stdout).toMatch(
      /^values: OK, every tensor within its quantization step of the source; worst per type: /m,
    );
    for (const type of ['Q4_0', 'Q8_0', 'F16', 'F32']) expect(verify.stdout).toMatch(new RegExp(`${type} \\d`));
  });

  test('a line that types no tensor stops before anything is written, in one line', async () => {
    const outDir = join(await makeTempDir(), 'out');
    const run = await runCli(['quantize', '--model', modelDir, '--out-dir', outDir, '--tensor-type', 'layer.*=f16']);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toBe(
      "quantgate quantize: --tensor-type 'layer.*=f16' matches no tensor of the model; globs match whole names (e.g. 'layers.*.ffn.*'), and quantize --dry-run without this line lists them\n",
    );
    await expect(readdir(outDir)).rejects.toThrow();
    const unknown = await runCli([
      'quantize',
      '--model',
      modelDir,
      '--out-dir',
      outDir,
      '--tensor-type',
      'layers.*=q5_k',
    ]);
    expect(unknown.code).toBe(EXIT_ERROR);
    expect(unknown.stderr).toBe(
      'quantgate quantize: --tensor-type: "layers.*=q5_k" asks for type "q5_k"; use one of q4_0, q8_0, f16, f32, the types --quant-type takes\n',
    );
  });
});

/** The built-in engines on mixed files; each run is the pipeline the CLI and the action call. */
async function run(options: Partial<RunOptions>): Promise<{ result: RunResult; lines: string[] }> {
  const progress = recordingProgress();
  const result = await runPipeline(
    { ...DEFAULT_RUN_OPTIONS, outDir: await makeTempDir(), ...options },
    { progress, env: { HF_HUB_OFFLINE: '1' } },
  );
  return { result, lines: progress.lines };
}

const RUN_TIMEOUT_MS = 300_000;

describe('run on a mixed file', () => {
  test(
    'the onnx-ctc demo: Q4_0, Q8_0, F16 and F32 tensors all reach the candidate, which passes the gate',
    async () => {
      const { result, lines } = await run({
        maxSamples: 16,
        tensorTypes: [
          { glob: 'layers.*', type: 'q8_0' },
          { glob: 'layers.1.*', type: 'f16' },
          { glob: 'ctc_head.weight', type: 'f32' },
        ],
      });
      const types = new Set(result.plan.tensors.map((tensor) => tensor.type));
      expect(types).toEqual(new Set(['Q4_0', 'Q8_0', 'F16', 'F32']));
      expect(result.plan.fileType).toBe(7);
      const coverage = lines.find((line) => line.startsWith('onnx-ctc candidate (matmulnbits): '));
      expect(coverage).toMatch(
        new RegExp(
          `^onnx-ctc candidate \\(matmulnbits\\): ${result.plan.tensors.length} GGUF tensors .* through MatMulNBits, .* dequantized, .* F16/F32 as dense weights; none missing$`,
        ),
      );
      expect(result.passed).toBe(true);
      expect(result.comparison.utterances).toHaveLength(16);
    },
    RUN_TIMEOUT_MS,
  );

  test(
    'the onnx-ctc demo with every tensor F32 transcribes exactly as the reference',
    async () => {
      const { result } = await run({ maxSamples: 16, tensorTypes: [{ glob: '*', type: 'f32' }] });
      expect(Object.keys(result.plan.byType)).toEqual(['F32']);
      expect(result.plan.fileType).toBe(0);
      expect(result.comparison.utterances.map((utterance) => utterance.candidate.text)).toEqual(
        result.comparison.utterances.map((utterance) => utterance.reference.text),
      );
      expect(result.comparison.delta.points).toBe(0);
    },
    RUN_TIMEOUT_MS,
  );

  test(
    'quantgate run takes the flag repeated and prints the lines with the plan; a line that types nothing stops it first',
    async () => {
      const outDir = await makeTempDir();
      const args = ['run', '--max-samples', '4', '--out-dir', outDir, '--tensor-type', 'layers.*=q8_0'];
      const done = await runCli([...args, '--tensor-type', 'ctc_head.*=f16'], { env: { HF_HUB_OFFLINE: '1' } });
      expect(done.code).toBe(EXIT_OK);
      expect(done.stdout).toContain('\n--tensor-type layers.*=q8_0, ctc_head.*=f16 over --quant-type q4_0\n');
      const refused = await runCli([...args, '--tensor-type', 'ctc.*=f16'], { env: { HF_HUB_OFFLINE: '1' } });
      expect(refused.code).toBe(EXIT_ERROR);
      expect(refused.stderr).toMatch(/^quantgate run: --tensor-type 'ctc\.\*=f16' matches no tensor of the model; /m);
    },
    RUN_TIMEOUT_MS,
  );

  test(
    'kyutai-stt: the candidate reads every tensor of a mixed file, each by its type',
    async () => {
      const model = await writeGoldenModel(await makeTempDir());
      const data = await makeTempDir();
      await mkdir(join(data, 'audio'));
      await writeFile(join(data, 'audio', 'speech-1.flac'), await readFile(fixture('audio', 'speech-1.flac')));
      await writeFile(
        join(data, 'manifest.jsonl'),
        `${JSON.stringify({ id: 'speech-1', audio: 'audio/speech-1.flac', text: 'the quick brown fox' })}\n`,
      );
      const { result, lines } = await run({
        modelPath: model,
        dataset: join(data, 'manifest.jsonl'),
        normalizer: 'none',
        threshold: 100,
        tensorTypes: MIXED_KYUTAI,
      });
      expect(result.model.dir).toBe(model);
      const byName = new Map(result.plan.tensors.map((tensor) => [tensor.name, tensor.type]));
      expect(byName.get('transformer.layers.0.gating.linear_in.weight')).toBe('Q8_0');
      expect(byName.get('transformer.layers.1.self_attn.in_projs.0.weight')).toBe('F16');
      expect(byName.get('text_linear.weight')).toBe('F32');
      expect(byName.get('transformer.layers.0.self_attn.in_projs.0.weight')).toBe('Q4_0');
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^kyutai-stt candidate \\(matmulnbits\\): ${byName.size} GGUF tensors .* substituted into the LM graph: 2 .* through MatMulNBits, .* dequantized, .* F16/F32 as dense weights; none missing$`,
          ),
        ),
      );
      expect(result.comparison.utterances).toHaveLength(1);
    },
    RUN_TIMEOUT_MS,
  );
});
