// The GitHub REST client of the publish stage (Octokit from @actions/github, at GITHUB_API_URL so
// GitHub Enterprise and the test fakes work, sending its requests through the network layer's
// proxied fetch, so every hop of a release download, redirect to storage included, follows the
// project's proxy rules), `owner/name` parsing, and the translation of failed API calls into
// one-line errors naming the permission or input to fix.

import { GitHub } from '@actions/github/lib/utils';
import { QuantgateError } from '../common/errors.js';
import { networkProblem } from '../net/errors.js';
import { proxiedFetch } from '../net/fetch.js';

export type GitHubClient = InstanceType<typeof GitHub>;

export interface RepoRef {
  owner: string;
  repo: string;
}

const DEFAULT_API_URL = 'https://api.github.com';

/**
 * A client for `apiUrl` (default $GITHUB_API_URL, else api.github.com); without a token it reads
 * public data only. The proxy variables are read from `env` (default process.env).
 */
export function createGitHubClient(
  options: { token?: string; apiUrl?: string; env?: NodeJS.ProcessEnv } = {},
): GitHubClient {
  const baseUrl = (options.apiUrl ?? options.env?.GITHUB_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, '');
  const env = options.env ?? process.env;
  const fetch: typeof globalThis.fetch = (input, init) =>
    proxiedFetch(input instanceof Request ? input.url : String(input), init, env);
  return new GitHub({ baseUrl, request: { fetch }, ...(options.token ? { auth: `token ${options.token}` } : {}) });
}

/** Parses `owner/name`; `source` names where the text came from, for the error. */
export function parseRepo(slug: string, source: string): RepoRef {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(slug.trim());
  if (!match || match[2] === '.' || match[2] === '..') {
    throw new QuantgateError(
      `${source} "${slug}" is not a GitHub repository; give it as owner/name, e.g. octocat/hello-world`,
    );
  }
  return { owner: match[1]!, repo: match[2]! };
}

/** The web page of the workflow run this process is part of; undefined outside GitHub Actions. */
export function workflowRunUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env;
  return server && repository && runId ? `${server}/${repository}/actions/runs/${runId}` : undefined;
}

export interface FailureContext {
  /** What was being done, e.g. `uploading shard-aa to release v1 of o/r`. */
  doing: string;
  /** The workflow permission the call needs, e.g. `contents: write`. */
  permission: string;
  /** The fix when the API answers 404. */
  notFound?: string;
}

/** The QuantgateError for a failed Octokit call, or `error` itself when it is not one. */
export function gitHubFailure(error: unknown, context: FailureContext): unknown {
  if (error instanceof QuantgateError || !isRequestError(error)) return error;
  const reason = error.message.split('\n')[0]!;
  const { doing } = context;
  if (error.response === undefined) {
    return new QuantgateError(
      `${doing} failed: the GitHub API cannot be reached (${networkProblem(error)}); check the network and GITHUB_API_URL, then run again`,
      { cause: error },
    );
  }
  switch (error.status) {
    case 401:
      return new QuantgateError(
        `${doing} failed: GitHub rejected the token (401 ${reason}); pass a valid token with --token or GITHUB_TOKEN`,
        { cause: error },
      );
    case 403:
      return new QuantgateError(
        `${doing} failed: the token may not do this (403 ${reason}); give the workflow \`permissions: ${context.permission}\` or use a token with that access`,
        { cause: error },
      );
    case 404:
      return new QuantgateError(
        `${doing} failed: not found (404); ${context.notFound ?? 'check the repository name and that the token can see it'}`,
        { cause: error },
      );
    case 422:
      return new QuantgateError(
        `${doing} failed: GitHub refused the request (422 ${reason}); check the names and values given`,
        { cause: error },
      );
    default:
      return new QuantgateError(
        `${doing} failed: GitHub answered ${error.status} (${reason}); run again later, or check githubstatus.com if it persists`,
        { cause: error },
      );
  }
}

/** Runs one API call, turning its failure into the error `gitHubFailure` gives. */
export async function callGitHub<T>(request: () => Promise<T>, context: FailureContext): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw gitHubFailure(error, context);
  }
}

/** True for the API's own 404 answer (not for a network failure). */
export function isNotFound(error: unknown): boolean {
  return isRequestError(error) && error.status === 404 && error.response !== undefined;
}

interface RequestErrorLike extends Error {
  status: number;
  response?: unknown;
}

function isRequestError(error: unknown): error is RequestErrorLike {
  return (
    error instanceof Error && error.name === 'HttpError' && typeof (error as { status?: unknown }).status === 'number'
  );
}
