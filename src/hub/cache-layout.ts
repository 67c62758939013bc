// Where the Hugging Face cache lives and how one repo is laid out in it. This is the layout of
// huggingface_hub (Python) and huggingface.js, so all of them share one cache:
//   <cache>/models--org--name/blobs/<LFS sha256, or git blob sha1 for small files>
//   <cache>/models--org--name/snapshots/<commit>/<path>  relative symlink to ../../blobs/<name>
//   <cache>/models--org--name/refs/<branch or tag>        the commit sha it pointed to
//   <cache>/models--org--name/blobs/<name>.incomplete     a download in progress
// quantgate's own bookkeeping (verified blobs, each commit's file list) sits in .quantgate/, a
// folder the other tools ignore.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { QuantgateError } from '../common/errors.js';
import { joinInside } from './repo-path.js';

export type RepoType = 'model' | 'dataset';

export interface RepoRef {
  type: RepoType;
  /** `org/name` (or a bare legacy `name`). */
  id: string;
}

const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMMIT_SHA = /^[0-9a-f]{40}$/;
const BLOB_NAME = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Checks a repo id as the Hub spells them; `--` and `..` are refused because they would make folder names ambiguous. */
export function checkRepoId(id: string): string {
  if (!REPO_ID.test(id) || id.includes('--') || id.includes('..')) {
    throw new QuantgateError(
      `repo id "${id}" is not valid; expected <org>/<name> made of letters, digits, "-", "_" and "." (e.g. kyutai/stt-1b-en_fr)`,
    );
  }
  return id;
}

export function isCommitSha(revision: string): boolean {
  return COMMIT_SHA.test(revision);
}

/** True for the names the Hub gives blobs: a 64-hex sha256 (LFS) or a 40-hex git blob sha1. */
export function isBlobName(name: string): boolean {
  return BLOB_NAME.test(name);
}

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`, as huggingface_hub resolves it. */
export function hfHome(env: NodeJS.ProcessEnv): string {
  return env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
}

/** `$HF_HUB_CACHE` (or its legacy name `$HUGGINGFACE_HUB_CACHE`), else `<HF_HOME>/hub`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  return env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome(env), 'hub');
}

/** The paths of one repo inside a Hugging Face cache, and the few writes that keep the layout consistent. */
export class RepoCache {
  /** `<cache>/models--org--name`: everything this repo has in the cache, and nothing else. */
  readonly dir: string;

  constructor(
    readonly cacheDir: string,
    readonly repo: RepoRef,
  ) {
    this.dir = join(resolve(cacheDir), [`${repo.type}s`, ...checkRepoId(repo.id).split('/')].join('--'));
  }

  blobPath(blobName: string): string {
    if (!isBlobName(blobName))
      throw new QuantgateError(
        `blob name "${blobName}" is not a sha256 or git sha1; the Hub listing or the cache is damaged — run again`,
      );
    return join(this.dir, 'blobs', blobName);
  }

  incompletePath(blobName: string): string {
    return `${this.blobPath(blobName)}.incomplete`;
  }

  snapshotDir(commit: string): string {
    if (!isCommitSha(commit)) throw new QuantgateError(`"${commit}" is not a 40-hex commit sha`);
    return join(this.dir, 'snapshots', commit);
  }

  snapshotFile(commit: string, path: string): string {
    return joinInside(this.snapshotDir(commit), path, 'repo file');
  }

  /** The commit a branch or tag pointed to when it was last resolved online, if recorded. */
  async readRef(revision: string): Promise<string | undefined> {
    const text = await readFile(joinInside(join(this.dir, 'refs'), revision, 'revision'), 'utf8').catch(
      () => undefined,
    );
    const commit = text?.trim();
    return commit && isCommitSha(commit) ? commit : undefined;
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    if ((await this.readRef(revision)) === commit) return;
    await writeFileAtomic(joinInside(join(this.dir, 'refs'), revision, 'revision'), commit);
  }

  /** The blob a snapshot file links to, or undefined when the link is missing or points elsewhere than blobs/. */
  async linkedBlob(commit: string, path: string): Promise<string | undefined> {
    const link = this.snapshotFile(commit, path);
    const target = await readlink(link).catch(() => undefined);
    if (target === undefined) return undefined;
    const name = basename(target);
    return isBlobName(name) && resolve(dirname(link), target) === this.blobPath(name) ? name : undefined;
  }

  /** Points `snapshots/<commit>/<path>` at the blob with a relative symlink, replacing any other link atomically. */
  async link(commit: string, path: string, blobName: string): Promise<void> {
    if ((await this.linkedBlob(commit, path)) === blobName) return;
    const link = this.snapshotFile(commit, path);
    await mkdir(dirname(link), { recursive: true });
    const temp = `${link}.link-${randomBytes(4).toString('hex')}`;
    await symlink(relative(dirname(link), this.blobPath(blobName)), temp);
    try {
      await rename(temp, link);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** quantgate's record that a blob was hashed and found intact (see integrity.ts). */
  verifiedMarkerPath(blobName: string): string {
    return join(this.dir, '.quantgate', 'verified', basename(this.blobPath(blobName)));
  }

  /** quantgate's copy of a commit's full file listing, so offline runs know what the commit holds. */
  listingPath(commit: string): string {
    return join(this.dir, '.quantgate', 'listings', `${basename(this.snapshotDir(commit))}.json`);
  }
}
