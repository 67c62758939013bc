// mode: run — the whole job on this runner: onnxruntime made available when a built-in engine needs
// it, the Hugging Face downloads through the Actions cache, the pipeline with each stage in its own
// log group, then the outputs, the artifact (a shard job uploads only its partial results), the
// release and the PR comment, and the job summary, which is written even when publishing fails.

import * as core from '@actions/core';
import type { StopControl } from '../common/stop.js';
import { mayNeedOnnxruntime } from '../engines/catalogue.js';
import { formatShard } from '../datasets/selection.js';
import { downloadWithActionsCache } from '../hub/actions-cache.js';
import type { SnapshotRequest, SnapshotResult } from '../hub/snapshot.js';
import { runPipeline, type RunResult } from '../pipeline/run.js';
import { loadOnnxruntime } from '../runtime/load.js';
import { shardArtifactName, type ActionInputs } from './inputs.js';
import { cacheLogger, inLogGroup, logProgress } from './log.js';
import { comparisonOutputs, modelOutputs, setOutputs } from './outputs.js';
import { actionsQuantizedCache } from './quantized-cache.js';
import { actionsResultsCache } from './results-cache.js';
import {
  commentOnPullRequest,
  publicationLinks,
  publicationOutputs,
  uploadArtifact,
  uploadToRelease,
  type Publication,
} from './publish.js';
import { renderJobSummary, writeJobSummary } from './summary.js';
import { verdictOf, type Verdict } from './verdict.js';

export async function runMode(
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
  stop: StopControl,
): Promise<Verdict | undefined> {
  const progress = logProgress();
  const needsOnnxruntime = mayNeedOnnxruntime(inputs.run.engine, {
    commandConfigured: inputs.run.referenceCommand !== undefined,
  });
  const onnxruntime = needsOnnxruntime
    ? await stop.during('onnxruntime', () => core.group('onnxruntime', () => loadOnnxruntime({ env, progress })))
    : undefined;
  const result: RunResult = await runPipeline(inputs.run, {
    progress,
    env,
    signal: stop.signal,
    onStage: (stage) => stop.enter(stage),
    ...(onnxruntime && { onnxruntimeLocation: onnxruntime.location }),
    stage: inLogGroup,
    onSecret: (secret) => core.setSecret(secret),
    ...(inputs.cache ? { fetchSnapshot: snapshotThroughActionsCache, quantizedCache: actionsQuantizedCache() } : {}),
    ...(inputs.run.reuse && { resultsCache: actionsResultsCache() }),
  });

  const { comparison, partial, quantized } = result;
  setOutputs({
    ...comparisonOutputs(comparison, { partial, resultsPath: result.results.jsonPath }),
    ...modelOutputs(quantized),
  });
  const publication: Publication = {};
  const verdict = partial ? undefined : verdictOf(comparison);
  const summary = () =>
    renderJobSummary({
      comparison,
      plan: result.plan,
      links: publicationLinks(publication),
      ...(inputs.run.shard ? { partialShard: formatShard(inputs.run.shard) } : {}),
    });
  try {
    await stop.during('publish', () =>
      core.group('publish', async () => {
        const results = [result.results.jsonPath, result.results.textPath];
        if (inputs.uploadArtifacts) {
          publication.artifact = inputs.run.shard
            ? await uploadArtifact(inputs, {
                name: shardArtifactName(inputs.artifactName, inputs.run.shard),
                files: [quantized.manifestPath, ...results],
                rootDir: inputs.run.outDir,
              })
            : await uploadArtifact(inputs, {
                name: inputs.artifactName,
                files: [...quantized.files, quantized.manifestPath, ...results],
                rootDir: inputs.run.outDir,
              });
        }
        if (inputs.releaseTag !== undefined) {
          if (verdict?.passed)
            publication.releaseUrl = await uploadToRelease(
              inputs,
              inputs.releaseTag,
              [...quantized.files, quantized.manifestPath],
              env,
              progress,
            );
          else
            core.warning(`the quantized model was not published to release ${inputs.releaseTag}: the WER gate failed`);
        }
        if (inputs.commentOnPr) {
          if (partial) core.info('PR comment left to the merge job: this job evaluated one shard');
          else publication.comment = await commentOnPullRequest(inputs, summary(), env);
        }
      }),
    );
  } finally {
    setOutputs(publicationOutputs(publication));
    await writeJobSummary(summary(), env);
  }
  return verdict;
}

async function snapshotThroughActionsCache(request: SnapshotRequest): Promise<SnapshotResult> {
  return (await downloadWithActionsCache(request, cacheLogger)).snapshot;
}
