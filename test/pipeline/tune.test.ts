// `quantgate tune` on the embedded demo model (onnx-ctc) and on a copy of it with one fragile layer:
// the fragile layer is promoted first; on the demo, a threshold tighter than uniform Q4_0 meets
// gives a file that passes the gate when `run --tensor-type` evaluates it again, is smaller than
// uniform F16 and holds only the allowed types; the search is deterministic and its overrides give
// `quantize` the same bytes; --target best stays within --max-size; a budget no mix meets writes
// nothing; bad options are one-line errors.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_GATE_FAILED, EXIT_OK } from '../../src/cli/command.js';
import { readManifest } from '../../src/formats/gguf/manifest.js';
import { demoPaths } from '../../src/pipeline/demo.js';
import { TUNE_CHART_NAME, TUNE_RESULTS_NAME, type TuneResult } from '../../src/report/tune-report.js';
import { runCli } from '../helpers/cli.js';
import { writeGoldenModel } from '../engines/kyutai-stt/golden.js';
import { fragileModel } from '../helpers/fragile-model.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

let resultsCache: string;
beforeAll(async () => {
  // One results store for the whole file, so the demo's reference pass runs once.
  resultsCache = await makeTempDir();
});

/**
 * A few calibration utterances, one group per layer and role, and 30 utterances for the full
 * evaluation keep each search to seconds. Uniform Q4_0 loses 2.46 WER points on those 30.
 */
const SEARCH = ['--calibration-samples', '4', '--group', 'layer', '--max-samples', '30'];

