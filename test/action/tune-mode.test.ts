// The action in mode tune, run in-process from the sources on the embedded demo model, against a
// local fake of the results (artifact) service: the outputs (the overrides among them), the job
// summary with the steps and both Mermaid charts, the artifact with the tuned files, the results
// and the chart, and the notice. The bundled action's tests (run-mode.test.ts) cover the bundle
// itself; this one needs onnxruntime-node, which resolves here from node_modules.

import { jest } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runAction } from '../../src/action/action.js';
import type { TuneResult } from '../../src/report/tune-report.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { zipEntryNames } from '../helpers/zip.js';
import { FakeArtifactService } from '../servers/fake-artifact-service.js';
import { parseOutputs } from './bundled-action.js';

const savedEnv = { ...process.env };
let artifacts: FakeArtifactService;

beforeAll(async () => {
  artifacts = await FakeArtifactService.start();
});

afterAll(async () => {
  process.env = savedEnv;
  await artifacts.close();
  await removeTempDirs();
});

/** Runs the action with `inputs` as a runner gives them; its log, outputs, summary and exit code. */
async function runTuneAction(inputs: Record<string, string>) {
  const files = await makeTempDir();
  const outputPath = join(files, 'output');
  const summaryPath = join(files, 'summary.md');
  await Promise.all([writeFile(outputPath, ''), writeFile(summaryPath, '')]);
  process.env = {
    ...savedEnv,
    ...artifacts.env,
    GITHUB_REPOSITORY: 'octo/models',
    GITHUB_RUN_ID: '77',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])),
  };
  let log = '';
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((log += String(chunk)), true));
  const exitCode = process.exitCode;
  try {
    await runAction(process.env);
    return {
      code: process.exitCode ?? 0,
      log,
      outputs: parseOutputs(await readFile(outputPath, 'utf8')),
      summary: await readFile(summaryPath, 'utf8'),
    };
  } finally {
    write.mockRestore();
    process.exitCode = exitCode;
    process.env = savedEnv;
  }
}

test('mode tune: the overrides as an output, the steps and charts in the summary, the tuned files as the artifact', async () => {
  const outDir = await makeTempDir();
  const run = await runTuneAction({
    mode: 'tune',
    'model-id': '',
    'max-samples': '30',
    // Every layer kept F32 leaves two groups, so the search is short; uniform Q4_0 loses 0.49 points here.
    keep: 'layers.*',
    threshold: '0.2',
    'calibration-samples': '4',
    group: 'layer',
    'out-dir': outDir,
    'results-cache': await makeTempDir(),
    cache: 'false',
    'artifact-name': 'demo-tuned',
  });
  expect(run.log).not.toMatch(/^::error::/m);
  expect(run.code).toBe(0);
  const result = JSON.parse(await readFile(join(outDir, 'tune_results.json'), 'utf8')) as TuneResult;
  expect(result.passed).toBe(true);
  expect(result.overrides.length).toBeGreaterThan(0);
  expect(run.outputs.overrides!.split('\n')).toEqual(result.overrides);
  expect(run.outputs.passed).toBe('true');
  expect(run.outputs['gguf-path']).toBe(join(outDir, 'quantgate-demo-q4.gguf'));
  expect(run.outputs['tune-results-path']).toBe(join(outDir, 'tune_results.json'));
  expect(run.outputs['tune-chart-path']).toBe(join(outDir, 'tune_chart.svg'));
  expect(Number(run.outputs['wer-delta'])).toBeCloseTo(result.confirmed!.deltaWer, 4);
  expect(run.log).toMatch(/^::notice::quantgate tune PASS: .* of uniform F16\) with \d+ overrides; ΔWER/m);
  for (const stage of ['quantize', 'reference', 'candidate', 'score']) expect(run.log).toContain(`::group::${stage}\n`);

  expect(run.summary).toContain(
    '### quantgate tune: ✅ tune: the smallest mix of q4\\_0, f16 with ΔWER within 0.20 points',
  );
  expect(run.summary).toContain(
    '| step | promoted | type | size | of F16 | calibration ΔWER | calibration KLD | full evaluation |',
  );
  expect(run.summary).toContain(['```text', ...result.overrides, '```'].join('\n'));
  expect(run.summary.match(/```mermaid\n/g)).toHaveLength(2);
  expect(run.summary).toContain('title "tune: size against ΔWER on 4 calibration utterances"');

  const uploaded = artifacts.artifacts.find((artifact) => artifact.name === 'demo-tuned')!;
  expect(run.outputs['artifact-id']).toBe(String(uploaded.id));
  expect(run.summary).toContain(
    `| artifact | https://github.com/octo/models/actions/runs/77/artifacts/${uploaded.id} |`,
  );
  expect(zipEntryNames(artifacts.zipOf(uploaded.id)!).sort()).toEqual(
    [
      'eval_results.json',
      'eval_results.txt',
      'quantgate-demo-q4.gguf',
      'quantgate-demo-q4.manifest.json',
      'tune_chart.svg',
      'tune_results.json',
    ].sort(),
  );
}, 300_000);
