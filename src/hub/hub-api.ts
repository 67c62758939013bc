// The Hub's metadata API — which commit a revision names, and which files that commit holds —
// called through @huggingface/hub with a fetch of ours that sends the token to the Hub's own
// origin only and goes through the network layer (its proxies, stall watchdog and retry policy),
// and with the library's errors turned into one-line QuantgateErrors (a refused gated repo says
// how to get access).

import { datasetInfo, HubApiError, listFiles, modelInfo } from '@huggingface/hub';
import { QuantgateError } from '../common/errors.js';
import { watchedFetch } from '../net/fetch.js';
import { RetriesExhaustedError, retrying, type RetryPolicy } from '../net/retry.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { checkRepoId, isBlobName, isCommitSha, type RepoRef } from './cache-layout.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubConnection {
  /** The Hub's origin, e.g. https://huggingface.co (no trailing slash). */
  hubUrl: string;
  token: string | undefined;
  policy: RetryPolicy;
  log: (message: string) => void;
  /** Where the proxy variables are read. */
  env: NodeJS.ProcessEnv;
  /** Ends every request of the connection. */
  signal?: AbortSignal;
}

/** One file of a commit as the Hub lists it; `blobName` is its LFS sha256, or its git blob sha1. */
export interface RemoteFile {
  path: string;
  size: number;
  blobName: string;
}

export const USER_AGENT = `${TOOL_NAME}/${TOOL_VERSION}`;

/** Checks an http(s) Hub address and drops a trailing slash. */
export function normalizeHubUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QuantgateError(`Hub address "${url}" is not a URL; pass e.g. --hub-url https://huggingface.co`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new QuantgateError(`Hub address "${url}" must be http or https; pass e.g. --hub-url https://huggingface.co`);
  }
  return url.replace(/\/+$/, '');
}

/** The 40-hex commit a branch, tag or sha names. */
export async function resolveCommit(connection: HubConnection, repo: RepoRef, revision: string): Promise<string> {
  const what = `${repo.id}@${revision}`;
  const params = { name: checkRepoId(repo.id), revision, hubUrl: connection.hubUrl, fetch: hubFetch(connection), additionalFields: ['sha' as const] };
  const info = await callHub(connection, repo, what, () => (repo.type === 'model' ? modelInfo(params) : datasetInfo(params)));
  if (typeof info.sha !== 'string' || !isCommitSha(info.sha)) {
    throw new QuantgateError(`${what}: the Hub did not answer with a commit sha (got ${JSON.stringify(info.sha)}); check --hub-url points at a Hugging Face Hub`);
  }
  return info.sha;
}

/** Every file of `commit`, with the size and hash the Hub records for it. */
export async function listCommitFiles(connection: HubConnection, repo: RepoRef, commit: string): Promise<RemoteFile[]> {
  const what = `${repo.id}@${commit}`;
  return callHub(connection, repo, what, async () => {
    const files: RemoteFile[] = [];
    const entries = listFiles({ repo: { type: repo.type, name: checkRepoId(repo.id) }, recursive: true, revision: commit, hubUrl: connection.hubUrl, fetch: hubFetch(connection) });
    for await (const entry of entries) {
      if (entry.type !== 'file') continue;
      const blobName = entry.lfs?.oid ?? entry.oid;
      const size = entry.lfs?.size ?? entry.size;
      if (typeof blobName !== 'string' || !isBlobName(blobName) || !Number.isSafeInteger(size) || size < 0) {
        throw new QuantgateError(`${what}: the Hub listing gives "${entry.path}" no valid hash and size (${JSON.stringify(blobName)}, ${JSON.stringify(size)}); check --hub-url points at a Hugging Face Hub`);
      }
      files.push({ path: entry.path, size, blobName });
    }
    return files;
  });
}

/** Where the Hub serves one file of a commit (it may redirect to a CDN). */
export function resolveUrl(connection: HubConnection, repo: RepoRef, commit: string, path: string): string {
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${connection.hubUrl}/${repo.type === 'dataset' ? 'datasets/' : ''}${repo.id}/resolve/${commit}/${encodedPath}`;
}

/** The Authorization header for `url`: the token goes to the Hub's own origin, never to a CDN or other host. */
export function authorizationFor(connection: HubConnection, url: string): Record<string, string> {
  return connection.token && new URL(url).origin === new URL(connection.hubUrl).origin ? { authorization: `Bearer ${connection.token}` } : {};
}

/** The one-line error for a 401/403: the repo is gated, private or missing, and how to get access. */
export function accessRefused(connection: HubConnection, repo: RepoRef, status: number): QuantgateError {
  const page = `${connection.hubUrl}/${repo.type === 'dataset' ? 'datasets/' : ''}${repo.id}`;
  const tokenFix = connection.token ? 'check that the token given (--hf-token or HF_TOKEN) has read access to it' : 'pass a token with access (--hf-token or HF_TOKEN)';
  return new QuantgateError(`${repo.id}: the Hub refused access (HTTP ${status}); the ${repo.type} is gated, private or does not exist — accept its terms on ${page} or ${tokenFix}`);
}

async function callHub<T>(connection: HubConnection, repo: RepoRef, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RetriesExhaustedError) {
      throw new QuantgateError(`${what}: the Hub at ${connection.hubUrl} ${error.message}; check the network (or https://status.huggingface.co) and run again`, { cause: error });
    }
    if (error instanceof HubApiError) {
      if (error.statusCode === 401 || error.statusCode === 403) throw accessRefused(connection, repo, error.statusCode);
      const reason = error.message.split('. URL: ')[0];
      if (error.statusCode === 404) {
        throw new QuantgateError(`${what}: not found on ${connection.hubUrl} (HTTP 404: ${reason}); check --model-id, --repo-type and --revision`, { cause: error });
      }
      throw new QuantgateError(`${what}: the Hub answered HTTP ${error.statusCode} (${reason}); run again later`, { cause: error });
    }
    throw error;
  }
}

/**
 * The fetch handed to @huggingface/hub. Bodies are read here, under the stall watchdog, so a
 * response that stops midway is retried like one that never came; the library gets a complete
 * buffered Response (metadata answers are small).
 */
function hubFetch(connection: HubConnection): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const headers = new Headers(init?.headers);
    headers.set('user-agent', USER_AGENT);
    for (const [name, value] of Object.entries(authorizationFor(connection, url))) headers.set(name, value);
    const { policy, env, signal } = connection;
    return retrying(
      policy,
      async () => {
        const response = await watchedFetch(url, { ...init, headers }, { stallTimeoutMs: policy.stallTimeoutMs, env, ...(signal && { signal }) });
        const body = await response.bytes();
        return new Response(response.status === 204 || response.status === 304 ? null : body, { status: response.status, statusText: response.statusText, headers: [...response.headers] });
      },
      { what: `Hub request ${new URL(url).pathname}`, log: connection.log, ...(signal && { signal }) },
    );
  };
}
