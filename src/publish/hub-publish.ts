// Publishes a quantized output to a Hugging Face Hub model repo, where browser runtimes load it
// from: the shards (or the single file), the manifest, eval_results.{json,txt} and a generated
// README.md model card, in one commit through @huggingface/hub's commit API (large files through
// the LFS batch API, as the library does it). A commit is atomic on the Hub: when an upload fails
// nothing is committed and the repo stays as it was. Files that are already there, byte for byte,
// are not committed again; when all are, publishing is skipped with a message. `dryRun` writes the
// exact files it would upload into `<out-dir>/hub-upload/` and contacts nobody.

import { commit, createRepo, listFiles, type CommitOperation } from '@huggingface/hub';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../common/atomic.js';
import { QuantgateError, describeError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import { checkRepoId } from '../hub/cache-layout.js';
import { openGgufModel } from '../formats/gguf/open.js';
import { proxiedFetch } from '../net/fetch.js';
import { readManifest, type Manifest } from '../formats/gguf/manifest.js';
import { isManifestPath } from '../formats/gguf/output-layout.js';
import { readEvalResults, RESULTS_JSON_NAME } from '../report/results-files.js';
import type { ScoredComparison } from '../scoring/types.js';
import { TOOL_VERSION } from '../version.js';
import { renderModelCard } from './model-card.js';
import { sourceLicense } from './source-license.js';

export const HUB_UPLOAD_FOLDER = 'hub-upload';
const RESULTS_TEXT = 'eval_results.txt';
const CARD = 'README.md';
const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubPublishOptions {
  /** The output folder of `quantize` or `run`. */
  outDir: string;
  /** The target model repo, `org/name`; created when it does not exist. */
  repo: string;
  /** The branch to commit to (default main). */
  revision?: string;
  /** Open a pull request instead of committing to the branch. */
  createPr?: boolean;
  hubUrl?: string;
  token?: string;
  dryRun?: boolean;
  /** The license for the card; by default the source model card's (read locally, or from the Hub unless a dry run). */
  license?: string;
  provenance?: { runUrl?: string; command?: string };
  progress?: Progress;
  signal?: AbortSignal;
  /** Where the proxy variables are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export interface HubPublishResult {
  /** The repo paths published (or, in a dry run, written), card included. */
  files: string[];
  /** The commit made; absent for a dry run or when nothing changed. */
  commit?: { oid: string; url: string };
  pullRequestUrl?: string;
  /** Set when every file was already on the Hub as it is here. */
  unchanged?: boolean;
  /** The folder a dry run wrote. */
  dryRunDir?: string;
}

interface UploadFile {
  /** Path in the repo. */
  path: string;
  /** The file on disk, or the generated content. */
  source: { file: string } | { text: string };
  sha256?: string;
}

/** `repo` when it names a Hub model repo with its owner; `label` names where it came from, for the error. */
export function checkHubRepo(repo: string, label: string): string {
  if (!repo.includes('/'))
    throw new QuantgateError(`${label} "${repo}" names no owner; give it as <org or user>/<name>`);
  try {
    return checkRepoId(repo);
  } catch (error) {
    throw new QuantgateError(`${label}: ${describeError(error)}`, { cause: error });
  }
}

export async function publishToHub(options: HubPublishOptions): Promise<HubPublishResult> {
  const progress = options.progress ?? silentProgress;
  const files = await uploadSet(options);
  if (options.dryRun) {
    const dir = join(options.outDir, HUB_UPLOAD_FOLDER);
    await rm(dir, { recursive: true, force: true });
    for (const file of files) {
      const target = join(dir, ...file.path.split('/'));
      await mkdir(join(target, '..'), { recursive: true });
      if ('file' in file.source) await copyFile(file.source.file, target);
      else await writeFileAtomic(target, file.source.text);
    }
    progress.info(`dry run: the ${files.length} files a publish to ${options.repo} would upload are in ${dir}`);
    return { files: files.map((file) => file.path), dryRunDir: dir };
  }

  // Every request, uploads to the LFS storage included, goes through the project's proxied fetch.
  const fetch: typeof globalThis.fetch = (input, init) =>
    proxiedFetch(input instanceof Request ? input.url : String(input), init, options.env);
  const hub = { hubUrl: (options.hubUrl ?? DEFAULT_HUB_URL).replace(/\/$/, ''), accessToken: options.token, fetch };
  const repo = { type: 'model' as const, name: options.repo };
  const branch = options.revision ?? 'main';
  const remote = await remoteFiles(hub, repo, branch, options.repo);
  const changed: UploadFile[] = [];
  for (const file of files) if (!(await sameAsRemote(file, remote.get(file.path)))) changed.push(file);
  // The card is regenerated every time; it changes nothing on its own.
  if (changed.every((file) => file.path === CARD) && remote.has(CARD)) {
    progress.info(`${options.repo}@${branch} already holds these files byte for byte; nothing published`);
    return { files: files.map((file) => file.path), unchanged: true };
  }
  const operations: CommitOperation[] = files.map((file) => ({
    operation: 'addOrUpdate',
    path: file.path,
    content: 'file' in file.source ? pathToFileURL(file.source.file) : new Blob([file.source.text]),
  }));
  progress.info(
    `publishing ${files.length} files to ${options.repo}${options.createPr ? ' as a pull request' : `@${branch}`}`,
  );
  try {
    const output = await commit({
      ...hub,
      repo,
      branch,
      isPullRequest: options.createPr ?? false,
      useXet: false,
      title: `quantgate ${TOOL_VERSION}: ${files.filter((file) => file.path !== CARD).length} files`,
      operations,
      ...(options.signal && { abortSignal: options.signal }),
    });
    return {
      files: files.map((file) => file.path),
      ...(output && { commit: output.commit }),
      ...(output?.pullRequestUrl && { pullRequestUrl: output.pullRequestUrl }),
    };
  } catch (error) {
    throw hubError(error, options.repo, 'upload to');
  }
}

/** The files to publish: the output's files and manifest, the results when present, and the card. */
async function uploadSet(options: HubPublishOptions): Promise<UploadFile[]> {
  const { manifest, manifestPath, manifestName } = await findManifest(options.outDir);
  const comparison = await optionalResults(options.outDir);
  const license =
    options.license ??
    (await sourceLicense(manifest.source, {
      hubUrl: options.hubUrl ?? DEFAULT_HUB_URL,
      ...(options.token && { token: options.token }),
      ...(options.env && { env: options.env }),
      offline: options.dryRun === true,
    }));
  const files: UploadFile[] = manifest.files.map((file) => ({
    path: file.path,
    source: { file: join(options.outDir, ...file.path.split('/')) },
    sha256: file.sha256,
  }));
  files.push({ path: manifestName, source: { file: manifestPath } });
  if (comparison) {
    files.push({ path: RESULTS_JSON_NAME, source: { file: join(options.outDir, RESULTS_JSON_NAME) } });
    const text = join(options.outDir, RESULTS_TEXT);
    if (await exists(text)) files.push({ path: RESULTS_TEXT, source: { file: text } });
  }
  const card = renderModelCard({
    repoId: options.repo,
    ...(options.hubUrl && { hubUrl: options.hubUrl }),
    manifest,
    ...(comparison && { comparison }),
    ...(license && { license }),
    tensorTypes: await tensorTypes(options.outDir, manifest),
    quantgateVersion: TOOL_VERSION,
    ...(options.provenance && { provenance: options.provenance }),
  });
  files.push({ path: CARD, source: { text: card } });
  return files;
}

async function findManifest(
  outDir: string,
): Promise<{ manifest: Manifest; manifestPath: string; manifestName: string }> {
  let names: string[];
  try {
    names = (await readdir(outDir)).filter(isManifestPath);
  } catch (error) {
    throw new QuantgateError(
      `cannot read the output folder ${outDir} (${describeError(error)}); give the --out-dir of a quantize or run`,
      { cause: error },
    );
  }
  if (names.length !== 1) {
    throw new QuantgateError(
      names.length === 0
        ? `${outDir} holds no quantized output (no .manifest.json); quantize into it first, or give the folder that holds one`
        : `${outDir} holds ${names.length} quantized outputs (${names.join(', ')}); publish one output folder at a time`,
    );
  }
  const manifestPath = join(outDir, names[0]!);
  return { manifest: await readManifest(manifestPath), manifestPath, manifestName: names[0]! };
}

async function optionalResults(outDir: string): Promise<ScoredComparison | undefined> {
  const path = join(outDir, RESULTS_JSON_NAME);
  return (await exists(path)) ? readEvalResults(path) : undefined;
}

/** Tensors and bytes per GGUF type, read from the output's header. */
async function tensorTypes(
  outDir: string,
  manifest: Manifest,
): Promise<{ type: string; tensors: number; bytes: number }[]> {
  const single = manifest.files.find(
    (file) => file.path.endsWith('.gguf') && !/-\d{5}-of-\d{5}\.gguf$/.test(file.path),
  );
  const path =
    manifest.format === 'single' || single
      ? join(outDir, ...(single ?? manifest.files[0]!).path.split('/'))
      : join(outDir, ...manifest.files[0]!.path.split('/').slice(0, -1));
  const gguf = await openGgufModel(path);
  try {
    const totals = new Map<string, { tensors: number; bytes: number }>();
    for (const tensor of gguf.tensors) {
      const entry = totals.get(tensor.type) ?? { tensors: 0, bytes: 0 };
      entry.tensors++;
      entry.bytes += tensor.size;
      totals.set(tensor.type, entry);
    }
    return [...totals].map(([type, entry]) => ({ type, ...entry })).sort((a, b) => b.bytes - a.bytes);
  } finally {
    await gguf.close();
  }
}

/** A file on the Hub: its git blob id, and the sha256 of its content when it is stored with LFS. */
interface RemoteFile {
  gitOid?: string;
  sha256?: string;
}

/** The repo's files at `branch`; an absent repo is created, an absent branch is empty. */
async function remoteFiles(
  hub: { hubUrl: string; accessToken: string | undefined; fetch: typeof fetch },
  repo: { type: 'model'; name: string },
  branch: string,
  label: string,
): Promise<Map<string, RemoteFile>> {
  const files = new Map<string, RemoteFile>();
  try {
    for await (const entry of listFiles({ ...hub, repo, revision: branch, recursive: true })) {
      if (entry.type !== 'file') continue;
      const sha256 = entry.lfs?.oid;
      files.set(entry.path, sha256 ? { gitOid: entry.oid, sha256 } : { gitOid: entry.oid });
    }
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404) throw hubError(error, label, 'read');
    const missingRepo = /repository not found|RepoNotFound/i.test(describeError(error));
    if (missingRepo) {
      try {
        if (!hub.accessToken) throw Object.assign(new Error('no token'), { statusCode: 401 });
        await createRepo({ ...hub, accessToken: hub.accessToken, repo });
      } catch (creation) {
        throw hubError(creation, label, 'create');
      }
    }
  }
  return files;
}

