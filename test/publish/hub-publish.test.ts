// Publishing to the Hub through @huggingface/hub's commit API, against the tests' fake Hub: the
// files land in one commit (shards through the LFS batch API), a re-publish changes nothing, a
// pull request goes to refs/pr/N, a failed upload commits nothing, and a token without write
// access is named. A dry run writes the same files locally and contacts nobody.

import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isQuantgateError } from '../../src/common/errors.js';
import { demoPaths } from '../../src/pipeline/demo.js';
import { quantizeModel } from '../../src/pipeline/quantize.js';
import { publishToHub } from '../../src/publish/hub-publish.js';
import { writeEvalResults } from '../../src/report/results-files.js';
import { FakeHub } from '../servers/fake-hub.js';
import { sampleComparison } from '../report/comparison.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

const TOKEN = 'hf_write';
let hub: FakeHub;
let outDir: string;

beforeAll(async () => {
  hub = await FakeHub.start();
  hub.allowRepoCreation('org', TOKEN);
  outDir = await makeTempDir();
  await quantizeModel({ model: demoPaths().model, outDir, maxShardBytes: 256 * 1024, threads: 1 });
  await writeEvalResults(outDir, sampleComparison());
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await removeTempDirs();
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

test('a dry run writes the exact files a publish would upload, card included, and contacts nobody', async () => {
  const requests = hub.requests.length;
  const result = await publishToHub({ outDir, repo: 'org/demo-q4', dryRun: true, hubUrl: hub.url });
  expect(hub.requests.length).toBe(requests);
  expect(result.files).toContain('README.md');
  expect(result.files).toContain('eval_results.json');
  expect(result.files.filter((path) => /-shards\/shard-a[a-z]$/.test(path)).length).toBeGreaterThan(1);
  const written = await readdir(result.dryRunDir!, { recursive: true });
  for (const path of result.files) expect(written).toContain(path.split('/').join('/'));
  expect(await readFile(join(result.dryRunDir!, 'README.md'), 'utf8')).toMatch(/^---\n[\s\S]*model-index:/);
});

test('a publish creates the repo and commits every file once; a re-publish of the same files commits nothing', async () => {
  const first = await publishToHub({ outDir, repo: 'org/demo-q4', hubUrl: hub.url, token: TOKEN });
  expect(first.commit?.oid).toMatch(/^[0-9a-f]{40}$/);
  const onHub = new Map(hub.filesAt('org/demo-q4')!.map((file) => [file.path, file.sha256]));
  expect([...onHub.keys()].sort()).toEqual([...first.files].sort());
  for (const path of first.files.filter((each) => each !== 'README.md'))
    expect(onHub.get(path)).toBe(await sha256(join(outDir, ...path.split('/'))));
  // The shards went through the LFS batch API and the CDN, not inside the commit.
  expect(hub.requests.filter((request) => request.server === 'cdn' && request.method === 'PUT').length).toBeGreaterThan(
    1,
  );

  const commits = hub.commitsMade.length;
  const again = await publishToHub({ outDir, repo: 'org/demo-q4', hubUrl: hub.url, token: TOKEN });
  expect(again).toMatchObject({ unchanged: true });
  expect(hub.commitsMade.length).toBe(commits);
});

test('--create-pr commits to a pull request and leaves the branch as it was', async () => {
  hub.createRepo('org/pr-target', { writeTokens: [TOKEN] });
  const result = await publishToHub({ outDir, repo: 'org/pr-target', hubUrl: hub.url, token: TOKEN, createPr: true });
  expect(result.pullRequestUrl).toBe(`${hub.url}/org/pr-target/discussions/1`);
  expect(hub.filesAt('org/pr-target', 'refs/pr/1')!.length).toBe(result.files.length);
  expect(hub.filesAt('org/pr-target', 'main')).toBeUndefined();
});

test('an upload that fails mid-way commits nothing', async () => {
  hub.createRepo('org/fails', { writeTokens: [TOKEN] });
  hub.fault({ path: /^\/lfs-upload\//, kind: 'status', status: 500, times: 1 });
  const commits = hub.commitsMade.length;
  const error = await publishToHub({ outDir, repo: 'org/fails', hubUrl: hub.url, token: TOKEN }).catch(
    (caught: unknown) => caught,
  );
  expect(isQuantgateError(error)).toBe(true);
  expect((error as Error).message).toMatch(
    /^could not upload to org\/fails on the Hub \(.+\); nothing was committed, so the repo is as it was: run again$/,
  );
  expect(hub.commitsMade.length).toBe(commits);
  expect(hub.filesAt('org/fails')).toBeUndefined();
});

test.each([
  ['no token', undefined, 401],
  ['a read-only token', 'hf_read', 403],
])('%s: the error names the missing write access', async (_case, token, status) => {
  hub.createRepo('org/locked', { writeTokens: [TOKEN] });
  const error = await publishToHub({ outDir, repo: 'org/locked', hubUrl: hub.url, ...(token && { token }) }).catch(
    (caught: unknown) => caught,
  );
  expect((error as Error).message).toBe(
    `the Hub refused to let this token write to org/locked (HTTP ${status}); pass --hf-token (input hf-token) with a token that has write access to org`,
  );
});
