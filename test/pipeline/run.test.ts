// The whole job through `quantgate run`: a Hub dataset (LibriSpeech-shaped parquet on the fake Hub,
// only the wanted split downloaded), the command engine with a stand-in recognizer, the gate's
// exit codes, a Kyutai STT model from the Hub on the built-in engine, and the default offline run
// on the embedded demo model.

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_ERROR, EXIT_GATE_FAILED, EXIT_OK } from '../../src/cli/command.js';
import { runCli } from '../helpers/cli.js';
import { tinyModelTensors, writeTestModel } from '../helpers/model.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { writeLibriSpeechParquet } from '../datasets/make-parquet.js';
import { writeGoldenModel } from '../engines/kyutai-stt/golden.js';
import { openGgufModel } from '../../src/formats/gguf/open.js';
import { FakeHub } from '../servers/fake-hub.js';

afterAll(removeTempDirs);

const TEXTS = [
  'the quick brown fox jumps over the lazy dog',
  'she sells sea shells by the sea shore',
  'a stitch in time saves nine',
  'every cloud has a silver lining',
];
const ids = Array.from({ length: 8 }, (_, i) => `1089-134686-${String(i).padStart(4, '0')}`);

let hub: FakeHub;
let modelDir: string;
let commands: (dropEvery: number) => string[];
let datasetCommit: string;

beforeAll(async () => {
  const dir = await makeTempDir();
  modelDir = await writeTestModel(join(dir, 'tiny'), tinyModelTensors());
  const speech = await Promise.all([1, 2, 3, 4].map((n) => readFile(fixture('audio', `speech-${n}.flac`))));
  const rows = ids.map((id, i) => ({ id, text: TEXTS[i % 4]!.toUpperCase(), audio: new Uint8Array(speech[i % 4]!) }));
  await writeLibriSpeechParquet(join(dir, 'test.parquet'), rows, 3);
  await writeLibriSpeechParquet(join(dir, 'train.parquet'), rows.slice(0, 2), 2);
  const truth = join(dir, 'truth.json');
  await writeFile(truth, JSON.stringify(Object.fromEntries(ids.map((id, i) => [id, TEXTS[i % 4]]))));
  const script = fileURLToPath(new URL('../action/fake-stt.mjs', import.meta.url));
  const stt = `'${process.execPath}' '${script}' {manifest} {output} '${truth}'`;
  commands = (dropEvery) => ['--reference-command', stt, '--candidate-command', `${stt} --drop-every ${dropEvery}`];

  hub = await FakeHub.start();
  hub.createRepo('org/speech', { type: 'dataset' });
  datasetCommit = await hub.commit(
    'org/speech',
    [
      { path: 'all/test.clean/0000.parquet', content: { file: join(dir, 'test.parquet') } },
      { path: 'all/train.clean.100/0000.parquet', content: { file: join(dir, 'train.parquet') } },
    ],
    { type: 'dataset' },
  );
});

afterAll(() => hub.close());

