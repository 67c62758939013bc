// mode: download — fetches a quantized model that quantgate published, from the release of
// `release-tag` or from artifact `artifact-id` of workflow run `run-id`, verifies every file
// against its manifest, rebuilds byte shards into the .gguf, and sets the model outputs.

import * as core from '@actions/core';
import { QuantgateError } from '../common/errors.js';
import { createProgress } from '../common/progress.js';
import { downloadFromArtifact, downloadFromRelease, type DownloadedModel } from '../publish/download.js';
import type { ActionInputs } from './inputs.js';
import { modelOutputs, setOutputs } from './outputs.js';
import { gitHubClient, repositoryOf } from './publish.js';

export async function downloadMode(inputs: ActionInputs, env: NodeJS.ProcessEnv): Promise<void> {
  const repo = repositoryOf(inputs, env);
  const options = { out: inputs.run.outDir, progress: createProgress({ stream: process.stdout, style: 'lines' }) };
  const model: DownloadedModel = await core.group('download', async () => {
    if (inputs.releaseTag !== undefined)
      return downloadFromRelease({
        ...options,
        client: gitHubClient(inputs, env),
        release: { ...repo, tag: inputs.releaseTag },
      });
    const { runId, artifactId } = inputs.artifact!;
    if (!inputs.githubToken)
      throw new QuantgateError(
        'downloading an artifact needs a token; leave input "github-token" at its default or give one with actions: read',
      );
    return downloadFromArtifact({ ...options, repo, runId, artifactId, token: inputs.githubToken });
  });
  // Byte shards come back joined into one .gguf; the other formats keep their files and manifest.
  const rebuilt = model.format === 'bytes';
  const files = rebuilt ? model.files : model.files.slice(0, -1);
  setOutputs(
    modelOutputs({
      format: rebuilt ? 'single' : model.format,
      files,
      ...(rebuilt ? {} : { manifestPath: model.files.at(-1)! }),
    }),
  );
  core.info(
    `downloaded and verified ${model.manifest.files.length} file(s) of ${model.manifest.source.repoId ?? 'the model'}: ${files.join(', ')}`,
  );
}
