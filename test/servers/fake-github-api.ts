// A local stand-in (127.0.0.1, random port) for the GitHub REST API endpoints the publish stage
// and @actions/artifact call: releases (get by tag, create, list, delete and upload assets, the
// asset download that redirects to storage), issue comments (paginated list, create, update) and
// the artifact zip download that redirects to the artifact's blob, and the branch files of the
// contents API (read, create or update with the sha check that makes a stale write a 409) with the
// git data API behind it (refs, trees, commits, blobs). Release uploads go to the
// `upload_url` each release carries, which points back here as uploads.github.com does for the
// real API. Tokens are checked: unknown ones get 401, read-only ones 403 on every write.

import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalServer, readBody } from './local-server.js';

export interface FakeAsset {
  id: number;
  name: string;
  data: Buffer;
  contentType: string;
  /** What downloads get instead of `data` (a corrupted or cut copy); the listing still shows `data`. */
  served?: Buffer;
}

export interface FakeRelease {
  id: number;
  tag: string;
  repo: string;
  targetCommitish: string;
  draft: boolean;
  assets: FakeAsset[];
}

export interface FakeComment {
  id: number;
  repo: string;
  issue: number;
  body: string;
  login: string;
}

export interface FakeGitHubOptions {
  /** Token → what it may do. */
  tokens?: Record<string, 'read' | 'write'>;
  /** The most items one page holds, whatever per_page asks (GitHub: 100). */
  maxPerPage?: number;
  /** Where the zip of artifact `id` can be fetched (the REST API answers with a redirect there). */
  artifactDownloadUrl?: (id: number) => string | undefined;
  /** Files larger than this come from the contents API without their content, as GitHub's over 1 MB do. */
  maxContentsBytes?: number;
}

interface GitCommit {
  tree: Map<string, Buffer>;
  parents: string[];
  message: string;
}

interface GitRepo {
  /** `heads/<branch>` → commit sha. */
  refs: Map<string, string>;
  commits: Map<string, GitCommit>;
  trees: Map<string, Map<string, Buffer>>;
}

export interface ApiRequest {
  method: string;
  path: string;
  status: number;
}

export class FakeGitHubApi {
  readonly requests: ApiRequest[] = [];
  readonly releases: FakeRelease[] = [];
  readonly comments: FakeComment[] = [];
  /** Commits made through the contents and git APIs, in order. */
  readonly gitCommits: { repo: string; sha: string; message: string }[] = [];
  /** Runs once, just before the next contents write is applied: another run's commit landing first. */
  beforeNextContentsWrite?: () => void;
  private readonly git = new Map<string, GitRepo>();
  private nextId = 1;
  private readonly server = new LocalServer((request, response) => this.handle(request, response));

  private constructor(private readonly options: FakeGitHubOptions) {}

  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHubApi> {
    const api = new FakeGitHubApi(options);
    await api.server.listen();
    return api;
  }

  /** The API root, as GITHUB_API_URL holds it. */
  get url(): string {
    return this.server.origin;
  }

  addRelease(repo: string, tag: string, assets: { name: string; data: Buffer }[] = []): FakeRelease {
    const release: FakeRelease = { id: this.nextId++, tag, repo, targetCommitish: 'main', draft: false, assets: [] };
    for (const asset of assets)
      release.assets.push({
        id: this.nextId++,
        name: asset.name,
        data: asset.data,
        contentType: 'application/octet-stream',
      });
    this.releases.push(release);
    return release;
  }

  addComment(repo: string, issue: number, body: string, login = 'someone'): FakeComment {
    const comment: FakeComment = { id: this.nextId++, repo, issue, body, login };
    this.comments.push(comment);
    return comment;
  }

