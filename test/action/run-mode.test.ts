// The bundled action in mode run, from a checkout without node_modules, against local fakes of the
// Actions cache, results (artifact) service, GitHub API and Hugging Face Hub.

import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FakeActionsCache } from '../servers/fake-actions-cache.js';
import { FakeArtifactService } from '../servers/fake-artifact-service.js';
import { FakeGitHubApi } from '../servers/fake-github-api.js';
import { FakeHub } from '../servers/fake-hub.js';
import { unreachableUrl } from '../servers/local-server.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { zipEntryNames } from '../helpers/zip.js';
import { annotations, bundleIntoCheckout, runBundledAction } from './bundled-action.js';
import { makeEvaluationFixture, UTTERANCE_COUNT, type EvaluationFixture } from './evaluation-fixture.js';

let checkout: string;
let workspace: string;
let fixture: EvaluationFixture;
let artifacts: FakeArtifactService;
let github: FakeGitHubApi;

beforeAll(async () => {
  checkout = await bundleIntoCheckout();
  workspace = await makeTempDir('quantgate-workspace-');
  fixture = await makeEvaluationFixture(workspace);
  artifacts = await FakeArtifactService.start();
  github = await FakeGitHubApi.start({
    tokens: { 'writer-token': 'write' },
    artifactDownloadUrl: (id) => artifacts.downloadUrl(id),
  });
});

afterAll(async () => {
  await Promise.all([artifacts.close(), github.close()]);
  await removeTempDirs();
});

/** Inputs of an evaluation of the fixture; `dropEvery` degrades the candidate. */
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
    ...inputs,
  };
}

function runnerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    GITHUB_REPOSITORY: 'octo/models',
    GITHUB_RUN_ID: '77',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: github.url,
    ...extra,
  };
}

