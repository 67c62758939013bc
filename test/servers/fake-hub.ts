// A local stand-in for the Hugging Face Hub (127.0.0.1, random ports) serving the endpoints that
// @huggingface/hub and quantgate's downloader call: revision info, the recursive tree listing
// (paginated with a Link header), and resolve — small files served directly, LFS files redirected
// to a CDN on a second origin, both with Range support and the Hub's ETag/X-Linked-Etag/
// X-Repo-Commit headers. Repos can be gated behind tokens, every request is logged, and faults
// (error statuses, no answer, dropped or stalled bodies, corrupt bytes, ignored ranges) are injected per test.
// File contents are buffers or files on disk, so benchmarks can serve gigabytes without holding them.
// It also takes commits as @huggingface/hub's commit path sends them — repo creation, preupload,
// the LFS batch API with uploads to the CDN origin, and the NDJSON commit, on a branch or as a pull
// request — for repos given write tokens; a commit is applied whole or not at all.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { LocalServer } from './local-server.js';

export type FakeRepoType = 'model' | 'dataset';

export interface FakeFile {
  path: string;
  /** The bytes, or `{ file }` to serve a file on disk. */
  content: Buffer | string | { file: string };
  /** Stored with Git LFS (sha256-named, served from the CDN); by default everything but .json/.md/.txt/.gitattributes. */
  lfs?: boolean;
}

/** Which requests a fault hits: a RegExp on the decoded path, or a string the path ends with after a `/`. */
export type FaultTarget = RegExp | string;

export type Fault = { path: FaultTarget; /** how many requests it hits (default 1) */ times?: number } & (
  | { kind: 'status'; status: number; body?: string | ((request: IncomingMessage) => string) }
  /** accepts the request and never answers */
  | { kind: 'hang' }
  /** sends `afterBytes` bytes of the body, then drops the connection */
  | { kind: 'truncate'; afterBytes: number }
  /** sends `afterBytes` bytes of the body, then goes silent until the hub closes */
  | { kind: 'stall'; afterBytes: number }
  /** flips the first byte of the body */
  | { kind: 'corrupt' }
  /** answers a Range request with the whole file (200) */
  | { kind: 'ignore-range' }
);

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  /** The decoded path, without the query. */
  path: string;
  range?: string;
  authorization?: string;
  /** The response status (0 while it is still being answered). */
  status: number;
}

interface StoredFile {
  path: string;
  size: number;
  lfs: boolean;
  /** Git blob sha1 of the file (small files) or of its LFS pointer (LFS files). */
  oid: string;
  sha256: string;
  source: Buffer | string;
}

interface Repo {
  type: FakeRepoType;
  id: string;
  /** Tokens that may read it; undefined for a public repo. */
  tokens?: string[];
  /** Tokens that may commit to it. */
  writeTokens: string[];
  pullRequests: number;
  /** LFS objects committed to the repo (the Hub keeps LFS storage per repo). */
  lfsObjects: Set<string>;
  refs: Map<string, string>;
  commits: Map<string, StoredFile[]>;
}

export class FakeHub {
  readonly requests: LoggedRequest[] = [];
  /** File body bytes sent so far, by both servers. */
  bytesServed = 0;
  private readonly repos = new Map<string, Repo>();
  private readonly blobs = new Map<string, StoredFile>();
  private readonly faults: Fault[] = [];
  private readonly creators = new Map<string, string>();
  /** LFS objects uploaded but not yet committed, by `repo:sha256`. */
  private readonly uploads = new Map<string, Buffer>();
  private readonly hubServer = new LocalServer((request, response) => this.handle('hub', request, response));
  private readonly cdnServer = new LocalServer((request, response) => this.handle('cdn', request, response));

  private constructor(private readonly pageSize: number) {}

  /** `pageSize`: tree entries per listing page (the Hub pages with a Link header). */
  static async start(options: { pageSize?: number } = {}): Promise<FakeHub> {
    const hub = new FakeHub(options.pageSize ?? 1000);
    await Promise.all([hub.hubServer.listen(), hub.cdnServer.listen()]);
    return hub;
  }

  get url(): string {
    return this.hubServer.origin;
  }

  get cdnUrl(): string {
    return this.cdnServer.origin;
  }

  /** Makes (or replaces) a repo; with `tokens` it is gated and only those bearer tokens may read it. */
  createRepo(id: string, options: { type?: FakeRepoType; tokens?: string[]; writeTokens?: string[] } = {}): void {
    const type = options.type ?? 'model';
    this.repos.set(`${type}:${id}`, {
      type,
      id,
      ...(options.tokens ? { tokens: options.tokens } : {}),
      writeTokens: options.writeTokens ?? [],
      pullRequests: 0,
      lfsObjects: new Set(),
      refs: new Map(),
      commits: new Map(),
    });
  }

