// Release assets: the published files uploaded to the release of a tag, and read back. When the
// tag has no release yet, a published (not draft) release is created for it, pointing at the
// commit that was built: GitHub does not find draft releases by tag, so a re-run would create a
// second one. An asset with the name of a file being uploaded is deleted first, so re-runs
// replace their files. Releases have no folders: each file goes up under its base name, and
// names GitHub would rename (spaces, leading dots, …) are refused before anything is sent.
// Uploads stream each file from disk; downloads stream each asset.

import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { QuantgateError, describeError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import { callGitHub, gitHubFailure, isNotFound, type GitHubClient, type RepoRef } from './github.js';
import { silentLogger, type PublishLogger } from './logger.js';

export interface ReleaseRef extends RepoRef {
  tag: string;
}

export interface ReleaseAsset {
  id: number;
  name: string;
  size: number;
}

export interface Release {
  id: number;
  tag: string;
  htmlUrl: string;
  uploadUrl: string;
}

export interface ReleaseUpload {
  release: Release;
  assets: ReleaseAsset[];
}

const WRITE_PERMISSION = 'contents: write';
const READ_PERMISSION = 'contents: read';

/** Asset names GitHub keeps as they are. */
const SAFE_ASSET_NAME = /^[A-Za-z0-9_+-](?:[A-Za-z0-9._+-]*[A-Za-z0-9_+-])?$/;

export async function uploadReleaseAssets(options: {
  client: GitHubClient;
  release: ReleaseRef;
  files: readonly string[];
  /** The commit a release created here is tagged at (the action passes GITHUB_SHA); default: the default branch. */
  targetCommitish?: string;
  logger?: PublishLogger;
  progress?: Progress;
}): Promise<ReleaseUpload> {
  const { client, release: ref } = options;
  const logger = options.logger ?? silentLogger;
  const files = await checkUploads(options.files);
  const release =
    (await findRelease(client, ref)) ?? (await createRelease(client, ref, options.targetCommitish, logger));

  const existing = await listAssets(client, ref, release);
  for (const file of files) {
    const old = existing.find((asset) => asset.name === file.name);
    if (old === undefined) continue;
    logger.info(`replacing asset ${old.name} of release ${describe(ref)}`);
    await callGitHub(
      () => client.rest.repos.deleteReleaseAsset({ owner: ref.owner, repo: ref.repo, asset_id: old.id }),
      { doing: `deleting the old asset ${old.name} of release ${describe(ref)}`, permission: WRITE_PERMISSION },
    );
  }

  const task = (options.progress ?? silentProgress).task(`uploading to release ${ref.tag}`, {
    total: files.reduce((sum, file) => sum + file.size, 0),
    unit: 'bytes',
  });
  const assets: ReleaseAsset[] = [];
  for (const file of files) {
    const { data } = await callGitHub(
      async () =>
        client.rest.repos.uploadReleaseAsset({
          owner: ref.owner,
          repo: ref.repo,
          release_id: release.id,
          name: file.name,
          url: release.uploadUrl,
          headers: { 'content-type': 'application/octet-stream' },
          // The typings say string, but Octokit hands any body to fetch; a file-backed Blob streams
          // from disk and gives fetch the Content-Length that uploads require.
          data: (await openAsBlob(file.path)) as unknown as string,
        }),
      { doing: `uploading ${file.name} to release ${describe(ref)}`, permission: WRITE_PERMISSION },
    );
    if (data.size !== file.size) {
      throw new QuantgateError(
        `uploading ${file.name} to release ${describe(ref)} stored ${data.size} of its ${file.size} bytes; run the upload again`,
      );
    }
    assets.push({ id: data.id, name: data.name, size: data.size });
    task.advance(file.size);
  }
  task.finish();
  logger.info(`uploaded ${assets.length} files to ${release.htmlUrl}`);
  return { release, assets };
}

/** The release of `ref.tag`; a QuantgateError when there is none. */
export async function getRelease(client: GitHubClient, ref: ReleaseRef): Promise<Release> {
  const release = await findRelease(client, ref);
  if (release === undefined) {
    throw new QuantgateError(
      `${ref.owner}/${ref.repo} has no release with tag ${ref.tag}; check the tag and the repository, or publish the release first`,
    );
  }
  return release;
}

/** Every asset of `release`, all pages. */
export async function listAssets(client: GitHubClient, ref: ReleaseRef, release: Release): Promise<ReleaseAsset[]> {
  const assets = await callGitHub(
    () =>
      client.paginate(client.rest.repos.listReleaseAssets, {
        owner: ref.owner,
        repo: ref.repo,
        release_id: release.id,
        per_page: 100,
      }),
    { doing: `listing the assets of release ${describe(ref)}`, permission: READ_PERMISSION },
  );
  return assets.map((asset) => ({ id: asset.id, name: asset.name, size: asset.size }));
}

/** The bytes of `asset`, streamed (GitHub redirects the request to its storage). */
export async function readAsset(
  client: GitHubClient,
  ref: ReleaseRef,
  asset: ReleaseAsset,
): Promise<AsyncIterable<Uint8Array>> {
  const response = await callGitHub(
    () =>
      client.rest.repos.getReleaseAsset({
        owner: ref.owner,
        repo: ref.repo,
        asset_id: asset.id,
        headers: { accept: 'application/octet-stream' },
        request: { parseSuccessResponseBody: false },
      }),
    {
      doing: `downloading ${asset.name} from release ${describe(ref)}`,
      permission: READ_PERMISSION,
      notFound: `the asset ${asset.name} was deleted meanwhile; run again`,
    },
  );
  // With parseSuccessResponseBody off, Octokit hands over fetch's body stream instead of parsed JSON.
  return response.data as unknown as AsyncIterable<Uint8Array>;
}

/** The release of `ref.tag`, or undefined when the tag has none (drafts are not found by tag). */
async function findRelease(client: GitHubClient, ref: ReleaseRef): Promise<Release | undefined> {
  try {
    const { data } = await client.rest.repos.getReleaseByTag({ owner: ref.owner, repo: ref.repo, tag: ref.tag });
    return { id: data.id, tag: data.tag_name, htmlUrl: data.html_url, uploadUrl: data.upload_url };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw gitHubFailure(error, { doing: `looking up release ${describe(ref)}`, permission: READ_PERMISSION });
  }
}

/** Creates the release of `ref.tag`; when another job of the run just created it, uses that one. */
async function createRelease(
  client: GitHubClient,
  ref: ReleaseRef,
  targetCommitish: string | undefined,
  logger: PublishLogger,
): Promise<Release> {
  let data;
  try {
    ({ data } = await client.rest.repos.createRelease({
      owner: ref.owner,
      repo: ref.repo,
      tag_name: ref.tag,
      name: ref.tag,
      ...(targetCommitish ? { target_commitish: targetCommitish } : {}),
    }));
  } catch (error) {
    if ((error as { status?: unknown }).status !== 422)
      throw gitHubFailure(error, { doing: `creating release ${describe(ref)}`, permission: WRITE_PERMISSION });
    // The tag has a release after all: one another job of the run made meanwhile, or a draft (lookups by tag skip drafts).
    const madeMeanwhile = await findRelease(client, ref);
    if (madeMeanwhile) return madeMeanwhile;
    throw new QuantgateError(
      `creating release ${describe(ref)} failed: GitHub refused it (${describeError(error).split('\n')[0]}); if a draft release holds the tag, publish or delete it, else check the tag name`,
      { cause: error },
    );
  }
  logger.info(`created release ${ref.tag}: ${data.html_url}`);
  return { id: data.id, tag: data.tag_name, htmlUrl: data.html_url, uploadUrl: data.upload_url };
}

interface UploadFile {
  path: string;
  name: string;
  size: number;
}

async function checkUploads(paths: readonly string[]): Promise<UploadFile[]> {
  if (paths.length === 0)
    throw new QuantgateError('no files to upload to the release; the run produced no output to publish');
  const files: UploadFile[] = [];
  for (const path of paths) {
    const name = basename(path);
    if (!SAFE_ASSET_NAME.test(name)) {
      throw new QuantgateError(
        `${path} cannot be a release asset: GitHub would rename "${name}"; use only letters, digits and . _ + - (no leading or trailing dot)`,
      );
    }
    const twin = files.find((file) => file.name === name);
    if (twin)
      throw new QuantgateError(
        `${twin.path} and ${path} would both be release asset ${name} (releases have no folders); give them different file names`,
      );
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile())
      throw new QuantgateError(
        `${path} is ${info ? 'not a file' : 'missing'}, so it cannot be uploaded to the release; run the stage that writes it first`,
      );
    files.push({ path, name, size: info.size });
  }
  return files;
}

function describe(ref: ReleaseRef): string {
  return `${ref.tag} of ${ref.owner}/${ref.repo}`;
}
