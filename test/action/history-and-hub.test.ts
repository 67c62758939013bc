// The bundled action's history and Hub publishing, against the fake GitHub API, Actions cache and
// Hub: runs on the default branch record one line each on the data branch (a re-run of the same
// workflow run none), a pull request reads the history, shows its head against the base in the
// summary and the PR comment, and fails on max-regression-vs-base; history: cache keeps the file in
// the Actions cache; hub-repo publishes after a passing gate only.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHistory } from '../../src/publish/history.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { FakeActionsCache } from '../servers/fake-actions-cache.js';
import { FakeGitHubApi } from '../servers/fake-github-api.js';
import { FakeHub } from '../servers/fake-hub.js';
import { annotations, bundleIntoCheckout, runBundledAction } from './bundled-action.js';
import { makeEvaluationFixture, type EvaluationFixture } from './evaluation-fixture.js';

let checkout: string;
let workspace: string;
let fixture: EvaluationFixture;
let github: FakeGitHubApi;
let pushEvent: string;
let prEvent: string;

beforeAll(async () => {
  checkout = await bundleIntoCheckout();
  workspace = await makeTempDir('quantgate-workspace-');
  fixture = await makeEvaluationFixture(workspace);
  github = await FakeGitHubApi.start({ tokens: { 'writer-token': 'write' } });
  pushEvent = join(workspace, 'push.json');
  await writeFile(pushEvent, JSON.stringify({ repository: { default_branch: 'main' } }));
  prEvent = join(workspace, 'pr.json');
  await writeFile(
    prEvent,
    JSON.stringify({
      repository: { default_branch: 'main' },
      pull_request: {
        number: 9,
        head: { repo: { full_name: 'octo/models' } },
        base: { repo: { full_name: 'octo/models' } },
      },
    }),
  );
}, 120_000);

afterAll(async () => {
  await github.close();
  await removeTempDirs();
});

function evaluation(dropEvery: number, inputs: Record<string, string> = {}): Record<string, string> {
  return {
    'model-path': fixture.modelDir,
    dataset: fixture.manifest,
    engine: 'command',
    ...fixture.commands(dropEvery),
    'max-shard-size': '0.02',
    'upload-artifacts': 'false',
    cache: 'false',
    resamples: '1000',
    'github-token': 'writer-token',
    'out-dir': join(workspace, 'out'),
    ...inputs,
  };
}

/** A run of workflow run `runId` at commit `sha`: a push to main, or the pull request. */
function runnerEnv(runId: string, sha: string, on: 'push' | 'pull_request', extra: Record<string, string> = {}) {
  return {
    GITHUB_REPOSITORY: 'octo/models',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: github.url,
    GITHUB_RUN_ID: runId,
    GITHUB_SHA: sha.repeat(40),
    GITHUB_EVENT_NAME: on,
    GITHUB_EVENT_PATH: on === 'push' ? pushEvent : prEvent,
    GITHUB_REF: on === 'push' ? 'refs/heads/main' : 'refs/pull/9/merge',
    GITHUB_REF_NAME: on === 'push' ? 'main' : '9/merge',
    GITHUB_WORKFLOW: 'gate',
    GITHUB_JOB: 'wer',
    ...extra,
  };
}

function dataBranchRecords(branch = 'quantgate-data') {
  const head = github.branchHead('octo/models', branch);
  if (!head) return [];
  expect(head.files).toHaveLength(1);
  return parseHistory(github.fileAt('octo/models', branch, head.files[0]!)!, head.files[0]!);
}

describe('history: branch', () => {
  test('each run on the default branch records one line; the second is compared with the first; a re-run records nothing', async () => {
    const first = await runBundledAction(checkout, workspace, evaluation(0), runnerEnv('501', 'a', 'push'));
    expect(first.code).toBe(0);
    expect(dataBranchRecords().map((record) => [record.runId, record.commit.slice(0, 7)])).toEqual([
      ['501', 'aaaaaaa'],
    ]);
    expect(first.summary).toContain('#### Against the base branch\n\nThe base branch has no recorded run yet.');

    const second = await runBundledAction(checkout, workspace, evaluation(0), runnerEnv('502', 'b', 'push'));
    expect(second.code).toBe(0);
    const records = dataBranchRecords();
    expect(records.map((record) => record.runId)).toEqual(['501', '502']);
    expect(records[1]).toMatchObject({
      branch: 'main',
      runUrl: 'https://github.com/octo/models/actions/runs/502',
      quantization: { type: 'q4_0', shardFormat: 'bytes' },
      device: 'cpu',
      wer: { reference: 0, candidate: 0, delta: 0 },
    });
    expect(second.summary).toContain('|  | base (aaaaaaa) | head (bbbbbbb) | Δ |');
    expect(second.summary).toContain('| candidate WER | 0.00% | 0.00% | +0.00 points |');
    expect(second.summary).toContain('  x-axis ["aaaaaaa", "bbbbbbb"]');

    const commits = github.gitCommits.length;
    const rerun = await runBundledAction(checkout, workspace, evaluation(0), runnerEnv('502', 'b', 'push'));
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('this workflow run is already in');
    expect(github.gitCommits.length).toBe(commits);
  }, 180_000);

  test('a pull request reads the history, shows its head against the base, never writes, and fails on max-regression-vs-base', async () => {
    const commits = github.gitCommits.length;
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(6, { 'max-regression-vs-base': '0.5', 'comment-on-pr': 'true' }),
      runnerEnv('503', 'c', 'pull_request'),
    );
    expect(github.gitCommits.length).toBe(commits);
    expect(run.code).toBe(1);
    expect(annotations(run, 'error')).toEqual([
      expect.stringMatching(
        /^quantgate base-branch check FAIL: candidate WER 1\.\d\d% is \+1\.\d\d points against the base branch's 0\.00% \(commit bbbbbbb\), more than max-regression-vs-base 0\.50$/,
      ),
    ]);
    for (const text of [run.summary, github.comments.find((comment) => comment.issue === 9)!.body]) {
      expect(text).toContain('|  | base (bbbbbbb) | head (ccccccc) | Δ |');
      expect(text).toMatch(/\| candidate WER \| 0\.00% \| 1\.\d\d% \| \+1\.\d\d points \|/);
      expect(text).toContain('  x-axis ["aaaaaaa", "bbbbbbb", "ccccccc"]');
    }
  }, 180_000);

  test('history-branch names the data branch; a token that may not write gets a warning, and the run goes on', async () => {
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(0, { 'history-branch': 'locked' }),
      runnerEnv('504', 'd', 'push', { GITHUB_API_URL: github.url }),
    );
    expect(run.code).toBe(0);
    expect(dataBranchRecords('locked')).toHaveLength(1);
    const readOnly = await FakeGitHubApi.start({ tokens: { 'writer-token': 'read' } });
    try {
      const refused = await runBundledAction(
        checkout,
        workspace,
        evaluation(0),
        runnerEnv('505', 'e', 'push', { GITHUB_API_URL: readOnly.url }),
      );
      expect(refused.code).toBe(0);
      expect(annotations(refused, 'warning')).toEqual([
        expect.stringMatching(/^this run could not be recorded in .* \(.*permissions: contents: write.*\)$/),
      ]);
    } finally {
      await readOnly.close();
    }
  }, 180_000);
});

