// The Hub's metadata API — which commit a revision names, and which files that commit holds —
// called through @huggingface/hub with a fetch of ours that sends the token to the Hub's own
// origin only and goes through the network layer (httpGet: its proxies, stall watchdog and retry
// policy), and with every error of the library turned into a one-line QuantgateError (a refused
// gated repo says how to get access; an answer the library cannot read names the request).
// httpGet rather than undici's fetch: undici's parser throws outside any promise on some
// malformed answers (an uncaught AssertionError), and its decompression could outlive the
// watchdog; httpGet asks for identity encoding and parses HTTP itself.

import { datasetInfo, HubApiError, listFiles, modelInfo } from '@huggingface/hub';
import { debugLog } from '../common/debug.js';
import { describeError, isQuantgateError, QuantgateError } from '../common/errors.js';
import { httpGet } from '../net/http-get.js';
import { isTransientStatus, RetriesExhaustedError, retrying, TransientError, type RetryPolicy } from '../net/retry.js';
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
  const params = {
    name: checkRepoId(repo.id),
    revision,
    hubUrl: connection.hubUrl,
    fetch: hubFetch(connection),
    additionalFields: ['sha' as const],
  };
  const info = await callHub(connection, repo, what, () =>
    repo.type === 'model' ? modelInfo(params) : datasetInfo(params),
  );
  if (typeof info.sha !== 'string' || !isCommitSha(info.sha)) {
    debugLog('Hub revision answer', `sha: ${JSON.stringify(info.sha) ?? 'absent'}`);
    throw new QuantgateError(
      `${what}: the Hub did not answer with a 40-hex commit sha; check --hub-url points at a Hugging Face Hub`,
    );
  }
  return info.sha;
}