async function tune(
  args: string[],
  expectedCode = EXIT_OK,
): Promise<{ outDir: string; stdout: string; result: TuneResult }> {
  const outDir = await makeTempDir();
  const run = await runCli(['tune', ...SEARCH, '--results-cache', resultsCache, '--out-dir', outDir, ...args]);
  expect({ code: run.code, stderr: run.code === expectedCode ? '' : run.stderr }).toEqual({
    code: expectedCode,
    stderr: '',
  });
  const results = join(outDir, TUNE_RESULTS_NAME);
  const result = (expectedCode === EXIT_OK ? JSON.parse(await readFile(results, 'utf8')) : undefined) as TuneResult;
  return { outDir, stdout: run.stdout, result };
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

const GGUF = 'quantgate-demo-q4.gguf';
const MANIFEST = 'quantgate-demo-q4.manifest.json';

describe('tune on the demo model', () => {
  test('a threshold tighter than uniform Q4_0 meets: the tuned file passes run --tensor-type, is smaller than uniform F16, holds only the allowed types, and the same search gives the same bytes', async () => {
    const threshold = '1';
    const first = await tune(['--threshold', threshold]);
    const { result } = first;
    // Uniform Q4_0 misses the threshold on the full evaluation, so the search had to promote.
    expect(result.model).toBe(demoPaths().model);
    expect(result.steps[0]).toMatchObject({ step: 0, type: 'q4_0' });
    expect(result.passed).toBe(true);
    expect(result.chosen).toBeGreaterThan(0);
    expect(result.overrides.length).toBe(result.chosen);
    expect(result.confirmed!.deltaWer).toBeLessThanOrEqual(1);
    expect(result.steps[0]!.confirmation).toMatchObject({ passed: false, utterances: 30 });
    const tuned = join(first.outDir, GGUF);
    expect((await stat(tuned)).size).toBe(result.size.bytes);
    expect(result.size.bytes!).toBeLessThan(result.size.uniform.f16!);
    expect(result.size.bytes!).toBeGreaterThan(result.size.uniform.q4_0!);
    // Each step promotes one group from q4_0 to f16, and only a mix that met the proxy was evaluated in full.
    for (const step of result.steps.slice(1)) expect(step).toMatchObject({ from: 'q4_0', type: 'f16' });
    expect(result.steps.filter((step) => step.confirmation?.passed)).toHaveLength(1);
    expect(await readdir(first.outDir)).toEqual(
      expect.arrayContaining([GGUF, MANIFEST, TUNE_RESULTS_NAME, TUNE_CHART_NAME, 'eval_results.json']),
    );
    expect(await readFile(join(first.outDir, TUNE_CHART_NAME), 'utf8')).toMatch(/^<svg [^]*<\/svg>\n$/);
    expect(first.stdout).toContain(`tuned: `);
    for (const line of result.overrides) expect(first.stdout).toContain(`  ${line}\n`);

    // Only Q4_0 and F16 weights; F32 only where the plan's rules keep it (norms, 1-D tensors), as in uniform Q4_0.
    const manifest = await readManifest(join(first.outDir, MANIFEST));
    expect(Object.keys(manifest.types!.byType).sort()).toEqual(['F16', 'F32', 'Q4_0']);
    const uniformDir = await makeTempDir();
    expect((await runCli(['quantize', '--model-path', demoPaths().model, '--out-dir', uniformDir])).code).toBe(EXIT_OK);
    expect(manifest.types!.byType.F32).toEqual((await readManifest(join(uniformDir, MANIFEST))).types!.byType.F32);

    // The overrides, given to run, pass the same gate; given to quantize, they give the same bytes.
    const overrides = result.overrides.flatMap((line) => ['--tensor-type', line]);
    const again = await runCli([
      'run',
      '--max-samples',
      '30',
      '--threshold',
      threshold,
      '--results-cache',
      resultsCache,
      '--out-dir',
      await makeTempDir(),
      ...overrides,
    ]);
    expect(again.code).toBe(EXIT_OK);
    expect(again.stdout).toContain(`ΔWER ${result.confirmed!.deltaWer >= 0 ? '+' : ''}`);
    const quantized = await makeTempDir();
    expect(
      (await runCli(['quantize', '--model-path', demoPaths().model, '--out-dir', quantized, ...overrides])).code,
    ).toBe(EXIT_OK);
    expect(await sha256(join(quantized, GGUF))).toBe(await sha256(tuned));
    expect(await readFile(join(quantized, MANIFEST), 'utf8')).toBe(
      await readFile(join(first.outDir, MANIFEST), 'utf8'),
    );

    // The same search again: the same steps and results file, the same bytes.
    const second = await tune(['--threshold', threshold]);
    expect(await readFile(join(second.outDir, TUNE_RESULTS_NAME), 'utf8')).toBe(
      await readFile(join(first.outDir, TUNE_RESULTS_NAME), 'utf8'),
    );
    expect(await sha256(join(second.outDir, GGUF))).toBe(await sha256(tuned));
    expect(await readFile(join(second.outDir, TUNE_CHART_NAME), 'utf8')).toBe(
      await readFile(join(first.outDir, TUNE_CHART_NAME), 'utf8'),
    );
  }, 600_000);

  test('--target best gives the lowest calibration KLD within --max-size', async () => {
    const { result, outDir } = await tune(['--target', 'best', '--max-size', '0.8']);
    const limit = 0.8 * 1024 * 1024;
    expect(result.target).toBe('best');
    for (const step of result.steps) expect(step.bytes).toBeLessThanOrEqual(limit);
    expect((await stat(join(outDir, GGUF))).size).toBeLessThanOrEqual(limit);
    const chosen = result.steps[result.chosen!]!;
    for (const step of result.steps) expect(chosen.calibration.meanKld).toBeLessThanOrEqual(step.calibration.meanKld);
    expect(result.steps.length).toBeGreaterThan(1);
    expect(result.confirmed!.utterances).toBe(30);
  }, 300_000);

  test('a budget no mix meets is a failure with one clear line, and nothing is written', async () => {
    const outDir = await makeTempDir();
    const run = await runCli([
      'tune',
      ...SEARCH,
      '--allow-types',
      'q4_0,q8_0',
      '--max-kld',
      '0',
      // Every layer kept F32 leaves two groups to promote, ctc_head and input_proj.
      '--keep',
      'layers.*',
      '--results-cache',
      resultsCache,
      '--out-dir',
      outDir,
    ]);
    expect(run.code).toBe(EXIT_GATE_FAILED);
    expect(run.stdout).toMatch(/\nquantgate tune FAIL: no mix of q4_0, q8_0 reaches the budget: .*allow a wider type/);
    // Both groups ended at Q8_0, and only that last mix was evaluated in full (the KLD limit 0 is never met before).
    expect(run.stdout).toMatch(/ 1 {2}ctc_head\.weight +q4_0 → q8_0 /);
    expect(run.stdout).toMatch(/ 2 {2}input_proj\.weight +q4_0 → q8_0 /);
    expect(run.stdout.match(/^ +\d+ .*FAIL ΔWER/gm)).toHaveLength(1);
    expect(await readdir(outDir)).toEqual([]);
  }, 300_000);
});

test('the layer with outliers in its input channels is promoted first', async () => {
  const model = await fragileModel();
  // Layers 1 and 2 kept F32 leave four groups, among them the two that promote first on the demo itself.
  const { result } = await tune([
    '--model-path',
    model,
    '--dataset',
    demoPaths().testset,
    '--keep',
    'layers.1.*,layers.2.*',
  ]);
  expect(result.sensitivity.groups.map((group) => group.group).sort()).toEqual([
    'ctc_head.weight',
    'input_proj.weight',
    'layers.0.attention.*',
    'layers.0.ffn.*',
  ]);
  expect(result.steps[1]).toMatchObject({ group: 'layers.0.ffn.*', from: 'q4_0', type: 'f16' });
  expect(result.steps[1]!.calibration.meanKld).toBeLessThan(result.steps[0]!.calibration.meanKld / 2);
}, 300_000);

test('kyutai-stt: on the golden Kyutai model, --target best promotes within the size and confirms with the Kyutai engine', async () => {
  const model = await writeGoldenModel(await makeTempDir());
  const data = await makeTempDir();
  await mkdir(join(data, 'audio'));
  await writeFile(join(data, 'audio', 'speech-1.flac'), await readFile(fixture('audio', 'speech-1.flac')));
  await writeFile(
    join(data, 'manifest.jsonl'),
    `${JSON.stringify({ id: 'speech-1', audio: 'audio/speech-1.flac', text: 'the quick brown fox' })}\n`,
  );
  const { result, outDir } = await tune([
    '--model-path',
    model,
    '--dataset',
    join(data, 'manifest.jsonl'),
    '--normalizer',
    'none',
    '--threshold',
    '100',
    '--calibration-samples',
    '1',
    '--target',
    'best',
    '--max-size',
    '0.2',
  ]);
  expect(result.engine).toBe('kyutai-stt');
  // Uniform Q4_0 is 113.5 KiB and uniform F16 278 KiB: the size stops the search halfway.
  expect(result.size.uniform.q4_0!).toBeLessThan(0.2 * 1024 * 1024);
  expect(result.size.uniform.f16!).toBeGreaterThan(0.2 * 1024 * 1024);
  expect(result.steps.length).toBeGreaterThan(2);
  for (const step of result.steps) expect(step.bytes).toBeLessThanOrEqual(0.2 * 1024 * 1024);
  const chosen = result.steps[result.chosen!]!;
  for (const step of result.steps) expect(chosen.calibration.meanKld).toBeLessThanOrEqual(step.calibration.meanKld);
  expect(chosen.calibration.meanKld).toBeLessThan(result.steps[0]!.calibration.meanKld);
  expect(result.confirmed).toMatchObject({ passed: true, utterances: 1 });
  expect((await readdir(outDir)).filter((name) => name.endsWith('.gguf'))).toHaveLength(1);
}, 300_000);

describe('bad options are one-line errors before any work', () => {
  test.each([
    [
      ['--allow-types', 'q4_0,q5_k'],
      /--allow-types: "q5_k" is not a type; use a comma-separated list of q4_0, q8_0, f16, f32/,
    ],
    [['--allow-types', 'f16'], /--allow-types f16 leaves out --quant-type q4_0, the type tune starts from; add it/],
    [['--allow-types', 'q4_0'], /--allow-types q4_0 has no type wider than q4_0 to promote a weight to/],
    [['--quant-type', 'f16'], /--quant-type f16 leaves nothing to promote, use q4_0 or q8_0/],
    [['--target', 'best'], /--target best finds the lowest KLD within a size; give that size with --max-size <MB>/],
    [['--max-size', '1'], /--max-size bounds the size for --target best/],
    [['--tensor-type', 'ctc_head.weight=f16'], /--tensor-type is what tune writes/],
    [['--target', 'biggest'], /--target must be one of smallest, best, got "biggest"/],
  ])('%j', async (args, message) => {
    const outDir = await makeTempDir();
    const run = await runCli(['tune', '--out-dir', outDir, ...args]);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
    expect(await readdir(outDir)).toEqual([]);
  });
});
