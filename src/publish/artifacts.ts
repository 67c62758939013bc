// Workflow artifacts through @actions/artifact: the run's results (quantized files, manifest,
// eval_results.*) uploaded as one artifact; the artifacts of this run whose names share a prefix
// downloaded into folders (the merge mode, inside a job); and one artifact of any run downloaded
// through the REST API (the download mode and the CLI). Failures of the service become one-line
// errors; names the service would refuse are refused before anything is sent.

import { DefaultArtifactClient } from '@actions/artifact';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { writeDirAtomic } from '../common/atomic.js';
import { QuantgateError, describeError } from '../common/errors.js';
import { formatBytes } from '../common/format.js';
import type { RepoRef } from './github.js';
import { silentLogger, type PublishLogger } from './logger.js';

/** Characters GitHub refuses in the paths of artifact files (they break downloads on some file systems)… */
const FORBIDDEN_PATH_CHARACTERS = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n'];
/** …and in artifact names. */
const FORBIDDEN_NAME_CHARACTERS = [...FORBIDDEN_PATH_CHARACTERS, '\\', '/'];

const MAX_RETENTION_DAYS = 90;

export interface ResultsArtifactRequest {
  name: string;
  /** The files to upload; each lies under `rootDir`, and keeps its path relative to it. */
  files: readonly string[];
  rootDir: string;
  /** 1–90; default: the repository's setting. */
  retentionDays?: number;
  logger?: PublishLogger;
}

export interface UploadedArtifact {
  id: number;
  /** Bytes uploaded (the zip). */
  size: number;
  /** The artifact's page, when the run's GITHUB_REPOSITORY and GITHUB_RUN_ID are known. */
  url?: string;
}

export interface DownloadedArtifact {
  name: string;
  id: number;
  /** The folder holding its files. */
  dir: string;
}

/** Throws the error GitHub would give later, now, for a name it refuses. */
export function checkArtifactName(name: string): void {
  const bad = FORBIDDEN_NAME_CHARACTERS.find((character) => name.includes(character));
  const problem =
    bad !== undefined ? `contains ${JSON.stringify(bad)}` : /^[\s.]*$/.test(name) ? 'is empty or only dots' : undefined;
  if (problem !== undefined) {
    throw new QuantgateError(
      `artifact name ${JSON.stringify(name)} ${problem}; choose a name that has other characters and none of ${FORBIDDEN_NAME_CHARACTERS.map((character) => JSON.stringify(character)).join(' ')}`,
    );
  }
}

export async function uploadResultsArtifact(request: ResultsArtifactRequest): Promise<UploadedArtifact> {
  const { name, rootDir } = request;
  const logger = request.logger ?? silentLogger;
  checkArtifactName(name);
  checkRetention(request.retentionDays);
  await checkFiles(request.files, rootDir);
  requireJobRuntime(`uploading artifact ${name}`);
  let response;
  try {
    response = await new DefaultArtifactClient().uploadArtifact(
      name,
      [...request.files],
      rootDir,
      request.retentionDays === undefined ? {} : { retentionDays: request.retentionDays },
    );
  } catch (error) {
    throw serviceFailure(`uploading artifact ${name}`, error);
  }
  if (response.id === undefined)
    throw new QuantgateError(
      `uploading artifact ${name} failed: the results service returned no artifact id; re-run the job`,
    );
  const url = artifactUrl(response.id);
  const uploaded = { id: response.id, size: response.size ?? 0, ...(url === undefined ? {} : { url }) };
  logger.info(`uploaded artifact ${name} (${formatBytes(uploaded.size)})${url ? `: ${url}` : ''}`);
  return uploaded;
}

/**
 * Downloads every artifact of this run whose name starts with `prefix` into `<dir>/<name>/`, each
 * folder appearing only once complete. Runs inside a job (it uses the job's runtime token).
 */