describe('mode run', () => {
  test('a candidate within the threshold passes: outputs, job summary, notice, exit 0', async () => {
    const outDir = join(workspace, 'out-pass');
    const run = await runBundledAction(checkout, workspace, evaluation(6, { 'out-dir': outDir }), runnerEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Utterances 0 and 6 lose one word each.
    const delta = (100 * 2) / fixture.words;
    expect(Number(run.outputs['wer-reference'])).toBe(0);
    expect(Number(run.outputs['wer-candidate'])).toBeCloseTo(delta, 4);
    expect(Number(run.outputs['wer-delta'])).toBeCloseTo(delta, 4);
    expect(JSON.parse(run.outputs['delta-interval']!)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(run.outputs.passed).toBe('true');
    expect(run.outputs['results-path']).toBe(join(outDir, 'eval_results.json'));
    const results = JSON.parse(await readFile(run.outputs['results-path']!, 'utf8'));
    expect(results.utteranceCount).toBe(UTTERANCE_COUNT);
    const shards = JSON.parse(run.outputs['shard-paths']!) as string[];
    expect(shards.length).toBeGreaterThan(1);
    expect(run.outputs['gguf-path']).toBe(join(outDir, 'model-q4-shards'));
    expect(run.outputs['manifest-path']).toBe(join(outDir, 'model-q4.manifest.json'));

    expect(run.summary).toContain('### quantgate WER gate: ✅ PASS');
    expect(run.summary).toMatch(/\| 0\.00% .*\| 1\.\d\d% .*\| \+1\.\d\d \|/);
    expect(run.summary).toContain('Data set:');
    expect(run.summary).toContain(
      '<details><summary>Utterances whose error count changed most (2 of 2 changed, of 12 scored)</summary>',
    );
    expect(run.summary).toMatch(/\| engine \| command on cpu \|/);
    expect(run.summary).toMatch(/\| quantization \| Q4_0: .*<br>size .* → .* \(\d+\.\d\d× smaller\) \|/);
    expect(run.summary).toMatch(/\| this job \| .*\| .*\|/);
    expect(annotations(run, 'notice')).toEqual([
      expect.stringMatching(
        /^quantgate WER gate PASS: reference WER 0\.00%, candidate 1\.\d\d%; ΔWER \+1\.\d\d points is within the 2\.00-point threshold$/,
      ),
    ]);
    for (const stage of ['model', 'quantize', 'dataset', 'reference', 'candidate', 'score'])
      expect(run.stdout).toContain(`::group::${stage}\n`);
    expect(annotations(run, 'error')).toEqual([]);
  });

  test('with model-id empty, the bundle takes the embedded demo model and test set from the checkout beside dist/', async () => {
    const demo = join(checkout, 'assets', 'demo');
    await cp(fixture.modelDir, join(demo, 'quantgate-demo'), { recursive: true });
    await cp(dirname(fixture.manifest), join(demo, 'testset'), { recursive: true });
    try {
      const {
        'model-path': _model,
        dataset: _dataset,
        ...inputs
      } = evaluation(0, { 'out-dir': join(workspace, 'out-demo') });
      const run = await runBundledAction(checkout, workspace, { ...inputs, 'model-id': '' }, runnerEnv());
      expect(run.code).toBe(0);
      expect(run.summary).toContain(`| model | \`${join(demo, 'quantgate-demo')}\` |`);
      expect(run.summary).toContain(
        `Data set: ${join(demo, 'testset', 'manifest.jsonl')} · ${UTTERANCE_COUNT} utterances`,
      );
    } finally {
      await rm(demo, { recursive: true });
    }
  });

  test('a degraded candidate fails the step with exit code 1 and one error annotation', async () => {
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(1, { 'out-dir': join(workspace, 'out-fail') }),
      runnerEnv(),
    );
    expect(run.code).toBe(1);
    expect(run.outputs.passed).toBe('false');
    expect(annotations(run, 'error')).toEqual([
      expect.stringMatching(
        /^quantgate WER gate FAIL: reference WER 0\.00%, candidate \d+\.\d\d%; ΔWER \+\d+\.\d\d points exceeds the 2\.00-point threshold$/,
      ),
    ]);
    expect(run.summary).toContain('### quantgate WER gate: ❌ FAIL');
  });

  test('with fail-on-degradation false the failed gate only warns', async () => {
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(1, { 'out-dir': join(workspace, 'out-warn'), 'fail-on-degradation': 'false' }),
      runnerEnv(),
    );
    expect(run.code).toBe(0);
    expect(run.outputs.passed).toBe('false');
    expect(annotations(run, 'warning')).toEqual([
      expect.stringMatching(/^quantgate WER gate FAIL: .*\(not failing the step: fail-on-degradation is false\)$/),
    ]);
    expect(annotations(run, 'error')).toEqual([]);
  });

  test.each([
    [{ threshold: 'two' }, 'input "threshold" must be a number ≥ 0, got "two"'],
    [{ 'retention-days': '91' }, 'input "retention-days" must be an integer ≥ 1 and ≤ 90, got "91"'],
    [{ 'fail-on-degradation': 'yes' }, 'input "fail-on-degradation" must be true or false, got "yes"'],
    [
      { shard: '1/2', 'release-tag': 'v1' },
      'input "release-tag" publishes a whole run\'s model, not a shard\'s; set it on an unsharded run',
    ],
    [{ 'working-directory': 'no/such/folder' }, 'input "working-directory" no/such/folder is not a folder'],
  ])('a bad input %j stops the action before any work, with exit code 2 and one line', async (bad, message) => {
    const outDir = join(workspace, 'out-bad');
    const run = await runBundledAction(checkout, workspace, evaluation(0, { 'out-dir': outDir, ...bad }), runnerEnv());
    expect(run.code).toBe(2);
    expect(annotations(run, 'error')).toEqual([expect.stringContaining(message)]);
    expect(run.stdout).not.toContain('::group::');
    await expect(readFile(join(outDir, 'eval_results.json'))).rejects.toThrow();
  });

  test('uploads the quantized files, manifest and results as one artifact, with its id and URL as outputs', async () => {
    const outDir = join(workspace, 'out-artifact');
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(0, {
        'out-dir': outDir,
        'upload-artifacts': 'true',
        'artifact-name': 'tiny-q4',
        'retention-days': '3',
      }),
      runnerEnv(artifacts.env),
    );
    expect(run.code).toBe(0);
    const uploaded = artifacts.artifacts.find((artifact) => artifact.name === 'tiny-q4')!;
    const retentionDays = (uploaded.expiresAt!.getTime() - uploaded.createdAt.getTime()) / 86_400_000;
    expect(retentionDays).toBeCloseTo(3, 1);
    expect(run.outputs['artifact-id']).toBe(String(uploaded.id));
    expect(run.outputs['artifact-url']).toBe(`https://github.com/octo/models/actions/runs/77/artifacts/${uploaded.id}`);
    expect(run.summary).toContain(
      `| artifact | https://github.com/octo/models/actions/runs/77/artifacts/${uploaded.id} |`,
    );
    const names = zipEntryNames(artifacts.zipOf(uploaded.id)!);
    const shards = (JSON.parse(run.outputs['shard-paths']!) as string[]).map((path) => path.slice(outDir.length + 1));
    expect(names.sort()).toEqual([...shards, 'model-q4.manifest.json', 'eval_results.json', 'eval_results.txt'].sort());
  });

  test('an unreachable results service is a clear error, and the summary is still written', async () => {
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(0, { 'out-dir': join(workspace, 'out-down'), 'upload-artifacts': 'true' }),
      runnerEnv({ ACTIONS_RUNTIME_TOKEN: artifacts.runtimeToken, ACTIONS_RESULTS_URL: await unreachableUrl() }),
    );
    expect(run.code).toBe(2);
    expect(annotations(run, 'error')).toEqual([
      expect.stringMatching(
        /^uploading artifact quantgate-results failed: the Actions results service answered ".*"; re-run the job/,
      ),
    ]);
    expect(run.summary).toContain('### quantgate WER gate: ✅ PASS');
  });

  test('cancelling the step stops the evaluation within 2 s with one line naming the stage, and nothing is published', async () => {
    const outDir = join(workspace, 'out-cancel');
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(0, { 'out-dir': outDir, 'upload-artifacts': 'true' }),
      runnerEnv({ ...artifacts.env, FAKE_STT_DELAY_MS: '60000' }),
      (log) => log.includes('::group::reference'),
    );
    expect(annotations(run, 'error')).toEqual([
      'quantgate: stopped by SIGINT during the reference stage; no partial file was left behind',
    ]);
    expect(run.code).toBe(130);
    expect(run.stoppedAfterMs).toBeLessThan(2000);
    expect(run.stdout).not.toContain('::group::publish');
    await expect(readFile(join(outDir, 'eval_results.json'))).rejects.toThrow();
  });

  test('SIGTERM during a stalled artifact upload ends the step within 2 s with exit code 143', async () => {
    const outDir = join(workspace, 'out-cancel-upload');
    artifacts.blobs.holdUploads = true;
    try {
      const run = await runBundledAction(
        checkout,
        workspace,
        evaluation(0, { 'out-dir': outDir, 'upload-artifacts': 'true', 'artifact-name': 'stalled' }),
        runnerEnv(artifacts.env),
        (log) => log.includes('::group::publish'),
        'SIGTERM',
      );
      expect(annotations(run, 'error')).toEqual([
        'quantgate: stopped by SIGTERM during the publish stage; no partial file was left behind',
      ]);
      expect(run.code).toBe(143);
      expect(run.stoppedAfterMs).toBeLessThan(2000);
      expect(artifacts.artifacts.filter((artifact) => artifact.name === 'stalled' && artifact.finalized)).toEqual([]);
      expect((await readdir(outDir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
    } finally {
      artifacts.blobs.holdUploads = false;
    }
  });

  test('comments on the pull request, then updates the same comment', async () => {
    const event = join(workspace, 'event.json');
    await writeFile(
      event,
      JSON.stringify({
        pull_request: {
          number: 5,
          head: { repo: { full_name: 'octo/models' } },
          base: { repo: { full_name: 'octo/models' } },
        },
      }),
    );
    const env = runnerEnv({
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_WORKFLOW: 'gate',
      GITHUB_JOB: 'wer',
    });
    const inputs = evaluation(6, {
      'out-dir': join(workspace, 'out-comment'),
      'comment-on-pr': 'true',
      'github-token': 'writer-token',
    });
    const first = await runBundledAction(checkout, workspace, inputs, env);
    expect(first.code).toBe(0);
    expect(github.comments).toEqual([
      expect.objectContaining({
        repo: 'octo/models',
        issue: 5,
        body: expect.stringContaining('### quantgate WER gate: ✅ PASS'),
      }),
    ]);
    const second = await runBundledAction(checkout, workspace, { ...inputs, threshold: '1.9' }, env);
    expect(second.code).toBe(0);
    expect(github.comments).toHaveLength(1);
    expect(github.comments[0]!.body).toContain('1.90 (point)');
    expect(second.stdout.replaceAll('::add-mask::writer-token', '')).not.toContain('writer-token');
  });

  test('a fork pull request gets no comment, only a notice', async () => {
    const event = join(workspace, 'fork-event.json');
    await writeFile(
      event,
      JSON.stringify({
        pull_request: {
          number: 6,
          head: { repo: { full_name: 'fork/models' } },
          base: { repo: { full_name: 'octo/models' } },
        },
      }),
    );
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(0, {
        'out-dir': join(workspace, 'out-fork'),
        'comment-on-pr': 'true',
        'github-token': 'writer-token',
      }),
      runnerEnv({ GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event }),
    );
    expect(run.code).toBe(0);
    expect(annotations(run, 'notice')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('PR comment skipped: pull request #6 comes from the fork fork/models'),
      ]),
    );
    expect(github.comments.filter((comment) => comment.issue === 6)).toEqual([]);
  });
});

