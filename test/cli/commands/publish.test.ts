// `quantgate publish` on the output of an offline demo run: the dry run writes the files and the card
// and contacts nobody; against the fake Hub a publish makes one commit, a re-publish none, --create-pr
// a pull request; a failed upload and a token without write access are one line, exit code 2, and
// nothing committed.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EXIT_ERROR, EXIT_OK } from '../../../src/cli/command.js';
import { readManifest } from '../../../src/formats/gguf/manifest.js';
import { readEvalResults } from '../../../src/report/results-files.js';
import { runCli } from '../../helpers/cli.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { FakeHub } from '../../servers/fake-hub.js';

const TOKEN = 'hf_write_token_4821';
let hub: FakeHub;
let outDir: string;

beforeAll(async () => {
  outDir = await makeTempDir();
  const demo = await runCli(
    ['run', '--out-dir', outDir, '--max-samples', '4', '--max-shard-size', '0.1', '--resamples', '200'],
    { env: { HF_HUB_OFFLINE: '1' } },
  );
  expect(demo.code).toBe(EXIT_OK);
  hub = await FakeHub.start();
  hub.allowRepoCreation('org', TOKEN);
}, 120_000);

afterAll(async () => {
  await hub?.close();
  await removeTempDirs();
});

/** The error line, after the progress lines. */
const lastLine = (stderr: string) => stderr.trimEnd().split('\n').at(-1);

const publish = (args: string[], env: NodeJS.ProcessEnv = { HF_TOKEN: TOKEN }) =>
  runCli(['publish', '--hub-url', hub.url, ...args, outDir], { env });

test('--dry-run writes the demo run’s files and its model card into hub-upload/, and contacts nobody', async () => {
  const requests = hub.requests.length;
  const run = await publish(['--hub-repo', 'org/demo-q4', '--dry-run']);
  expect(run.code).toBe(EXIT_OK);
  const dir = join(outDir, 'hub-upload');
  expect(run.stdout).toBe(`dry run: 10 files written to ${dir}\n`);
  expect(hub.requests.length).toBe(requests);

  const manifestName = (await readdir(outDir)).find((name) => name.endsWith('.manifest.json'))!;
  const manifest = await readManifest(join(outDir, manifestName));
  const written = (await readdir(dir, { recursive: true })).filter((path) => !path.endsWith('-shards'));
  expect(written.sort()).toEqual(
    [
      ...manifest.files.map((file) => file.path),
      manifestName,
      'eval_results.json',
      'eval_results.txt',
      'README.md',
    ].sort(),
  );
  for (const file of manifest.files)
    expect(await readFile(join(dir, file.path))).toEqual(await readFile(join(outDir, file.path)));

  const card = await readFile(join(dir, 'README.md'), 'utf8');
  const matter = parse(/^---\n([\s\S]*?)\n---\n/.exec(card)![1]!) as {
    tags: string[];
    'model-index': {
      name: string;
      results: { task: { type: string }; metrics: { type: string; value: number }[] }[];
    }[];
  };
  const results = await readEvalResults(join(outDir, 'eval_results.json'));
  expect(matter.tags).toEqual(expect.arrayContaining(['gguf', 'quantgate', 'automatic-speech-recognition']));
  expect(matter['model-index'][0]!.name).toBe('demo-q4');
  expect(matter['model-index'][0]!.results[0]!.task.type).toBe('automatic-speech-recognition');
  expect(matter['model-index'][0]!.results[0]!.metrics.map((metric) => [metric.type, metric.value])).toEqual([
    ['wer', Math.round(results.reference.werPercent * 100) / 100],
    ['wer', Math.round(results.candidate.werPercent * 100) / 100],
  ]);
  for (const file of manifest.files) expect(card).toContain(file.sha256);
});