export async function downloadRunArtifacts(options: {
  prefix: string;
  dir: string;
  logger?: PublishLogger;
}): Promise<DownloadedArtifact[]> {
  const { prefix, dir } = options;
  const logger = options.logger ?? silentLogger;
  requireJobRuntime(`downloading the artifacts ${prefix}*`);
  const client = new DefaultArtifactClient();
  let listed;
  try {
    listed = (await client.listArtifacts({ latest: true })).artifacts;
  } catch (error) {
    throw serviceFailure('listing the artifacts of this run', error);
  }
  const matching = listed
    .filter((artifact) => artifact.name.startsWith(prefix))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (matching.length === 0) {
    throw new QuantgateError(
      `this run has no artifact whose name starts with "${prefix}" (it has ${listed.length === 0 ? 'none' : listed.map((artifact) => artifact.name).join(', ')}); run the merge job after the jobs that upload them (needs:) and check the artifact name`,
    );
  }
  const downloaded: DownloadedArtifact[] = [];
  for (const artifact of matching) {
    checkArtifactName(artifact.name);
    const target = join(dir, artifact.name);
    await writeDirAtomic(target, async (tempDir) => {
      let result;
      try {
        result = await client.downloadArtifact(artifact.id, {
          path: tempDir,
          ...(artifact.digest ? { expectedHash: artifact.digest } : {}),
        });
      } catch (error) {
        throw serviceFailure(`downloading artifact ${artifact.name}`, error);
      }
      if (result.digestMismatch) {
        throw new QuantgateError(
          `artifact ${artifact.name} arrived corrupted (its sha256 differs from the one recorded at upload); re-run the job to download it again`,
        );
      }
    });
    logger.info(`downloaded artifact ${artifact.name} (${formatBytes(artifact.size)}) into ${target}`);
    downloaded.push({ name: artifact.name, id: artifact.id, dir: target });
  }
  return downloaded;
}

/** Downloads artifact `artifactId` of run `runId` in `repo` through the REST API and unpacks it into `dir`. */
export async function downloadArtifactFromRun(options: {
  repo: RepoRef;
  runId: number;
  artifactId: number;
  token: string;
  dir: string;
}): Promise<void> {
  const { repo, runId, artifactId } = options;
  const doing = `downloading artifact ${artifactId} of run ${runId} in ${repo.owner}/${repo.repo}`;
  try {
    await new DefaultArtifactClient().downloadArtifact(artifactId, {
      path: options.dir,
      findBy: { token: options.token, workflowRunId: runId, repositoryOwner: repo.owner, repositoryName: repo.repo },
    });
  } catch (error) {
    const reason = firstLine(error);
    const fix = /\b404\b|Not Found/i.test(reason)
      ? 'check --repo, --run-id and --artifact-id (artifacts expire after their retention period)'
      : /\b40[13]\b|credentials|not accessible/i.test(reason)
        ? "pass a token that can read the repository's actions (actions: read) with --token or GITHUB_TOKEN"
        : 'check the network and run again';
    throw new QuantgateError(`${doing} failed (${reason}); ${fix}`, { cause: error });
  }
}

function checkRetention(days: number | undefined): void {
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)) {
    throw new QuantgateError(
      `artifact retention of ${days} days is not a whole number from 1 to ${MAX_RETENTION_DAYS}; choose one in that range`,
    );
  }
}

async function checkFiles(files: readonly string[], rootDir: string): Promise<void> {
  if (files.length === 0)
    throw new QuantgateError('no files to upload as an artifact; the run produced no output to publish');
  for (const file of files) {
    const path = relative(resolve(rootDir), resolve(file));
    if (path === '' || isAbsolute(path) || path.startsWith('..')) {
      throw new QuantgateError(
        `${file} is not inside the artifact's root folder ${rootDir}; upload files from under that folder`,
      );
    }
    const bad = FORBIDDEN_PATH_CHARACTERS.find((character) => path.includes(character));
    if (bad !== undefined)
      throw new QuantgateError(
        `${path} contains ${JSON.stringify(bad)}, which GitHub refuses in artifact files; rename it`,
      );
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile())
      throw new QuantgateError(
        `${file} is ${info ? 'not a file' : 'missing'}, so it cannot be uploaded as an artifact; run the stage that writes it first`,
      );
  }
}

/** Artifacts of the current run can be reached only with the job's runtime credentials. */
function requireJobRuntime(doing: string): void {
  const missing = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL'].filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new QuantgateError(
      `${doing} needs a GitHub Actions job (${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} unset); run it in a workflow step, or turn artifact upload off`,
    );
  }
}

function artifactUrl(id: number): string | undefined {
  const {
    GITHUB_SERVER_URL: server = 'https://github.com',
    GITHUB_REPOSITORY: repo,
    GITHUB_RUN_ID: runId,
  } = process.env;
  return repo && runId ? `${server.replace(/\/+$/, '')}/${repo}/actions/runs/${runId}/artifacts/${id}` : undefined;
}

function serviceFailure(doing: string, error: unknown): QuantgateError {
  const reason = firstLine(error);
  const fix = /storage quota/i.test(reason)
    ? 'delete old artifacts or raise the storage limit in the billing settings'
    : /already exists/i.test(reason)
      ? 'give each job of the run its own artifact name'
      : 're-run the job, and check githubstatus.com if it keeps failing';
  return new QuantgateError(`${doing} failed: the Actions results service answered "${reason}"; ${fix}`, {
    cause: error,
  });
}

function firstLine(error: unknown): string {
  return describeError(error).split('\n')[0]!.trim();
}