/** Whether `file` is on the Hub as it is here: by sha256 for an LFS file, by git blob id otherwise. */
async function sameAsRemote(file: UploadFile, remote: RemoteFile | undefined): Promise<boolean> {
  if (!remote || !('file' in file.source)) return false;
  if (remote.sha256 && file.sha256) return file.sha256 === remote.sha256;
  // The manifest, the results: small files, read whole.
  const bytes = await readFile(file.source.file);
  if (remote.sha256) return createHash('sha256').update(bytes).digest('hex') === remote.sha256;
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex') === remote.gitOid;
}

function hubError(error: unknown, repo: string, action: 'upload to' | 'read' | 'create'): QuantgateError {
  if (error instanceof QuantgateError) return error;
  const status = (error as { statusCode?: number }).statusCode;
  if (status === 401 || status === 403) {
    return new QuantgateError(
      `the Hub refused to let this token ${action === 'read' ? 'read' : 'write to'} ${repo} (HTTP ${status}); pass --hf-token (input hf-token) with a token that has write access to ${repo.split('/')[0]}`,
      { cause: error },
    );
  }
  return new QuantgateError(
    `could not ${action} ${repo} on the Hub (${describeError(error).split('\n')[0]}); nothing was committed, so the repo is as it was: run again`,
    { cause: error },
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