test('a publish makes one commit holding every file; a re-publish commits nothing', async () => {
  const first = await publish(['--hub-repo', 'org/demo-q4']);
  expect(first.code).toBe(EXIT_OK);
  const commit = hub.commitsMade.at(-1)!;
  expect(first.stdout).toBe(`published 10 files to org/demo-q4\ncommit: ${hub.url}/org/demo-q4/commit/${commit.sha}\n`);
  expect(commit).toMatchObject({ repo: 'org/demo-q4', revision: 'main' });
  const onHub = hub.filesAt('org/demo-q4')!.map((file) => file.path);
  expect(onHub).toContain('README.md');
  expect(onHub).toContain('eval_results.json');
  expect(onHub).toHaveLength(10);
  expect(`${first.stdout}${first.stderr}`).not.toContain(TOKEN);

  const commits = hub.commitsMade.length;
  const again = await publish(['--hub-repo', 'org/demo-q4']);
  expect(again.code).toBe(EXIT_OK);
  expect(again.stdout).toBe('unchanged: org/demo-q4 already holds these 10 files; nothing committed\n');
  expect(hub.commitsMade.length).toBe(commits);
});

test('--create-pr opens a pull request and leaves the branch alone', async () => {
  hub.createRepo('org/pr-demo', { writeTokens: [TOKEN] });
  const run = await publish(['--hub-repo', 'org/pr-demo', '--create-pr', '--hf-token', TOKEN], {});
  expect(run.code).toBe(EXIT_OK);
  expect(run.stdout).toContain(`pull request: ${hub.url}/org/pr-demo/discussions/1\n`);
  expect(hub.filesAt('org/pr-demo', 'refs/pr/1')).toHaveLength(10);
  expect(hub.filesAt('org/pr-demo')).toBeUndefined();
});

test('an upload that fails mid-way is one line and exit code 2, and nothing is committed', async () => {
  hub.createRepo('org/broken', { writeTokens: [TOKEN] });
  hub.fault({ path: /^\/lfs-upload\//, kind: 'status', status: 500, times: 1 });
  const commits = hub.commitsMade.length;
  const run = await publish(['--hub-repo', 'org/broken']);
  expect(run.code).toBe(EXIT_ERROR);
  expect(lastLine(run.stderr)).toMatch(
    /^quantgate publish: could not upload to org\/broken on the Hub \(.+\); nothing was committed, so the repo is as it was: run again$/,
  );
  expect(hub.commitsMade.length).toBe(commits);
  expect(hub.filesAt('org/broken')).toBeUndefined();
});

test.each([
  ['no token', {}, 401],
  ['a read-only token', { HF_TOKEN: 'hf_read_only' }, 403],
])('%s: the error names the write access the token lacks', async (_case, env, status) => {
  hub.createRepo('org/locked', { writeTokens: [TOKEN] });
  const run = await publish(['--hub-repo', 'org/locked'], env);
  expect(run.code).toBe(EXIT_ERROR);
  expect(lastLine(run.stderr)).toBe(
    `quantgate publish: the Hub refused to let this token write to org/locked (HTTP ${status}); pass --hf-token (input hf-token) with a token that has write access to org`,
  );
});

test.each([
  [['--hub-repo', 'demo-q4', '--dry-run'], '--hub-repo "demo-q4" names no owner; give it as <org or user>/<name>'],
  [['--dry-run'], '--hub-repo is required; see --help'],
])('bad arguments %j are one line and exit code 2', async (args, message) => {
  const run = await publish(args);
  expect(run.code).toBe(EXIT_ERROR);
  expect(run.stderr).toBe(`quantgate publish: ${message}\n`);
});

test('a folder without a quantized output is refused', async () => {
  const empty = await makeTempDir();
  const run = await runCli(['publish', '--hub-repo', 'org/x', '--dry-run', empty]);
  expect(run.code).toBe(EXIT_ERROR);
  expect(run.stderr).toBe(
    `quantgate publish: ${empty} holds no quantized output (no .manifest.json); quantize into it first, or give the folder that holds one\n`,
  );
});
