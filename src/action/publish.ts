// Where the action puts what a run made: the workflow artifact, the release of a tag, the Hugging
// Face Hub model repo, and the pull-request comment, each as its inputs ask, each saying in the log what it did. The outcome
// feeds the outputs and the links of the job summary.

import * as core from '@actions/core';
import { QuantgateError } from '../common/errors.js';
import { DEFAULT_HUB_URL, normalizeHubUrl } from '../hub/hub-api.js';
import { findToken, redactError } from '../hub/token.js';
import { publishToHub } from '../publish/hub-publish.js';
import type { Progress } from '../common/progress.js';
import { uploadResultsArtifact, type UploadedArtifact } from '../publish/artifacts.js';
import { createGitHubClient, parseRepo, workflowRunUrl, type GitHubClient, type RepoRef } from '../publish/github.js';
import { publishPullRequestComment, type CommentResult } from '../publish/pr-comment.js';
import { uploadReleaseAssets } from '../publish/release.js';
import type { ActionInputs } from './inputs.js';
import { publishLogger } from './log.js';
import type { Outputs } from './outputs.js';

export interface Publication {
  artifact?: UploadedArtifact;
  releaseUrl?: string;
  /** The Hub commit or pull request made, or the repo when it already held these files. */
  hubUrl?: string;
  comment?: CommentResult;
}

export async function uploadArtifact(
  inputs: ActionInputs,
  request: { name: string; files: readonly string[]; rootDir: string },
): Promise<UploadedArtifact> {
  return uploadResultsArtifact({
    ...request,
    ...(inputs.retentionDays === undefined ? {} : { retentionDays: inputs.retentionDays }),
    logger: publishLogger,
  });
}

export async function uploadToRelease(
  inputs: ActionInputs,
  tag: string,
  files: readonly string[],
  env: NodeJS.ProcessEnv,
  progress: Progress,
): Promise<string> {
  const upload = await uploadReleaseAssets({
    client: gitHubClient(inputs, env),
    release: { ...repositoryOf(inputs, env), tag },
    files,
    ...(env.GITHUB_SHA ? { targetCommitish: env.GITHUB_SHA } : {}),
    logger: publishLogger,
    progress,
  });
  return upload.release.htmlUrl;
}

/** Publishes the run's output folder to the Hub model repo `repo` in one commit; the web address of what it made. */
export async function publishToHubRepo(
  inputs: ActionInputs,
  repo: string,
  env: NodeJS.ProcessEnv,
  progress: Progress,
): Promise<string> {
  const token = await findToken(inputs.run.hfToken, env);
  if (token) core.setSecret(token);
  const hubUrl = normalizeHubUrl(inputs.run.hubUrl || env.HF_ENDPOINT || DEFAULT_HUB_URL);
  const runUrl = workflowRunUrl(env);
  try {
    const result = await publishToHub({
      outDir: inputs.run.outDir,
      repo,
      ...(inputs.hubRevision && { revision: inputs.hubRevision }),
      createPr: inputs.hubCreatePr,
      hubUrl,
      ...(token && { token }),
      ...(runUrl && { provenance: { runUrl } }),
      progress,
      env,
    });
    return result.pullRequestUrl ?? result.commit?.url ?? `${hubUrl}/${repo}`;
  } catch (error) {
    throw redactError(error, token);
  }
}

/** Posts this job's comment on the pull request, or updates the one an earlier run of the job posted. */
export async function commentOnPullRequest(
  inputs: ActionInputs,
  body: string,
  env: NodeJS.ProcessEnv,
): Promise<CommentResult> {
  return publishPullRequestComment({
    client: gitHubClient(inputs, env),
    env,
    key: commentKey(inputs, env),
    body,
    logger: publishLogger,
  });
}

/** One comment per workflow job and model, so the jobs gating other models keep their own. */
function commentKey(inputs: ActionInputs, env: NodeJS.ProcessEnv): string {
  const model = inputs.run.modelPath ?? inputs.run.modelId ?? 'demo';
  return `${env.GITHUB_WORKFLOW ?? ''}/${env.GITHUB_JOB ?? ''} ${model} ${inputs.run.quantType}`;
}

export function gitHubClient(inputs: ActionInputs, env: NodeJS.ProcessEnv): GitHubClient {
  if (!inputs.githubToken)
    throw new QuantgateError(
      'input "github-token" is empty; leave it at its default (the workflow\'s token) or give a token that can reach the repository',
    );
  return createGitHubClient({ token: inputs.githubToken, env });
}

export function repositoryOf(inputs: ActionInputs, env: NodeJS.ProcessEnv): RepoRef {
  if (inputs.repository) return inputs.repository;
  if (!env.GITHUB_REPOSITORY)
    throw new QuantgateError(
      'the repository is unknown (GITHUB_REPOSITORY is unset); give input "repository" as owner/name',
    );
  return parseRepo(env.GITHUB_REPOSITORY, 'GITHUB_REPOSITORY');
}

export function publicationOutputs(publication: Publication): Outputs {
  const { artifact, releaseUrl } = publication;
  return {
    ...(artifact
      ? { 'artifact-id': String(artifact.id), ...(artifact.url ? { 'artifact-url': artifact.url } : {}) }
      : {}),
    ...(releaseUrl ? { 'release-url': releaseUrl } : {}),
  };
}

/** [label, URL] pairs for the job summary. */
export function publicationLinks(publication: Publication): [string, string][] {
  const links: [string, string][] = [];
  if (publication.artifact?.url) links.push(['artifact', publication.artifact.url]);
  if (publication.releaseUrl) links.push(['release', publication.releaseUrl]);
  if (publication.hubUrl) links.push(['Hugging Face Hub', publication.hubUrl]);
  if (publication.comment && publication.comment.outcome !== 'skipped')
    links.push(['PR comment', publication.comment.url]);
  return links;
}
