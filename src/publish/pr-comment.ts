// The pull-request comment: the run's markdown summary posted on the PR and edited in place by
// later runs, which find it by a hidden marker naming the job or model, so it is never posted
// twice. It is skipped, with a notice, outside pull-request events and on pull_request events from
// forks, whose token is read-only (pull_request_target runs with the base repository's token).

import { readFile } from 'node:fs/promises';
import { QuantgateError, describeError } from '../common/errors.js';
import { callGitHub, type GitHubClient, type RepoRef } from './github.js';
import { silentLogger, type PublishLogger } from './logger.js';

export interface PullRequestRef extends RepoRef {
  number: number;
}

export interface PostedComment {
  outcome: 'created' | 'updated' | 'unchanged';
  id: number;
  url: string;
}

export type CommentResult = PostedComment | { outcome: 'skipped'; reason: string };

const PERMISSION = 'pull-requests: write';

/**
 * The pull request this workflow run is for, read from the event GitHub Actions describes in
 * GITHUB_EVENT_NAME and GITHUB_EVENT_PATH, or why no comment can be posted.
 */
export async function pullRequestOfRun(env: NodeJS.ProcessEnv): Promise<PullRequestRef | { skip: string }> {
  const event = env.GITHUB_EVENT_NAME;
  if (event !== 'pull_request' && event !== 'pull_request_target') {
    return { skip: `this run was not started by a pull request (event ${event ?? 'unknown'})` };
  }
  const payload = await readEvent(env.GITHUB_EVENT_PATH);
  const pullRequest = payload.pull_request;
  const base = pullRequest?.base?.repo?.full_name;
  if (typeof pullRequest?.number !== 'number' || typeof base !== 'string' || !base.includes('/')) {
    throw new QuantgateError(
      `the ${event} event in ${env.GITHUB_EVENT_PATH} has no pull_request number and base repository; this is not a GitHub Actions event file — run inside a workflow or turn the PR comment off`,
    );
  }
  const head = pullRequest.head?.repo?.full_name;
  if (event === 'pull_request' && head !== base) {
    return {
      skip: `pull request #${pullRequest.number} comes from the fork ${head ?? '(deleted)'}, whose workflow token cannot comment`,
    };
  }
  const [owner, repo] = base.split('/') as [string, string];
  return { owner, repo, number: pullRequest.number };
}

/**
 * Posts `body` on the pull request of this run, or edits the earlier comment carrying the marker
 * for `key`; logs a notice and returns `skipped` when the run has no writable pull request.
 */
export async function publishPullRequestComment(options: {
  client: GitHubClient;
  env: NodeJS.ProcessEnv;
  key: string;
  body: string;
  logger?: PublishLogger;
}): Promise<CommentResult> {
  const logger = options.logger ?? silentLogger;
  const target = await pullRequestOfRun(options.env);
  if ('skip' in target) {
    logger.notice(`PR comment skipped: ${target.skip}`);
    return { outcome: 'skipped', reason: target.skip };
  }
  const result = await upsertComment(options.client, target, options.key, options.body);
  logger.info(`PR comment ${result.outcome}: ${result.url}`);
  return result;
}

/** Creates the comment for `key` on `pullRequest`, or updates the one an earlier run made. */
async function upsertComment(
  client: GitHubClient,
  pullRequest: PullRequestRef,
  key: string,
  body: string,
): Promise<PostedComment> {
  const marker = commentMarker(key);
  const text = `${marker}\n${body}`;
  const where = `pull request #${pullRequest.number} of ${pullRequest.owner}/${pullRequest.repo}`;
  const issue = { owner: pullRequest.owner, repo: pullRequest.repo, issue_number: pullRequest.number };
  const comments = await callGitHub(
    () => client.paginate(client.rest.issues.listComments, { ...issue, per_page: 100 }),
    {
      doing: `reading the comments of ${where}`,
      permission: PERMISSION,
      notFound: 'check that the pull request exists and the token can see the repository',
    },
  );
  const earlier = comments.find((comment) => comment.body?.includes(marker));
  if (earlier?.body === text) return { outcome: 'unchanged', id: earlier.id, url: earlier.html_url };
  if (earlier) {
    const { data } = await callGitHub(
      () =>
        client.rest.issues.updateComment({
          owner: pullRequest.owner,
          repo: pullRequest.repo,
          comment_id: earlier.id,
          body: text,
        }),
      {
        doing: `updating the quantgate comment on ${where}`,
        permission: PERMISSION,
      },
    );
    return { outcome: 'updated', id: data.id, url: data.html_url };
  }
  const { data } = await callGitHub(() => client.rest.issues.createComment({ ...issue, body: text }), {
    doing: `commenting on ${where}`,
    permission: PERMISSION,
  });
  return { outcome: 'created', id: data.id, url: data.html_url };
}

/** The hidden first line identifying the comment of `key`; encoded so it cannot end the HTML comment early. */
export function commentMarker(key: string): string {
  if (key.trim() === '')
    throw new QuantgateError('the PR comment key is empty; give the job or model name that tells this comment apart');
  return `<!-- quantgate:${encodeURIComponent(key.trim()).replace(/-/g, '%2D')} -->`;
}

interface EventPayload {
  pull_request?: {
    number?: unknown;
    head?: { repo?: { full_name?: unknown } | null };
    base?: { repo?: { full_name?: unknown } };
  };
}

async function readEvent(path: string | undefined): Promise<EventPayload> {
  if (!path)
    throw new QuantgateError(
      'GITHUB_EVENT_PATH is unset, so the pull request is unknown; run inside a GitHub Actions workflow or turn the PR comment off',
    );
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as EventPayload) : {};
  } catch (error) {
    throw new QuantgateError(
      `cannot read the workflow event ${path} (${describeError(error)}); run inside a GitHub Actions workflow or turn the PR comment off`,
      { cause: error },
    );
  }
}
