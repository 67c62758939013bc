// The bundled action's matrix and publishing round trips: shard jobs upload partial results that a
// merge job combines into exactly what one unsharded job measures, and a model published to a
// release or an artifact comes back, verified and reassembled, through mode download.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeArtifactService } from '../servers/fake-artifact-service.js';
import { FakeGitHubApi } from '../servers/fake-github-api.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
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
});

beforeEach(async () => {
  artifacts = await FakeArtifactService.start();
  github = await FakeGitHubApi.start({
    tokens: { 'writer-token': 'write' },
    artifactDownloadUrl: (id) => artifacts.downloadUrl(id),
  });
});

afterEach(async () => {
  await Promise.all([artifacts.close(), github.close()]);
});

afterAll(removeTempDirs);

function evaluation(outDir: string, inputs: Record<string, string> = {}): Record<string, string> {
  return {
    'model-path': fixture.modelDir,
    dataset: fixture.manifest,
    engine: 'command',
    ...fixture.commands(6),
    'max-shard-size': '0.02',
    cache: 'false',
    resamples: '2000',
    'artifact-name': 'tiny',
    'github-token': 'writer-token',
    'out-dir': outDir,
    ...inputs,
  };
}

function runnerEnv(): Record<string, string> {
  return {
    ...artifacts.env,
    GITHUB_REPOSITORY: 'octo/models',
    GITHUB_RUN_ID: '91',
    GITHUB_SHA: 'abc123',
    GITHUB_API_URL: github.url,
  };
}

const FIGURES = ['wer-reference', 'wer-candidate', 'wer-delta', 'delta-interval', 'passed'];

describe('mode merge', () => {
  test('the merged shards give the figures of one unsharded job, and the gate over all utterances', async () => {
    const whole = await runBundledAction(
      checkout,
      workspace,
      evaluation(join(workspace, 'whole'), { 'upload-artifacts': 'false' }),
      runnerEnv(),
    );
    expect(whole.code).toBe(0);

    for (const shard of ['2/3', '1/3', '3/3']) {
      const run = await runBundledAction(
        checkout,
        workspace,
        evaluation(join(workspace, `shard-${shard[0]}`), { shard }),
        runnerEnv(),
      );
      expect(run.code).toBe(0);
      expect(run.outputs.passed).toBeUndefined();
      expect(run.summary).toContain(`Partial results of shard ${shard}`);
      expect(annotations(run, 'notice')).toEqual([]);
    }
    expect(artifacts.artifacts.map((artifact) => artifact.name).sort()).toEqual([
      'tiny-shard-1-of-3',
      'tiny-shard-2-of-3',
      'tiny-shard-3-of-3',
    ]);

    const merged = await runBundledAction(
      checkout,
      workspace,
      { mode: 'merge', 'artifact-name': 'tiny', 'out-dir': join(workspace, 'merged'), resamples: '2000' },
      runnerEnv(),
    );
    expect(merged.code).toBe(0);
    for (const name of FIGURES) expect([name, merged.outputs[name]]).toEqual([name, whole.outputs[name]]);
    const results = JSON.parse(await readFile(merged.outputs['results-path']!, 'utf8'));
    expect(results.utteranceCount).toBe(UTTERANCE_COUNT);
    expect(results.run.shards.map((shard: { shard: string }) => shard.shard)).toEqual(['1/3', '2/3', '3/3']);
    expect(merged.summary).toMatch(
      /\| shard 1\/3 \(cpu\) \| .* \|\n\| shard 2\/3 \(cpu\) \| .* \|\n\| shard 3\/3 \(cpu\) \| .* \|/,
    );
    expect(annotations(merged, 'notice')).toEqual([expect.stringMatching(/^quantgate WER gate PASS: /)]);
    expect(artifacts.artifacts.map((artifact) => artifact.name)).toContain('tiny');

    const strict = await runBundledAction(
      checkout,
      workspace,
      {
        mode: 'merge',
        'artifact-name': 'tiny',
        'out-dir': join(workspace, 'merged-strict'),
        threshold: '0.5',
        'upload-artifacts': 'false',
      },
      runnerEnv(),
    );
    expect(strict.code).toBe(1);
    expect(annotations(strict, 'error')).toEqual([
      expect.stringMatching(/^quantgate WER gate FAIL: .*exceeds the 0\.50-point threshold$/),
    ]);
  });

  test('a missing shard stops the merge with the shard named', async () => {
    for (const shard of ['1/3', '3/3']) {
      expect(
        (
          await runBundledAction(
            checkout,
            workspace,
            evaluation(join(workspace, `gap-${shard[0]}`), { shard }),
            runnerEnv(),
          )
        ).code,
      ).toBe(0);
    }
    const merged = await runBundledAction(
      checkout,
      workspace,
      { mode: 'merge', 'artifact-name': 'tiny', 'out-dir': join(workspace, 'gap-merged') },
      runnerEnv(),
    );
    expect(merged.code).toBe(2);
    expect(annotations(merged, 'error')).toEqual([
      expect.stringMatching(/^shard 2\/3 is missing \(found 1\/3, 3\/3\); every shard job must finish/),
    ]);
  });
});