  /** Commits `content` as `path` on `branch` of `repo` (creating the branch), as a push would; returns the commit sha. */
  commitFile(repo: string, branch: string, path: string, content: string): string {
    const git = this.gitRepo(repo);
    const parent = git.refs.get(`heads/${branch}`);
    const tree = new Map(parent ? git.commits.get(parent)!.tree : []);
    tree.set(path, Buffer.from(content));
    const sha = this.addCommit(repo, tree, parent ? [parent] : [], `update ${path}`);
    git.refs.set(`heads/${branch}`, sha);
    return sha;
  }

  /** The text of `path` at the head of `branch`, or undefined. */
  fileAt(repo: string, branch: string, path: string): string | undefined {
    const head = this.git.get(repo)?.refs.get(`heads/${branch}`);
    return head === undefined ? undefined : this.git.get(repo)!.commits.get(head)!.tree.get(path)?.toString('utf8');
  }

  /** The files of the head commit of `branch` and its parents' count, or undefined when there is no such branch. */
  branchHead(repo: string, branch: string): { files: string[]; parents: number } | undefined {
    const git = this.git.get(repo);
    const head = git?.refs.get(`heads/${branch}`);
    if (head === undefined) return undefined;
    const commit = git!.commits.get(head)!;
    return { files: [...commit.tree.keys()], parents: commit.parents.length };
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const method = request.method ?? 'GET';
    const logged: ApiRequest = { method, path: url.pathname, status: 0 };
    this.requests.push(logged);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      logged.status = status;
      const text = body === undefined ? '' : JSON.stringify(body);
      response.writeHead(status, {
        ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        ...headers,
      });
      response.end(text);
    };
    const body = await readBody(request);

    const access = this.access(request);
    if (access === 'none') return send(401, { message: 'Bad credentials', status: '401' });
    const writing = method !== 'GET' && method !== 'HEAD';
    if (writing && access !== 'write')
      return send(403, { message: 'Resource not accessible by integration', status: '403' });

    const route = (pattern: string) => matchRoute(pattern, url.pathname);
    let params: Record<string, string> | undefined;