test('history: cache keeps the file in the Actions cache, one entry per recording run', async () => {
  const cache = await FakeActionsCache.start();
  try {
    const inputs = evaluation(0, { history: 'cache' });
    const first = await runBundledAction(checkout, workspace, inputs, runnerEnv('601', 'f', 'push', cache.env));
    expect(first.code).toBe(0);
    const second = await runBundledAction(checkout, workspace, inputs, runnerEnv('602', '9', 'push', cache.env));
    expect(second.code).toBe(0);
    // The same cache also carries the variants' results (reuse-results); only history entries count here.
    const historyKeys = () => cache.savedKeys.filter((key) => key.startsWith('quantgate-history-'));
    expect(historyKeys()).toEqual([
      expect.stringMatching(/^quantgate-history-.*-601$/),
      expect.stringMatching(/^quantgate-history-.*-602$/),
    ]);
    expect(second.summary).toContain('|  | base (fffffff) | head (9999999) | Δ |');
    const pr = await runBundledAction(checkout, workspace, inputs, runnerEnv('603', '8', 'pull_request', cache.env));
    expect(pr.summary).toContain('  x-axis ["fffffff", "9999999", "8888888"]');
    expect(historyKeys()).toHaveLength(2);
  } finally {
    await cache.close();
  }
}, 180_000);

describe('hub-repo', () => {
  let hub: FakeHub;

  beforeAll(async () => {
    hub = await FakeHub.start();
    hub.allowRepoCreation('octo', 'hf_writer_token_77');
  });

  afterAll(() => hub.close());

  const hubInputs = (dropEvery: number, inputs: Record<string, string> = {}) =>
    evaluation(dropEvery, {
      history: 'off',
      'hub-repo': 'octo/tiny-q4',
      'hub-url': hub.url,
      'hf-token': 'hf_writer_token_77',
      ...inputs,
    });

  test('a passing run publishes the model with its card in one commit, linked from the summary', async () => {
    const run = await runBundledAction(checkout, workspace, hubInputs(0), runnerEnv('701', 'a', 'push'));
    expect(run.code).toBe(0);
    const commit = hub.commitsMade.at(-1)!;
    expect(commit.repo).toBe('octo/tiny-q4');
    const files = hub.filesAt('octo/tiny-q4')!.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining(['README.md', 'eval_results.json', 'eval_results.txt', 'model-q4.manifest.json']),
    );
    expect(run.summary).toContain(`| Hugging Face Hub | ${hub.url}/octo/tiny-q4/commit/${commit.sha} |`);
    expect(run.stdout.replaceAll('::add-mask::hf_writer_token_77', '')).not.toContain('hf_writer_token_77');
  }, 180_000);

  test('a failing gate publishes nothing, with a warning, unless publish-on-fail', async () => {
    const commits = hub.commitsMade.length;
    const failed = await runBundledAction(checkout, workspace, hubInputs(1), runnerEnv('702', 'b', 'push'));
    expect(failed.code).toBe(1);
    expect(annotations(failed, 'warning')).toContain(
      'the quantized model was not published to the Hub repo octo/tiny-q4: the gate failed (publish-on-fail is false)',
    );
    expect(hub.commitsMade.length).toBe(commits);
    const anyway = await runBundledAction(
      checkout,
      workspace,
      hubInputs(1, { 'publish-on-fail': 'true', 'hub-create-pr': 'true' }),
      runnerEnv('703', 'c', 'push'),
    );
    expect(anyway.code).toBe(1);
    expect(hub.commitsMade.at(-1)).toMatchObject({ repo: 'octo/tiny-q4', pullRequest: 1 });
    expect(anyway.summary).toContain(`| Hugging Face Hub | ${hub.url}/octo/tiny-q4/discussions/1 |`);
  }, 180_000);
});