describe('publishing and mode download', () => {
  test('a passing run publishes to the release of its tag; mode download fetches, verifies and rebuilds the .gguf', async () => {
    const outDir = join(workspace, 'released');
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(outDir, { 'release-tag': 'v1.0.0', 'upload-artifacts': 'false' }),
      runnerEnv(),
    );
    expect(run.code).toBe(0);
    const release = github.releases.find((candidate) => candidate.tag === 'v1.0.0')!;
    expect(release.targetCommitish).toBe('abc123');
    expect(run.outputs['release-url']).toEqual(expect.stringContaining('v1.0.0'));
    const shards = JSON.parse(run.outputs['shard-paths']!) as string[];
    expect(release.assets.map((asset) => asset.name).sort()).toEqual(
      [...shards.map((path) => path.split('/').pop()!), 'model-q4.manifest.json'].sort(),
    );

    const downloaded = await runBundledAction(
      checkout,
      workspace,
      {
        mode: 'download',
        'release-tag': 'v1.0.0',
        'github-token': 'writer-token',
        'out-dir': join(workspace, 'from-release'),
      },
      runnerEnv(),
    );
    expect(downloaded.code).toBe(0);
    const gguf = await readFile(downloaded.outputs['gguf-path']!);
    expect(gguf).toEqual(Buffer.concat(await Promise.all(shards.map((path) => readFile(path)))));
    expect(JSON.parse(downloaded.outputs['shard-paths']!)).toEqual([downloaded.outputs['gguf-path']]);
  });

  test('a failing run publishes nothing to the release', async () => {
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(join(workspace, 'not-released'), {
        'release-tag': 'v2',
        'upload-artifacts': 'false',
        threshold: '0.1',
      }),
      runnerEnv(),
    );
    expect(run.code).toBe(1);
    expect(github.releases).toEqual([]);
    expect(annotations(run, 'warning')).toEqual([
      'the quantized model was not published to release v2: the WER gate failed',
    ]);
  });

  test('mode download fetches the model from the artifact of another run', async () => {
    const run = await runBundledAction(
      checkout,
      workspace,
      evaluation(join(workspace, 'artifact-source')),
      runnerEnv(),
    );
    expect(run.code).toBe(0);
    const downloaded = await runBundledAction(
      checkout,
      workspace,
      {
        mode: 'download',
        'run-id': '91',
        'artifact-id': run.outputs['artifact-id']!,
        'github-token': 'writer-token',
        'out-dir': join(workspace, 'from-artifact'),
      },
      runnerEnv(),
    );
    expect(downloaded.code).toBe(0);
    const shards = JSON.parse(run.outputs['shard-paths']!) as string[];
    expect(await readFile(downloaded.outputs['gguf-path']!)).toEqual(
      Buffer.concat(await Promise.all(shards.map((path) => readFile(path)))),
    );
  });

  test('mode download names what is missing', async () => {
    const run = await runBundledAction(
      checkout,
      workspace,
      { mode: 'download', 'release-tag': 'v9', 'github-token': 'writer-token' },
      runnerEnv(),
    );
    expect(run.code).toBe(2);
    expect(annotations(run, 'error')).toEqual([
      'octo/models has no release with tag v9; check the tag and the repository, or publish the release first',
    ]);
  });
});