  /** Lets `token` create repos in `namespace` (POST /api/repos/create), with write access to them. */
  allowRepoCreation(namespace: string, token: string): void {
    this.creators.set(namespace, token);
  }

  /** The files of `id` at `revision` (a branch, a `refs/pr/N` or a sha), with their contents' sha256; undefined when absent. */
  filesAt(
    id: string,
    revision = 'main',
    type: FakeRepoType = 'model',
  ): { path: string; sha256: string; size: number }[] | undefined {
    const repo = this.repo(type, id);
    const sha = repo?.refs.get(revision) ?? revision;
    return repo?.commits.get(sha)?.map(({ path, sha256, size }) => ({ path, sha256, size }));
  }

  /** The commits made through the commit API, in order. */
  readonly commitsMade: { repo: string; revision: string; sha: string; summary: string; pullRequest?: number }[] = [];

  /** Commits `files` as the whole tree of a new commit on `branch` (default main); returns its sha. */
  async commit(
    id: string,
    files: FakeFile[],
    options: { type?: FakeRepoType; branch?: string; tag?: string } = {},
  ): Promise<string> {
    const repo = this.repo(options.type ?? 'model', id);
    if (!repo) throw new Error(`fake hub: no ${options.type ?? 'model'} repo ${id}; call createRepo first`);
    const stored = await Promise.all(files.map(storeFile));
    for (const file of stored) if (file.lfs) this.blobs.set(file.sha256, file);
    const sha = randomBytes(20).toString('hex');
    repo.commits.set(sha, stored);
    repo.refs.set(options.branch ?? 'main', sha);
    if (options.tag) repo.refs.set(options.tag, sha);
    return sha;
  }

  fault(fault: Fault): void {
    this.faults.push(fault);
  }

