// The bundled action evaluating a built-in engine from a checkout without node_modules: it installs
// the onnxruntime-node its package-lock.json pins from the (fake) npm registry into the tool cache,
// loads it through the bundle's stand-in, and a later run on the same machine downloads nothing;
// its artifact carries the reference base of the token metrics.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeWav } from '../../src/audio/wav-writer.js';
import { SAMPLE_RATE, speak, writeCtcModelFolder, type Token } from '../engines/onnx-ctc/ctc-test-model.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { bundleIntoCheckout, runBundledAction } from './bundled-action.js';
import { FakeNpmRegistry } from '../runtime/fake-npm-registry.js';
import { FakeArtifactService } from '../servers/fake-artifact-service.js';
import { zipEntryNames } from '../helpers/zip.js';
import { packRealOnnxruntime } from '../runtime/packages.js';

const CLIPS: { id: string; frames: Token[]; text: string }[] = [
  {
    id: 'hello',
    frames: ['h', 'h', 'e', 'l', 'l', '<pad>', 'l', 'o', 'o', '|', 'w', 'o', 'r', 'l', 'd', 'd'],
    text: 'hello world',
  },
  { id: 'old', frames: ['<s>', 'o', '<pad>', 'l', 'd', '</s>'], text: 'old' },
  { id: 'hero', frames: ['|', 'h', 'e', 'r', 'o'], text: 'hero' },
];

let registry: FakeNpmRegistry;
let artifacts: FakeArtifactService;
let checkout: string;
let workspace: string;
let version: string;

beforeAll(async () => {
  registry = await FakeNpmRegistry.start();
  artifacts = await FakeArtifactService.start();
  const real = await packRealOnnxruntime();
  version = real.version;
  const pins = [
    registry.publish('onnxruntime-node', real.version, real.runtime),
    registry.publish('onnxruntime-common', real.version, real.common),
  ];
  checkout = await bundleIntoCheckout();
  // The checkout's lockfile pins the tarballs this registry serves (packed here, so their hashes differ from npm's).
  const lockPath = join(checkout, 'package-lock.json');
  const lock = JSON.parse(await readFile(lockPath, 'utf8')) as { packages: Record<string, { integrity?: string }> };
  for (const pin of pins) lock.packages[`node_modules/${pin.name}`]!.integrity = pin.integrity;
  await writeFile(lockPath, JSON.stringify(lock));

  workspace = await makeTempDir('quantgate-workspace-');
  await writeCtcModelFolder(join(workspace, 'ctc'));
  await mkdir(join(workspace, 'clips'));
  for (const clip of CLIPS)
    await writeFile(join(workspace, 'clips', `${clip.id}.wav`), encodeWav(speak(clip.frames), SAMPLE_RATE, 'float32'));
  await writeFile(
    join(workspace, 'clips', 'manifest.jsonl'),
    CLIPS.map(({ id, text }) => JSON.stringify({ id, audio: `${id}.wav`, text })).join('\n'),
  );
});

afterAll(async () => {
  await Promise.all([registry.close(), artifacts.close()]);
  await removeTempDirs();
});

test('installs onnxruntime-node into the tool cache at the first run, and evaluates the onnx-ctc engine with it', async () => {
  const toolCache = await makeTempDir('quantgate-tool-cache-');
  const inputs = {
    'model-path': 'ctc',
    dataset: 'clips/manifest.jsonl',
    device: 'cpu',
    cache: 'false',
    'upload-artifacts': 'false',
    resamples: '200',
  };
  const env = { QUANTGATE_NPM_REGISTRY: registry.url, RUNNER_TOOL_CACHE: toolCache };

  const first = await runBundledAction(checkout, workspace, { ...inputs, 'out-dir': 'first' }, env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const installed = join(toolCache, 'quantgate-onnxruntime', version, `${process.platform}-${process.arch}`);
  expect(first.stdout).toContain(
    `onnxruntime-node ${version} for ${process.platform}-${process.arch}: installed into ${installed}`,
  );
  expect(first.stdout).toMatch(/^::group::onnxruntime\nonnxruntime-node \S+ {2}[\d.]+ MiB \/ [\d.]+ MiB {2}100%/);
  expect(first.outputs['wer-reference']).toBe('0');
  expect(first.summary).toMatch(/\| engine \| onnx-ctc on cpu \|/);
  expect(registry.requests).toHaveLength(2);

  const second = await runBundledAction(
    checkout,
    workspace,
    { ...inputs, 'out-dir': 'second', 'upload-artifacts': 'true', 'artifact-name': 'ctc-q4' },
    { ...env, ...artifacts.env, GITHUB_REPOSITORY: 'octo/models', GITHUB_RUN_ID: '77' },
  );
  expect(second.code).toBe(0);
  const uploaded = artifacts.artifacts.find((artifact) => artifact.name === 'ctc-q4')!;
  // The reference base lets a later job measure another quantization without the reference pass.
  expect(zipEntryNames(artifacts.zipOf(uploaded.id)!)).toContain('reference_base.bin');
  expect(second.stdout).toContain(
    `onnxruntime-node ${version} for ${process.platform}-${process.arch}: found in ${installed}`,
  );
  expect(registry.requests).toHaveLength(2);
  expect(second.outputs['wer-candidate']).toBe(first.outputs['wer-candidate']);
});