describe('quantgate run', () => {
  test('evaluates a Hub dataset, downloading only the split it needs, and passes a faithful candidate', async () => {
    const outDir = await makeTempDir();
    const cacheDir = await makeTempDir();
    const run = await runCli([
      'run',
      '--model-path',
      modelDir,
      '--dataset',
      'org/speech',
      '--hub-url',
      hub.url,
      '--cache-dir',
      cacheDir,
      ...commands(0),
      '--out-dir',
      outDir,
    ]);
    expect(run.stderr).not.toMatch(/quantgate run:/);
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toMatch(/reference\s+0\.00%/);
    expect(run.stdout).toContain('PASS (point mode, threshold 2.00 points)');
    const downloads = hub.requests
      .filter((request) => request.path.includes('/resolve/'))
      .map((request) => request.path);
    expect(downloads.some((path) => path.endsWith('all/test.clean/0000.parquet'))).toBe(true);
    expect(downloads.some((path) => path.includes('train.clean'))).toBe(false);
    const results = JSON.parse(await readFile(join(outDir, 'eval_results.json'), 'utf8'));
    expect(results.dataset).toMatchObject({ name: 'org/speech', split: 'test.clean', revision: datasetCommit });
    expect(results.utterances).toHaveLength(ids.length);
  });

  test('a degraded candidate fails the gate with exit code 1, and still writes its results', async () => {
    const outDir = await makeTempDir();
    const run = await runCli([
      'run',
      '--model-path',
      modelDir,
      '--dataset',
      'org/speech',
      '--hub-url',
      hub.url,
      '--cache-dir',
      await makeTempDir(),
      ...commands(2),
      '--out-dir',
      outDir,
    ]);
    expect(run.code).toBe(EXIT_GATE_FAILED);
    expect(run.stdout).toMatch(/FAIL \(point mode, threshold 2\.00 points\)/);
    expect(await readFile(join(outDir, 'eval_results.txt'), 'utf8')).toMatch(/FAIL/);
    // The default --sensitivity on-failure cannot run on the command engine: one note, no ranking.
    expect(run.stderr.split('\n').filter((line) => /sensitivity/.test(line))).toEqual([
      "sensitivity: skipped, the command engine cannot show its layers' inputs (--sensitivity never silences this)",
    ]);
    expect(JSON.parse(await readFile(join(outDir, 'eval_results.json'), 'utf8')).sensitivity).toBeUndefined();
  });

  test('runs the variants one after the other, the reference first, on the same audio, and leaves no decoded audio behind', async () => {
    const dir = await makeTempDir();
    const log = join(dir, 'calls.log');
    // Logs each call's variant, ids and a hash of each WAV it was given, then answers the truth.
    const script = join(dir, 'logging-stt.mjs');
    await writeFile(
      script,
      [
        "import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';",
        "import { createHash } from 'node:crypto';",
        'const [variant, manifest, output, truth, log] = process.argv.slice(2);',
        "const texts = JSON.parse(readFileSync(truth, 'utf8'));",
        "const entries = readFileSync(manifest, 'utf8').split('\\n').filter(Boolean).map((line) => JSON.parse(line));",
        "for (const { id, audio } of entries) appendFileSync(log, `${variant} ${id} ${createHash('sha256').update(readFileSync(audio)).digest('hex')}\\n`);",
        "writeFileSync(output, entries.map(({ id }) => JSON.stringify({ id, text: texts[id] })).join('\\n') + '\\n');",
      ].join('\n'),
    );
    const truth = join(dir, 'truth.json');
    await writeFile(truth, JSON.stringify(Object.fromEntries(ids.map((id, i) => [id, TEXTS[i % 4]]))));
    const command = (variant: string) =>
      `'${process.execPath}' '${script}' ${variant} {manifest} {output} '${truth}' '${log}'`;
    const outDir = await makeTempDir();
    const run = await runCli([
      'run',
      '--model-path',
      modelDir,
      '--dataset',
      'org/speech',
      '--hub-url',
      hub.url,
      '--cache-dir',
      await makeTempDir(),
      '--reference-command',
      command('reference'),
      '--candidate-command',
      command('candidate'),
      '--batch-size',
      '3',
      '--out-dir',
      outDir,
    ]);
    expect(run.code).toBe(EXIT_OK);
    const calls = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    expect(calls.map(([variant]) => variant)).toEqual([...ids.map(() => 'reference'), ...ids.map(() => 'candidate')]);
    const heard = (variant: string) =>
      calls.filter((call) => call[0] === variant).map(([, id, hash]) => `${id} ${hash}`);
    expect(heard('candidate')).toEqual(heard('reference'));
    expect(heard('reference').map((entry) => entry.split(' ')[0])).toEqual(ids);
    for (const stage of ['model', 'quantize', 'dataset', 'reference', 'candidate', 'score'])
      expect(run.stderr).toContain(`── ${stage}\n`);
    expect((await readdir(outDir)).filter((name) => name.startsWith('.quantgate-audio-'))).toEqual([]);
  });

  test('a run that fails in the candidate pass leaves no decoded audio behind', async () => {
    const outDir = await makeTempDir();
    const [, reference] = commands(0);
    const run = await runCli([
      'run',
      '--model-path',
      modelDir,
      '--dataset',
      'org/speech',
      '--hub-url',
      hub.url,
      '--cache-dir',
      await makeTempDir(),
      '--reference-command',
      reference!,
      '--candidate-command',
      `'${process.execPath}' -e 'process.exit(3)' {manifest} {output}`,
      '--out-dir',
      outDir,
    ]);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toMatch(/── candidate\n/);
    expect(run.stderr).toMatch(/^quantgate run: candidate command exited with code 3/m);
    expect((await readdir(outDir)).filter((name) => name.startsWith('.quantgate-audio-'))).toEqual([]);
  });

  test('a bad option is one line and exit code 2, before any work', async () => {
    const run = await runCli(['run', '--threshold', 'two']);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toBe('quantgate run: --threshold must be a number ≥ 0, got "two"\n');
  });

  test('a kyutai/stt-* model from the Hub runs on the built-in engine with its preset, and records the commit and device', async () => {
    // The golden Kyutai model (random weights) without `model_type`, so only the repo id marks it.
    const modelFolder = await writeGoldenModel(await makeTempDir(), { model_type: undefined });
    hub.createRepo('kyutai/stt-golden-test');
    const files = await readdir(modelFolder);
    const commit = await hub.commit(
      'kyutai/stt-golden-test',
      files.map((name) => ({ path: name, content: { file: join(modelFolder, name) } })),
    );
    const data = await makeTempDir();
    await mkdir(join(data, 'audio'));
    const lines = await Promise.all(
      [1, 2].map(async (n) => {
        await writeFile(join(data, 'audio', `speech-${n}.flac`), await readFile(fixture('audio', `speech-${n}.flac`)));
        return JSON.stringify({ id: `speech-${n}`, audio: `audio/speech-${n}.flac`, text: TEXTS[n - 1] });
      }),
    );
    await writeFile(join(data, 'manifest.jsonl'), `${lines.join('\n')}\n`);
    const outDir = await makeTempDir();
    const hubOptions = [
      '--model-id',
      'kyutai/stt-golden-test',
      '--hub-url',
      hub.url,
      '--cache-dir',
      await makeTempDir(),
    ];
    const run = await runCli([
      'run',
      ...hubOptions,
      '--dataset',
      join(data, 'manifest.jsonl'),
      '--normalizer',
      'none',
      '--threshold',
      '100',
      '--out-dir',
      outDir,
    ]);
    expect(run.stderr).not.toMatch(/quantgate run:/);
    expect(run.code).toBe(EXIT_OK);
    const results = JSON.parse(await readFile(join(outDir, 'eval_results.json'), 'utf8'));
    expect(results.run).toMatchObject({
      modelId: 'kyutai/stt-golden-test',
      modelRevision: commit,
      engine: 'kyutai-stt',
      device: 'cpu',
    });
    expect(results.utterances).toHaveLength(2);
    // The memory check ran before loading, from the engine's estimate.
    expect(run.stderr).toMatch(
      /^memory: the run needs about \d+\.\d+ MiB at batch size 8 for utterances up to 35 s; \d+\.\d+ GiB is available$/m,
    );
    // The kyutai-stt preset: its architecture, the LM's linear weights in Q4_0, the unused extra heads left out.
    const gguf = await openGgufModel(join(outDir, 'stt-golden-test-q4.gguf'));
    try {
      expect(gguf.metadata.find((entry) => entry.key === 'general.architecture')?.value).toBe('kyutai-stt');
      expect(gguf.tensors.find((tensor) => tensor.name === 'transformer.layers.0.gating.linear_in.weight')?.type).toBe(
        'Q4_0',
      );
      expect(gguf.tensors.some((tensor) => tensor.name.startsWith('extra_heads.'))).toBe(false);
    } finally {
      await gguf.close();
    }
  }, 120_000);

  test('with no options it runs offline on the demo model and its test set, and passes', async () => {
    const outDir = await makeTempDir();
    const run = await runCli(['run', '--out-dir', outDir], { env: { HF_HUB_OFFLINE: '1' } });
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toMatch(/Data set: .*assets\/demo\/testset\/manifest\.jsonl · 100 utterances/);
    expect(run.stdout).toContain(`quantized model: ${join(outDir, 'quantgate-demo-q4.gguf')}`);
  }, 300_000);
});