  /** The logged requests for resolve URLs and CDN downloads of `path`. */
  downloadsOf(path: string): LoggedRequest[] {
    return this.requests.filter(
      (request) =>
        request.path.endsWith(`/${path}`) && (request.server === 'cdn' || request.path.includes('/resolve/')),
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.hubServer.close(), this.cdnServer.close()]);
  }

  private repo(type: FakeRepoType, id: string): Repo | undefined {
    return this.repos.get(`${type}:${id}`);
  }

  private handle(server: 'hub' | 'cdn', request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    const logged: LoggedRequest = {
      server,
      method: request.method ?? 'GET',
      path,
      ...(request.headers.range ? { range: request.headers.range } : {}),
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
      status: 0,
    };
    this.requests.push(logged);
    response.on('close', () => (logged.status = response.statusCode));
    const statusFault = this.takeFault(path, ['status', 'hang']);
    if (statusFault?.kind === 'hang') return;
    if (statusFault?.kind === 'status') {
      const body =
        typeof statusFault.body === 'function'
          ? statusFault.body(request)
          : (statusFault.body ?? `fake hub: injected ${statusFault.status}`);
      return sendJson(response, statusFault.status, { error: body });
    }
    // A client that gives up mid-body (an aborted upload) leaves nothing to answer.
    const settle = (work: Promise<void>) => void work.catch(() => response.destroy());
    if (server === 'cdn' && request.method === 'PUT') return settle(this.receiveUpload(request, response, path));
    if (server === 'cdn') return this.serveCdn(request, response, path);
    if (request.method === 'POST') return settle(this.serveWrite(request, response, url));
    const api = /^\/api\/(models|datasets)\/(.+)\/(revision|tree)\/([^/]+)$/.exec(url.pathname);
    if (api)
      return this.serveApi(
        request,
        response,
        url,
        api[1] === 'models' ? 'model' : 'dataset',
        decodeURIComponent(api[2]!),
        api[3]!,
        decodeURIComponent(api[4]!),
      );
    const resolve = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve)
      return this.serveResolve(
        request,
        response,
        resolve[1] ? 'dataset' : 'model',
        decodeURIComponent(resolve[2]!),
        decodeURIComponent(resolve[3]!),
        decodeURIComponent(resolve[4]!),
      );
    sendJson(response, 404, { error: `fake hub: no route for ${request.method} ${url.pathname}` });
  }

  private serveApi(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    type: FakeRepoType,
    id: string,
    endpoint: string,
    revision: string,
  ): void {
    const found = this.findCommit(request, response, type, id, revision);
    if (!found) return;
    const { repo, sha, files } = found;
    if (endpoint === 'revision') {
      return sendJson(response, 200, {
        _id: sha.slice(0, 24),
        id,
        sha,
        private: false,
        gated: repo.tokens ? 'manual' : false,
        downloads: 0,
        likes: 0,
        lastModified: new Date(0).toISOString(),
      });
    }
    if (url.searchParams.get('recursive') !== 'true')
      return sendJson(response, 400, { error: 'fake hub: only recursive tree listings are served' });
    const entries = treeEntries(files);
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    const page = entries.slice(cursor, cursor + this.pageSize);
    const next =
      cursor + this.pageSize < entries.length
        ? `<${this.url}${url.pathname}?recursive=true&expand=false&cursor=${cursor + this.pageSize}>; rel="next"`
        : undefined;
    sendJson(response, 200, page, next ? { link: next } : {});
  }

  private serveResolve(
    request: IncomingMessage,
    response: ServerResponse,
    type: FakeRepoType,
    id: string,
    revision: string,
    path: string,
  ): void {
    const found = this.findCommit(request, response, type, id, revision);
    if (!found) return;
    const file = found.files.find((candidate) => candidate.path === path);
    if (!file)
      return sendJson(
        response,
        404,
        { error: `fake hub: ${path} not in ${id}@${revision}` },
        { 'x-error-code': 'EntryNotFound' },
      );
    const headers = { 'x-repo-commit': found.sha };
    if (file.lfs) {
      response.writeHead(302, {
        ...headers,
        'x-linked-etag': `"${file.sha256}"`,
        'x-linked-size': String(file.size),
        location: `${this.cdnUrl}/cdn/${file.sha256}/${file.path.split('/').map(encodeURIComponent).join('/')}`,
      });
      return void response.end();
    }
    this.serveBytes(request, response, file, { ...headers, etag: `"${file.oid}"` });
  }

  /** The write endpoints of @huggingface/hub's commit path and createRepo. */
  private async serveWrite(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const body = await readBody(request);
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (url.pathname === '/api/repos/create') {
      const { name, organization, type } = JSON.parse(body.toString('utf8')) as {
        name: string;
        organization?: string;
        type?: FakeRepoType;
      };
      const namespace = organization ?? name.split('/')[0]!;
      const id = name.includes('/') ? name : `${namespace}/${name}`;
      if (!token || this.creators.get(namespace) !== token)
        return sendJson(response, token ? 403 : 401, {
          error: `You don't have the rights to create a model under the namespace "${namespace}"`,
        });
      if (this.repo(type ?? 'model', id))
        return sendJson(response, 409, { error: 'You already created this model repo', url: `${this.url}/${id}` });
      this.createRepo(id, { type: type ?? 'model', writeTokens: [token] });
      return sendJson(response, 200, { url: `${this.url}/${id}`, name: id });
    }
    const write =
      /^\/(?:api\/(models|datasets)\/(.+)\/(preupload|commit)\/([^/]+)|(datasets\/)?(.+)\.git\/info\/lfs\/objects\/batch)$/.exec(
        url.pathname,
      );
    if (!write) return sendJson(response, 404, { error: `fake hub: no route for POST ${url.pathname}` });
    const type: FakeRepoType = write[1] === 'datasets' || write[5] ? 'dataset' : 'model';
    const id = decodeURIComponent(write[2] ?? write[6]!);
    const repo = this.repo(type, id);
    if (!repo) return sendJson(response, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
    if (!token || !repo.writeTokens.includes(token)) {
      return sendJson(response, token ? 403 : 401, {
        error: token ? `You don't have the rights to write to ${id}` : 'Invalid credentials in Authorization header',
      });
    }
    if (write[3] === 'preupload') {
      const { files } = JSON.parse(body.toString('utf8')) as { files: { path: string }[] };
      return sendJson(response, 200, {
        files: files.map(({ path }) => ({
          path,
          uploadMode: isLfsPath(path) ? 'lfs' : 'regular',
          shouldIgnore: false,
        })),
      });
    }
    if (write[3] === 'commit')
      return this.applyCommit(
        response,
        repo,
        decodeURIComponent(write[4]!),
        url.searchParams.get('create_pr') === '1',
        body.toString('utf8'),
      );
    const { objects } = JSON.parse(body.toString('utf8')) as { objects: { oid: string; size: number }[] };
    response.writeHead(200, { 'content-type': 'application/vnd.git-lfs+json' });
    response.end(
      JSON.stringify({
        transfer: 'basic',
        objects: objects.map(({ oid, size }) => ({
          oid,
          size,
          ...(repo.lfsObjects.has(oid)
            ? {}
            : { actions: { upload: { href: `${this.cdnUrl}/lfs-upload/${encodeURIComponent(repo.id)}/${oid}` } } }),
        })),
      }),
    );
  }

  private async receiveUpload(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const target = /^\/lfs-upload\/(.+)\/([0-9a-f]{64})$/.exec(path);
    const body = await readBody(request);
    if (!target) return sendJson(response, 404, { error: 'fake cdn: no such upload' });
    const oid = target[2]!;
    if (createHash('sha256').update(body).digest('hex') !== oid)
      return sendJson(response, 400, { error: 'fake cdn: the body does not match its oid' });
    this.uploads.set(`${target[1]}:${oid}`, body);
    response.writeHead(200, { etag: `"${oid}"` });
    response.end();
  }

  /** Applies an NDJSON commit on top of `revision`'s tree (or of main, as a new pull request). */
  private async applyCommit(
    response: ServerResponse,
    repo: Repo,
    revision: string,
    pullRequest: boolean,
    ndjson: string,
  ): Promise<void> {
    const lines = ndjson
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { key: string; value: Record<string, string | number> });
    const header = lines.find((line) => line.key === 'header')?.value ?? {};
    const parent = repo.refs.get(revision);
    const tree = new Map((parent ? repo.commits.get(parent)! : []).map((file) => [file.path, file]));
    for (const { key, value } of lines) {
      if (key === 'file') {
        tree.set(
          String(value.path),
          await storeFile({
            path: String(value.path),
            content: Buffer.from(String(value.content), 'base64'),
            lfs: false,
          }),
        );
      } else if (key === 'lfsFile') {
        const content =
          this.uploads.get(`${repo.id}:${value.oid}`) ??
          (repo.lfsObjects.has(String(value.oid)) ? this.blobs.get(String(value.oid))?.source : undefined);
        if (content === undefined)
          return sendJson(response, 400, {
            error: `fake hub: LFS object ${value.oid} of ${value.path} was never uploaded`,
          });
        const stored = await storeFile({ path: String(value.path), content, lfs: true });
        this.blobs.set(stored.sha256, stored);
        repo.lfsObjects.add(stored.sha256);
        tree.set(stored.path, stored);
      } else if (key === 'deletedFile') {
        tree.delete(String(value.path));
      }
    }
    const sha = randomBytes(20).toString('hex');
    repo.commits.set(sha, [...tree.values()]);
    const number = pullRequest ? ++repo.pullRequests : undefined;
    const ref = number === undefined ? revision : `refs/pr/${number}`;
    repo.refs.set(ref, sha);
    this.commitsMade.push({
      repo: repo.id,
      revision: ref,
      sha,
      summary: String(header.summary ?? ''),
      ...(number === undefined ? {} : { pullRequest: number }),
    });
    sendJson(response, 200, {
      commitOid: sha,
      commitUrl: `${this.url}/${repo.id}/commit/${sha}`,
      ...(number === undefined ? {} : { pullRequestUrl: `${this.url}/${repo.id}/discussions/${number}` }),
    });
  }

  private serveCdn(request: IncomingMessage, response: ServerResponse, path: string): void {
    const blob = /^\/cdn\/([0-9a-f]{64})\//.exec(path);
    const file = blob ? this.blobs.get(blob[1]!) : undefined;
    if (!file) return sendJson(response, 404, { error: 'fake cdn: no such blob' });
    this.serveBytes(request, response, file, { etag: `"${file.sha256}"` });
  }

  /** Finds the repo and commit, answering 401/403/404 itself (and returning undefined) as the Hub does. */
  private findCommit(
    request: IncomingMessage,
    response: ServerResponse,
    type: FakeRepoType,
    id: string,
    revision: string,
  ) {
    const repo = this.repo(type, id);
    if (!repo)
      return void sendJson(response, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
    if (repo.tokens) {
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (!token || !repo.tokens.includes(token)) {
        return void sendJson(
          response,
          token ? 403 : 401,
          {
            error: `Access to ${type} ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
          },
          { 'x-error-code': 'GatedRepo' },
        );
      }
    }
    const sha = repo.refs.get(revision) ?? (repo.commits.has(revision) ? revision : undefined);
    const files = sha ? repo.commits.get(sha) : undefined;
    if (!sha || !files)
      return void sendJson(
        response,
        404,
        { error: `Invalid rev id: ${revision}` },
        { 'x-error-code': 'RevisionNotFound' },
      );
    return { repo, sha, files };
  }

  private serveBytes(
    request: IncomingMessage,
    response: ServerResponse,
    file: StoredFile,
    headers: Record<string, string>,
  ): void {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://fake').pathname);
    const fault = this.takeFault(path, ['truncate', 'stall', 'corrupt', 'ignore-range']);
    const range = fault?.kind === 'ignore-range' ? undefined : parseRange(request.headers.range, file.size);
    if (range === 'unsatisfiable') {
      response.writeHead(416, { ...headers, 'content-range': `bytes */${file.size}` });
      return void response.end();
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? file.size - 1;
    response.writeHead(range ? 206 : 200, {
      ...headers,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'content-length': String(Math.max(0, end - start + 1)),
      ...(range ? { 'content-range': `bytes ${start}-${end}/${file.size}` } : {}),
    });
    if (end < start) return void response.end();
    const limit = fault?.kind === 'truncate' || fault?.kind === 'stall' ? fault.afterBytes : Infinity;
    let sent = 0;
    const source =
      typeof file.source === 'string'
        ? createReadStream(file.source, { start, end, highWaterMark: 1 << 20 })
        : Readable.from([file.source.subarray(start, end + 1)]);
    source.on('data', (data: Buffer) => {
      let chunk = data.subarray(0, Math.max(0, limit - sent));
      if (fault?.kind === 'corrupt' && sent === 0 && chunk.byteLength > 0)
        chunk = Buffer.concat([Buffer.from([chunk[0]! ^ 0xff]), chunk.subarray(1)]);
      sent += chunk.byteLength;
      this.bytesServed += chunk.byteLength;
      const flushed = () => {
        if (sent < limit) return;
        source.destroy();
        if (fault?.kind === 'truncate') response.socket?.destroy();
      };
      if (!response.write(chunk, flushed)) {
        source.pause();
        response.once('drain', () => source.resume());
      }
    });
    // A stalled or truncated body never ends: the connection stays silent or is dropped.
    source.on('end', () => sent < limit && response.end());
  }

  private takeFault(path: string, kinds: Fault['kind'][]): Fault | undefined {
    const index = this.faults.findIndex(
      (fault) =>
        kinds.includes(fault.kind) &&
        (typeof fault.path === 'string' ? path.endsWith(`/${fault.path}`) : fault.path.test(path)),
    );
    const fault = this.faults[index];
    if (!fault) return undefined;
    const remaining = (fault.times ?? 1) - 1;
    if (remaining <= 0) this.faults.splice(index, 1);
    else fault.times = remaining;
    return fault;
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...headers, 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function storeFile(file: FakeFile): Promise<StoredFile> {
  const source =
    typeof file.content === 'string'
      ? Buffer.from(file.content)
      : Buffer.isBuffer(file.content)
        ? file.content
        : file.content.file;
  const size = typeof source === 'string' ? (await stat(source)).size : source.byteLength;
  const sha256 = createHash('sha256');
  const gitSha1 = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of typeof source === 'string'
    ? createReadStream(source, { highWaterMark: 1 << 20 })
    : [source]) {
    sha256.update(chunk as Buffer);
    gitSha1.update(chunk as Buffer);
  }
  const lfs = file.lfs ?? isLfsPath(file.path);
  const digest = sha256.digest('hex');
  const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${digest}\nsize ${size}\n`;
  const oid = lfs
    ? createHash('sha1').update(`blob ${pointer.length}\0${pointer}`).digest('hex')
    : gitSha1.digest('hex');
  return { path: file.path, size, lfs, oid, sha256: digest, source };
}

/** Stored with Git LFS unless a text file the Hub keeps in git. */
function isLfsPath(path: string): boolean {
  return !/(\.json|\.md|\.txt|^\.gitattributes)$/.test(path);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The Hub's recursive tree: folders first as they appear, then files; LFS files carry their pointer's oid and the lfs block. */
function treeEntries(files: StoredFile[]): unknown[] {
  const folders = [
    ...new Set(
      files.flatMap((file) =>
        file.path
          .split('/')
          .slice(0, -1)
          .map((_, index, parts) => parts.slice(0, index + 1).join('/')),
      ),
    ),
  ];
  return [
    ...folders.map((path) => ({
      type: 'directory',
      oid: createHash('sha1').update(path).digest('hex'),
      size: 0,
      path,
    })),
    ...files.map((file) => ({
      type: 'file',
      oid: file.oid,
      size: file.size,
      path: file.path,
      ...(file.lfs ? { lfs: { oid: file.sha256, size: file.size, pointerSize: 134 } } : {}),
    })),
  ];
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; undefined when absent or malformed (served whole). */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const start = match[1] === '' ? Math.max(0, size - Number(match[2])) : Number(match[1]);
  const end = match[1] === '' || match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return start >= size ? 'unsatisfiable' : { start, end };
}
