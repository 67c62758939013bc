// mode: run — the whole job on this runner: onnxruntime made available when a built-in engine needs
// it, the Hugging Face downloads through the Actions cache, the pipeline with each stage in its own
// log group, then the outputs, the history (recorded on the default branch, read elsewhere, and
// compared with), the artifact (a shard job uploads only its partial results), the release, the
// Hugging Face Hub repo and the PR comment, and the job summary, which is written even when
// publishing fails.

import * as core from '@actions/core';
import type { StopControl } from '../common/stop.js';
import { formatShard } from '../datasets/selection.js';
import { runPipeline, type RunResult } from '../pipeline/run.js';
import type { HistorySection } from '../report/history-report.js';
import { verdictOf as runVerdictOf } from '../scoring/token-gate.js';
import { shardArtifactName, type ActionInputs } from './inputs.js';
import { logProgress } from './log.js';
import { comparisonOutputs, modelOutputs, setOutputs } from './outputs.js';
import { runnerContext } from './pipeline-context.js';
import { actionsQuantizedCache } from './quantized-cache.js';
import {
  commentOnPullRequest,
  publicationLinks,
  publicationOutputs,
  publishToHubRepo,
  uploadArtifact,
  uploadToRelease,
  type Publication,
} from './publish.js';
import { renderJobSummary, writeJobSummary } from './summary.js';
import { baseRegression, verdictOf, type Verdict } from './verdict.js';
import { trackHistory } from './history.js';

export async function runMode(
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
  stop: StopControl,
): Promise<Verdict | undefined> {
  const progress = logProgress();
  const result: RunResult = await runPipeline(inputs.run, {
    ...(await runnerContext(inputs, env, stop, progress)),
    ...(inputs.cache && { quantizedCache: actionsQuantizedCache() }),
  });

  const { comparison, partial, quantized } = result;
  setOutputs({
    ...comparisonOutputs(comparison, { partial, resultsPath: result.results.jsonPath }),
    ...modelOutputs(quantized),
  });
  const publication: Publication = {};
  const history: HistorySection | undefined = partial
    ? undefined
    : await stop.during('history', () => core.group('history', () => trackHistory(inputs, env, result)));
  const verdict = partial ? undefined : baseRegression(verdictOf(comparison), history, inputs.maxRegressionVsBase);
  const summary = () =>
    renderJobSummary({
      comparison,
      plan: result.plan,
      links: publicationLinks(publication),
      ...(inputs.run.shard ? { partialShard: formatShard(inputs.run.shard) } : {}),
      ...(history && { history }),
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
                // The reference base lets a later job measure another quantization without the reference pass (--reference-base).
                files: [
                  ...quantized.files,
                  quantized.manifestPath,
                  ...results,
                  ...(result.results.referenceBasePath ? [result.results.referenceBasePath] : []),
                ],
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
        if (inputs.hubRepo !== undefined) {
          if (runVerdictOf(comparison) === 'pass' || inputs.publishOnFail)
            publication.hubUrl = await publishToHubRepo(inputs, inputs.hubRepo, env, progress);
          else
            core.warning(
              `the quantized model was not published to the Hub repo ${inputs.hubRepo}: the gate failed (publish-on-fail is false)`,
            );
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

/** Hub downloads through the Actions cache, for the modes that fetch models. */