describe('mode run with the Hub and the Actions cache', () => {
  let hub: FakeHub;
  let cache: FakeActionsCache;

  beforeAll(async () => {
    hub = await FakeHub.start();
    hub.createRepo('octo/tiny-stt');
    await hub.commit('octo/tiny-stt', [
      { path: 'model.safetensors', content: { file: join(fixture.modelDir, 'model.safetensors') } },
      { path: 'config.json', content: await readFile(join(fixture.modelDir, 'config.json')) },
    ]);
    cache = await FakeActionsCache.start();
  });

  afterAll(async () => {
    await Promise.all([hub.close(), cache.close()]);
  });

  const hubInputs = (outDir: string) => ({
    ...evaluation(0, { 'out-dir': outDir, cache: 'true' }),
    'model-path': '',
    'model-id': 'octo/tiny-stt',
    'hub-url': hub.url,
    'hf-token': 'hf_secret_token_123',
  });

  test('the first run saves the download, the quantized model and both variants’ results to the Actions cache, the next one, on a fresh runner, restores them all', async () => {
    // Entries are found for the same paths, as on hosted runners (~/.cache/huggingface/hub,
    // ~/.cache/quantgate/results, the same out-dir).
    const runnerCache = await makeTempDir();
    const hfCache = join(runnerCache, 'hub');
    const outDir = join(workspace, 'out-hub');
    const env = runnerEnv({ ...cache.env, HF_HUB_CACHE: hfCache, XDG_CACHE_HOME: runnerCache });
    const first = await runBundledAction(checkout, workspace, hubInputs(outDir), env);
    expect(first.code).toBe(0);
    expect(cache.savedKeys).toEqual([
      expect.stringMatching(/^quantgate-hf-model-octo--tiny-stt-[0-9a-f]{40}-[0-9a-f]{16}$/),
      expect.stringMatching(/^quantgate-gguf-octo--tiny-stt-[0-9a-f]{40}-\d+\.\d+\.\d+-[0-9a-f]{16}$/),
      expect.stringMatching(/^quantgate-results-[0-9a-f]{64}$/),
      expect.stringMatching(/^quantgate-results-[0-9a-f]{64}$/),
      expect.stringMatching(/^quantgate-results-[0-9a-f]{64}$/),
    ]);
    // The reference's decoded audio is an entry of its own, saved after the reference's results.
    const [hubKey, ggufKey, referenceKey, audioKey, candidateKey] = cache.savedKeys as [
      string,
      string,
      string,
      string,
      string,
    ];
    expect(first.stdout).toContain(`no Actions cache entry ${hubKey}; downloading from the Hub`);
    expect(first.stdout).toContain(`no Actions cache entry ${ggufKey}; quantizing`);
    expect(first.stdout).toContain('::add-mask::hf_secret_token_123');
    expect(first.stdout.replaceAll('::add-mask::hf_secret_token_123', '')).not.toContain('hf_secret_token_123');

    const downloads = hub.requests.filter(
      (request) => request.server === 'cdn' || request.path.includes('/resolve/'),
    ).length;
    await Promise.all([rm(runnerCache, { recursive: true }), rm(outDir, { recursive: true })]);
    const second = await runBundledAction(checkout, workspace, hubInputs(outDir), env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`from the Actions cache entry ${hubKey}`);
    expect(second.stdout).toContain(`quantized output restored from cache entry ${ggufKey} and verified`);
    expect(second.stdout).toContain(`from the Actions cache entry ${referenceKey}`);
    expect(second.stdout).toContain(`from the Actions cache entry ${candidateKey}`);
    // Both variants are reused, so nothing asks for the audio.
    expect(second.stdout).not.toContain(audioKey);
    expect(second.stdout).toContain(`reference: reused (key ${referenceKey.slice('quantgate-results-'.length, 30)}…)`);
    expect(second.stdout).toContain(`candidate: reused (key ${candidateKey.slice('quantgate-results-'.length, 30)}…)`);
    expect(second.stdout).not.toContain('transcribing');
    expect(
      hub.requests.filter((request) => request.server === 'cdn' || request.path.includes('/resolve/')).length,
    ).toBe(downloads);
    expect(second.summary).toMatch(/\| model \| `octo\/tiny-stt` @ `[0-9a-f]{40}` \|/);
    expect(second.outputs.passed).toBe('true');
  });

  test('an unreachable cache service is a warning, and the run goes on with the Hub', async () => {
    const run = await runBundledAction(
      checkout,
      workspace,
      hubInputs(join(workspace, 'out-hub-down')),
      runnerEnv({ ...cache.env, ACTIONS_RESULTS_URL: await unreachableUrl() }),
    );
    expect(run.code).toBe(0);
    expect(annotations(run, 'warning')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Failed to restore: .*ECONNREFUSED/),
        expect.stringMatching(/^the Actions cache did not save quantgate-hf-model-octo--tiny-stt-/),
      ]),
    );
    expect(annotations(run, 'error')).toEqual([]);
    expect(run.outputs.passed).toBe('true');
  });
});