/** Every file of `commit`, with the size and hash the Hub records for it. */
export async function listCommitFiles(connection: HubConnection, repo: RepoRef, commit: string): Promise<RemoteFile[]> {
  const what = `${repo.id}@${commit}`;
  return callHub(connection, repo, what, async () => {
    const files: RemoteFile[] = [];
    const entries = listFiles({
      repo: { type: repo.type, name: checkRepoId(repo.id) },
      recursive: true,
      revision: commit,
      hubUrl: connection.hubUrl,
      fetch: hubFetch(connection),
    });
    for await (const entry of entries) {
      if (entry.type !== 'file') continue;
      if (typeof entry.path !== 'string') {
        throw new QuantgateError(
          `${what}: the Hub listing has a file without a path; check --hub-url points at a Hugging Face Hub`,
        );
      }
      const blobName = entry.lfs?.oid ?? entry.oid;
      const size = entry.lfs?.size ?? entry.size;
      if (typeof blobName !== 'string' || !isBlobName(blobName) || !Number.isSafeInteger(size) || size < 0) {
        debugLog(
          'Hub listing',
          `${JSON.stringify(entry.path)}: hash ${JSON.stringify(blobName) ?? 'absent'}, size ${JSON.stringify(size) ?? 'absent'}`,
        );
        throw new QuantgateError(
          `${what}: the Hub listing gives ${JSON.stringify(entry.path)} no valid hash and size; check --hub-url points at a Hugging Face Hub`,
        );
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
  return connection.token && new URL(url).origin === new URL(connection.hubUrl).origin
    ? { authorization: `Bearer ${connection.token}` }
    : {};
}

/** The one-line error for a 401/403: the repo is gated, private or missing, and how to get access. */
export function accessRefused(connection: HubConnection, repo: RepoRef, status: number): QuantgateError {
  const page = `${connection.hubUrl}/${repo.type === 'dataset' ? 'datasets/' : ''}${repo.id}`;
  const tokenFix = connection.token
    ? 'check that the token given (--hf-token or HF_TOKEN) has read access to it'
    : 'pass a token with access (--hf-token or HF_TOKEN)';
  return new QuantgateError(
    `${repo.id}: the Hub refused access (HTTP ${status}); the ${repo.type} is gated, private or does not exist — accept its terms on ${page} or ${tokenFix}`,
  );
}

async function callHub<T>(connection: HubConnection, repo: RepoRef, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RetriesExhaustedError) {
      throw new QuantgateError(
        `${what}: the Hub at ${connection.hubUrl} ${error.message}; check the network (or https://status.huggingface.co) and run again`,
        { cause: error },
      );
    }
    if (error instanceof HubApiError) {
      if (error.statusCode === 401 || error.statusCode === 403) throw accessRefused(connection, repo, error.statusCode);
      const reason = error.message.split('. URL: ')[0];
      if (error.statusCode === 404) {
        throw new QuantgateError(
          `${what}: not found on ${connection.hubUrl} (HTTP 404: ${reason}); check --model-id, --repo-type and --revision`,
          { cause: error },
        );
      }
      throw new QuantgateError(`${what}: the Hub answered HTTP ${error.statusCode} (${reason}); run again later`, {
        cause: error,
      });
    }
    if (isQuantgateError(error) || connection.signal?.aborted) throw error;
    // The library could not read the answer (not JSON, not the shape it expects): its own text
    // (a SyntaxError, "items is not iterable") means nothing to the user.
    debugLog('@huggingface/hub', describeError(error));
    throw new QuantgateError(
      `${what}: the Hub at ${connection.hubUrl} gave an answer quantgate cannot read; check --hub-url points at a Hugging Face Hub (QUANTGATE_DEBUG=1 shows the details)`,
      { cause: error },
    );
  }
}

/** Redirect hops followed per request (a renamed repo's API answers redirect to its new name). */
const MAX_REDIRECTS = 5;
/** Metadata answers are small; a listing page of 1,000 files is well under 1 MiB. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * The fetch handed to @huggingface/hub: a GET through httpGet, redirects followed (the token sent
 * to the Hub's origin only), each try under the retry policy. The body is read here, under the
 * stall watchdog, so an answer that stops midway is retried like one that never came; the library
 * gets a complete buffered Response.
 */
function hubFetch(connection: HubConnection): typeof fetch {
  return async (input, init) => {
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    // The library's metadata calls are all GETs; anything else would be a change of the library.
    if (method !== 'GET') throw new Error(`@huggingface/hub asked for ${method}, which the Hub fetch does not send`);
    const first = input instanceof Request ? input.url : String(input);
    const asked = Object.fromEntries(new Headers(init?.headers));
    const { policy, env, signal } = connection;
    return retrying(
      policy,
      async () => {
        let url = first;
        for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
          const headers = { ...asked, 'user-agent': USER_AGENT, ...authorizationFor(connection, url) };
          const response = await httpGet(url, headers, {
            stallTimeoutMs: policy.stallTimeoutMs,
            env,
            ...(signal && { signal }),
          });
          const { status } = response;
          if (status >= 300 && status < 400 && response.headers.location) {
            response.discard();
            url = new URL(response.headers.location, url).href;
            continue;
          }
          if (isTransientStatus(status)) {
            response.discard();
            throw new TransientError(`HTTP ${status} ${response.statusMessage}`.trim());
          }
          if (status < 200 || status > 599) {
            response.discard();
            throw new QuantgateError(
              `Hub request ${new URL(url).pathname}: the answer's status ${status} is not an HTTP status; check --hub-url points at a Hugging Face Hub`,
            );
          }
          const chunks: Uint8Array[] = [];
          let length = 0;
          await response.readBody((bytes) => {
            length += bytes.byteLength;
            if (length > MAX_ANSWER_BYTES) {
              throw new QuantgateError(
                `Hub request ${new URL(url).pathname}: the answer exceeds ${MAX_ANSWER_BYTES / 1024 / 1024} MiB; check --hub-url points at a Hugging Face Hub`,
              );
            }
            // httpGet reuses the memory of `bytes`.
            chunks.push(Uint8Array.prototype.slice.call(bytes));
          });
          const body = status === 204 || status === 205 || status === 304 ? null : Buffer.concat(chunks);
          return new Response(body, { status, headers: Object.entries(response.headers) });
        }
        throw new TransientError(`more than ${MAX_REDIRECTS} redirects`);
      },
      { what: `Hub request ${new URL(first).pathname}`, log: connection.log, ...(signal && { signal }) },
    );
  };
}
