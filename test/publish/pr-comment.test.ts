import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGitHubClient } from '../../src/publish/github.js';
import type { PublishLogger } from '../../src/publish/logger.js';
import { commentMarker, publishPullRequestComment, pullRequestOfRun } from '../../src/publish/pr-comment.js';
import { FakeGitHubApi } from '../servers/fake-github-api.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

let github: FakeGitHubApi;
const client = () => createGitHubClient({ apiUrl: github.url, token: 'writer-token' });

beforeAll(async () => {
  github = await FakeGitHubApi.start({ tokens: { 'writer-token': 'write', 'reader-token': 'read' }, maxPerPage: 2 });
});
afterAll(async () => {
  await github.close();
  await removeTempDirs();
});

/** The environment of a workflow run for `event`, with its event file. */
async function runEnv(
  event: string,
  pullRequest?: { number: number; head: string | null; base: string },
): Promise<NodeJS.ProcessEnv> {
  const path = join(await makeTempDir(), 'event.json');
  const payload = pullRequest
    ? {
        pull_request: {
          number: pullRequest.number,
          head: { repo: pullRequest.head === null ? null : { full_name: pullRequest.head } },
          base: { repo: { full_name: pullRequest.base } },
        },
      }
    : { ref: 'refs/heads/main' };
  await writeFile(path, JSON.stringify(payload));
  return { GITHUB_EVENT_NAME: event, GITHUB_EVENT_PATH: path };
}

function collectingLogger(): PublishLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => lines.push(`info: ${message}`),
    notice: (message) => lines.push(`notice: ${message}`),
  };
}

describe('publishPullRequestComment', () => {
  test('posts once, then edits that comment in place on later runs, found across pages', async () => {
    for (let i = 0; i < 5; i++) github.addComment('octo/models', 7, `review remark ${i}`);
    github.addComment(
      'octo/models',
      7,
      `${commentMarker('other-model')}\nanother job's summary`,
      'github-actions[bot]',
    );
    const env = await runEnv('pull_request', { number: 7, head: 'octo/models', base: 'octo/models' });
    const logger = collectingLogger();

    const first = await publishPullRequestComment({
      client: client(),
      env,
      key: 'kyutai/stt-1b-en_fr',
      body: '| WER | 5.0% |',
      logger,
    });
    expect(first).toMatchObject({ outcome: 'created' });
    for (let i = 5; i < 8; i++) github.addComment('octo/models', 7, `review remark ${i}`);
    const second = await publishPullRequestComment({
      client: client(),
      env,
      key: 'kyutai/stt-1b-en_fr',
      body: '| WER | 5.5% |',
      logger,
    });
    expect(second).toEqual({ ...first, outcome: 'updated' });
    const third = await publishPullRequestComment({
      client: client(),
      env,
      key: 'kyutai/stt-1b-en_fr',
      body: '| WER | 5.5% |',
      logger,
    });
    expect(third).toEqual({ ...first, outcome: 'unchanged' });

    const ours = github.comments.filter((comment) => comment.body.includes(commentMarker('kyutai/stt-1b-en_fr')));
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toBe(`${commentMarker('kyutai/stt-1b-en_fr')}\n| WER | 5.5% |`);
    expect(github.comments.find((comment) => comment.body.includes(commentMarker('other-model')))!.body).toContain(
      "another job's summary",
    );
    const url = `https://github.com/octo/models/issues/7#issuecomment-${ours[0]!.id}`;
    expect(first).toEqual({ outcome: 'created', id: ours[0]!.id, url });
    expect(logger.lines).toEqual([
      `info: PR comment created: ${url}`,
      `info: PR comment updated: ${url}`,
      `info: PR comment unchanged: ${url}`,
    ]);
  });

  test('skips a pull request from a fork with a notice, without calling the API', async () => {
    const before = github.requests.length;
    const logger = collectingLogger();
    const env = await runEnv('pull_request', { number: 8, head: 'stranger/models', base: 'octo/models' });
    const result = await publishPullRequestComment({ client: client(), env, key: 'k', body: 'b', logger });
    const reason = 'pull request #8 comes from the fork stranger/models, whose workflow token cannot comment';
    expect(result).toEqual({ outcome: 'skipped', reason });
    expect(logger.lines).toEqual([`notice: PR comment skipped: ${reason}`]);
    expect(github.requests.length).toBe(before);
  });

  test('skips runs that are not for a pull request', async () => {
    const result = await publishPullRequestComment({
      client: client(),
      env: await runEnv('push'),
      key: 'k',
      body: 'b',
    });
    expect(result).toEqual({ outcome: 'skipped', reason: 'this run was not started by a pull request (event push)' });
  });

  test('a read-only token is told the permission to grant', async () => {
    const env = await runEnv('pull_request', { number: 9, head: 'octo/models', base: 'octo/models' });
    await expect(
      publishPullRequestComment({
        client: createGitHubClient({ apiUrl: github.url, token: 'reader-token' }),
        env,
        key: 'k',
        body: 'b',
      }),
    ).rejects.toThrow(
      'commenting on pull request #9 of octo/models failed: the token may not do this (403 Resource not accessible by integration); give the workflow `permissions: pull-requests: write` or use a token with that access',
    );
  });
});

describe('pullRequestOfRun', () => {
  test("pull_request_target runs with the base repository's token, so forks get comments", async () => {
    expect(
      await pullRequestOfRun(
        await runEnv('pull_request_target', { number: 3, head: 'stranger/models', base: 'octo/models' }),
      ),
    ).toEqual({ owner: 'octo', repo: 'models', number: 3 });
  });

  test('a fork that was deleted counts as a fork', async () => {
    expect(
      await pullRequestOfRun(await runEnv('pull_request', { number: 4, head: null, base: 'octo/models' })),
    ).toEqual({
      skip: 'pull request #4 comes from the fork (deleted), whose workflow token cannot comment',
    });
  });

  test('a missing or foreign event file is a clear error', async () => {
    await expect(pullRequestOfRun({ GITHUB_EVENT_NAME: 'pull_request' })).rejects.toThrow(
      'GITHUB_EVENT_PATH is unset, so the pull request is unknown',
    );
    const env = await runEnv('pull_request');
    await expect(pullRequestOfRun(env)).rejects.toThrow(
      `the pull_request event in ${env.GITHUB_EVENT_PATH} has no pull_request number and base repository`,
    );
  });
});

describe('commentMarker', () => {
  test('is an HTML comment that no key can end early, distinct per key', () => {
    expect(commentMarker('kyutai/stt-1b-en_fr')).toBe('<!-- quantgate:kyutai%2Fstt%2D1b%2Den_fr -->');
    const tricky = commentMarker('a --> b');
    expect(tricky.slice(4, -3)).not.toContain('--');
    expect(commentMarker('a')).not.toBe(commentMarker('b'));
    expect(() => commentMarker(' ')).toThrow('the PR comment key is empty');
  });
});