    if (method === 'GET' && (params = route('/downloads/:asset'))) {
      const asset = this.findAsset(Number(params.asset));
      if (!asset) return send(404, { message: 'Not Found' });
      const served = asset.served ?? asset.data;
      logged.status = 200;
      response.writeHead(200, { 'content-type': asset.contentType, 'content-length': String(served.byteLength) });
      return void response.end(served);
    }
    if (method === 'GET' && (params = route('/repos/:owner/:repo/releases/tags/:tag'))) {
      const release = this.releases.find(
        (candidate) => candidate.repo === repoOf(params!) && candidate.tag === params!.tag && !candidate.draft,
      );
      return release ? send(200, this.releaseJson(release)) : send(404, { message: 'Not Found' });
    }
    if (method === 'POST' && (params = route('/repos/:owner/:repo/releases'))) {
      const input = JSON.parse(body.toString('utf8')) as {
        tag_name?: string;
        target_commitish?: string;
        draft?: boolean;
      };
      if (!input.tag_name)
        return send(422, { message: 'Validation Failed', errors: [{ field: 'tag_name', code: 'missing_field' }] });
      if (this.releases.some((candidate) => candidate.repo === repoOf(params!) && candidate.tag === input.tag_name)) {
        return send(422, {
          message: 'Validation Failed',
          errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
        });
      }
      const release = this.addRelease(repoOf(params), input.tag_name);
      release.targetCommitish = input.target_commitish ?? 'main';
      release.draft = input.draft === true;
      return send(201, this.releaseJson(release));
    }
    if (method === 'GET' && (params = route('/repos/:owner/:repo/releases/:release/assets'))) {
      const release = this.findRelease(repoOf(params), Number(params.release));
      if (!release) return send(404, { message: 'Not Found' });
      return this.sendPage(
        url,
        release.assets.map((asset) => this.assetJson(release, asset)),
        send,
      );
    }
    if ((params = route('/repos/:owner/:repo/releases/assets/:asset'))) {
      const release = this.releases.find(
        (candidate) =>
          candidate.repo === repoOf(params!) && candidate.assets.some((asset) => asset.id === Number(params!.asset)),
      );
      const asset = release?.assets.find((candidate) => candidate.id === Number(params!.asset));
      if (!release || !asset) return send(404, { message: 'Not Found' });
      if (method === 'DELETE') {
        release.assets.splice(release.assets.indexOf(asset), 1);
        return send(204);
      }
      if (method === 'GET' && request.headers.accept === 'application/octet-stream')
        return send(302, undefined, { location: `${this.url}/downloads/${asset.id}` });
      if (method === 'GET') return send(200, this.assetJson(release, asset));
    }
    if (method === 'POST' && (params = route('/uploads/repos/:owner/:repo/releases/:release/assets'))) {
      const release = this.findRelease(repoOf(params), Number(params.release));
      if (!release) return send(404, { message: 'Not Found' });
      const name = url.searchParams.get('name') ?? '';
      if (request.headers['content-length'] === undefined) return send(411, { message: 'Length Required' });
      if (Number(request.headers['content-length']) !== body.byteLength)
        return send(400, { message: 'body length differs from Content-Length' });
      if (!/^[A-Za-z0-9._+-]+$/.test(name) || name.startsWith('.'))
        return send(422, { message: 'Validation Failed', errors: [{ field: 'name', code: 'invalid' }] });
      if (release.assets.some((asset) => asset.name === name))
        return send(422, {
          message: 'Validation Failed',
          errors: [{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }],
        });
      const asset: FakeAsset = {
        id: this.nextId++,
        name,
        data: body,
        contentType: String(request.headers['content-type'] ?? 'application/octet-stream'),
      };
      release.assets.push(asset);
      return send(201, this.assetJson(release, asset));
    }
    if (method === 'GET' && (params = route('/repos/:owner/:repo/issues/:issue/comments'))) {
      const listed = this.comments.filter(
        (comment) => comment.repo === repoOf(params!) && comment.issue === Number(params!.issue),
      );
      return this.sendPage(
        url,
        listed.map((comment) => this.commentJson(comment)),
        send,
      );
    }
    if (method === 'POST' && (params = route('/repos/:owner/:repo/issues/:issue/comments'))) {
      const input = JSON.parse(body.toString('utf8')) as { body?: string };
      if (!input.body) return send(422, { message: 'Validation Failed' });
      return send(
        201,
        this.commentJson(this.addComment(repoOf(params), Number(params.issue), input.body, 'github-actions[bot]')),
      );
    }
    if (method === 'PATCH' && (params = route('/repos/:owner/:repo/issues/comments/:comment'))) {
      const comment = this.comments.find(
        (candidate) => candidate.repo === repoOf(params!) && candidate.id === Number(params!.comment),
      );
      if (!comment) return send(404, { message: 'Not Found' });
      comment.body = (JSON.parse(body.toString('utf8')) as { body: string }).body;
      return send(200, this.commentJson(comment));
    }
    if (method === 'GET' && (params = route('/repos/:owner/:repo/actions/artifacts/:artifact/zip'))) {
      const location = this.options.artifactDownloadUrl?.(Number(params.artifact));
      return location ? send(302, undefined, { location }) : send(404, { message: 'Not Found' });
    }
    if (this.handleGit(method, url, body, send)) return;
    send(404, { message: `Not Found: ${method} ${url.pathname}` });
  }

  /** The contents and git data endpoints; false when the request is none of them. */
  private handleGit(
    method: string,
    url: URL,
    body: Buffer,
    send: (status: number, body?: unknown, headers?: Record<string, string>) => void,
  ): boolean {
    const match =
      /^\/repos\/([^/]+)\/([^/]+)\/(contents|git\/ref|git\/refs|git\/trees|git\/commits|git\/blobs)(?:\/(.+))?$/.exec(
        url.pathname,
      );
    if (!match) return false;
    const repo = `${match[1]}/${match[2]}`;
    const [kind, rest] = [match[3]!, match[4] === undefined ? undefined : decodeURIComponent(match[4])];
    const git = this.gitRepo(repo);
    const input = () => JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const notFound = () => send(404, { message: 'Not Found' });
    if (kind === 'git/ref' && method === 'GET' && rest) {
      const sha = git.refs.get(rest);
      if (sha === undefined) notFound();
      else send(200, { ref: `refs/${rest}`, object: { type: 'commit', sha } });
      return true;
    }
    if (kind === 'git/refs' && method === 'POST') {
      const { ref, sha } = input() as { ref: string; sha: string };
      const name = ref.replace(/^refs\//, '');
      if (git.refs.has(name)) send(422, { message: 'Reference already exists' });
      else if (!git.commits.has(sha)) send(422, { message: 'Object does not exist' });
      else {
        git.refs.set(name, sha);
        send(201, { ref, object: { type: 'commit', sha } });
      }
      return true;
    }
    if (kind === 'git/trees' && method === 'POST') {
      const { tree, base_tree: baseTree } = input() as {
        tree: { path: string; content: string }[];
        base_tree?: string;
      };
      const files = new Map(baseTree ? git.trees.get(baseTree) : []);
      for (const entry of tree) files.set(entry.path, Buffer.from(entry.content));
      const sha = randomBytes(20).toString('hex');
      git.trees.set(sha, files);
      send(201, { sha });
      return true;
    }
    if (kind === 'git/commits' && method === 'POST') {
      const { message, tree, parents } = input() as { message: string; tree: string; parents: string[] };
      const files = git.trees.get(tree);
      if (!files) send(422, { message: 'Tree SHA does not exist' });
      else {
        const sha = this.addCommit(repo, files, parents, message);
        send(201, { sha, html_url: `https://github.com/${repo}/commit/${sha}` });
      }
      return true;
    }
    if (kind === 'git/blobs' && method === 'GET' && rest) {
      const content = [...git.commits.values()]
        .flatMap((commit) => [...commit.tree.values()])
        .find((data) => blobSha(data) === rest);
      if (!content) notFound();
      else send(200, { sha: rest, encoding: 'base64', content: content.toString('base64'), size: content.byteLength });
      return true;
    }
    if (kind !== 'contents' || rest === undefined) return false;
    if (method === 'GET') {
      const branch = url.searchParams.get('ref') ?? 'main';
      const head = git.refs.get(`heads/${branch}`);
      const data = head === undefined ? undefined : git.commits.get(head)!.tree.get(rest);
      if (!data) {
        send(404, { message: head === undefined ? `No commit found for the ref ${branch}` : 'Not Found' });
        return true;
      }
      const large = data.byteLength > (this.options.maxContentsBytes ?? 1024 * 1024);
      send(200, {
        type: 'file',
        path: rest,
        sha: blobSha(data),
        size: data.byteLength,
        encoding: large ? 'none' : 'base64',
        content: large ? '' : data.toString('base64'),
      });
      return true;
    }
    if (method === 'PUT') {
      const { message, content, sha, branch } = input() as {
        message: string;
        content: string;
        sha?: string;
        branch?: string;
      };
      const hook = this.beforeNextContentsWrite;
      this.beforeNextContentsWrite = undefined;
      hook?.();
      const name = `heads/${branch ?? 'main'}`;
      const head = git.refs.get(name);
      if (head === undefined) {
        send(404, { message: `Branch ${branch} not found` });
        return true;
      }
      const tree = new Map(git.commits.get(head)!.tree);
      const current = tree.get(rest);
      if (current && sha === undefined) send(422, { message: 'Invalid request.\n\n"sha" wasn\'t supplied.' });
      else if (current && sha !== blobSha(current)) send(409, { message: `${rest} does not match ${sha}` });
      else if (!current && sha !== undefined) send(422, { message: `sha does not match: ${rest} does not exist` });
      else {
        tree.set(rest, Buffer.from(content, 'base64'));
        const commit = this.addCommit(repo, tree, [head], message);
        git.refs.set(name, commit);
        send(current ? 200 : 201, {
          content: { path: rest, sha: blobSha(tree.get(rest)!) },
          commit: { sha: commit, html_url: `https://github.com/${repo}/commit/${commit}` },
        });
      }
      return true;
    }
    return false;
  }

  private gitRepo(repo: string): GitRepo {
    let git = this.git.get(repo);
    if (!git) this.git.set(repo, (git = { refs: new Map(), commits: new Map(), trees: new Map() }));
    return git;
  }

  private addCommit(repo: string, tree: Map<string, Buffer>, parents: string[], message: string): string {
    const sha = randomBytes(20).toString('hex');
    this.gitRepo(repo).commits.set(sha, { tree, parents, message });
    this.gitCommits.push({ repo, sha, message });
    return sha;
  }

  private access(request: IncomingMessage): 'read' | 'write' | 'none' {
    const header = request.headers.authorization;
    if (header === undefined) return 'read';
    const token = /^(?:token|bearer) (.+)$/i.exec(header)?.[1];
    return (token !== undefined && this.options.tokens?.[token]) || 'none';
  }

  private sendPage(
    url: URL,
    items: unknown[],
    send: (status: number, body?: unknown, headers?: Record<string, string>) => void,
  ): void {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), this.options.maxPerPage ?? 100);
    const page = Number(url.searchParams.get('page') ?? 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (target: number) => {
      const next = new URL(url);
      next.searchParams.set('page', String(target));
      next.searchParams.set('per_page', String(perPage));
      return next.toString();
    };
    const links: Record<string, string> =
      page < last ? { link: `<${link(page + 1)}>; rel="next", <${link(last)}>; rel="last"` } : {};
    send(200, items.slice((page - 1) * perPage, page * perPage), links);
  }

  private findRelease(repo: string, id: number): FakeRelease | undefined {
    return this.releases.find((release) => release.repo === repo && release.id === id);
  }

  private findAsset(id: number): FakeAsset | undefined {
    return this.releases.flatMap((release) => release.assets).find((asset) => asset.id === id);
  }

  private releaseJson(release: FakeRelease): unknown {
    return {
      id: release.id,
      tag_name: release.tag,
      name: release.tag,
      draft: release.draft,
      target_commitish: release.targetCommitish,
      html_url: `https://github.com/${release.repo}/releases/tag/${release.tag}`,
      upload_url: `${this.url}/uploads/repos/${release.repo}/releases/${release.id}/assets{?name,label}`,
      assets: release.assets.map((asset) => this.assetJson(release, asset)),
    };
  }

  private assetJson(release: FakeRelease, asset: FakeAsset): unknown {
    return {
      id: asset.id,
      name: asset.name,
      size: asset.data.byteLength,
      state: 'uploaded',
      content_type: asset.contentType,
      url: `${this.url}/repos/${release.repo}/releases/assets/${asset.id}`,
      browser_download_url: `https://github.com/${release.repo}/releases/download/${release.tag}/${asset.name}`,
    };
  }

  private commentJson(comment: FakeComment): unknown {
    return {
      id: comment.id,
      body: comment.body,
      html_url: `https://github.com/${comment.repo}/issues/${comment.issue}#issuecomment-${comment.id}`,
      user: { login: comment.login, type: comment.login.endsWith('[bot]') ? 'Bot' : 'User' },
    };
  }
}

function matchRoute(pattern: string, path: string): Record<string, string> | undefined {
  const names: string[] = [];
  const source = pattern.replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  const match = new RegExp(`^${source}$`).exec(path);
  return match
    ? Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)]))
    : undefined;
}

/** Git's id of a blob: the sha1 of its header and bytes. */
function blobSha(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.byteLength}\0`).update(data).digest('hex');
}

function repoOf(params: Record<string, string>): string {
  return `${params.owner}/${params.repo}`;
}
