// mode: merge — the job after a matrix of `shard: i/n` jobs: downloads every shard artifact of this
// workflow run, merges their partial results (checking they are the n shards of one run), decides
// the gates over all utterances with this job's threshold, gate mode and token gates, and writes
// the merged eval_results.*, the outputs, the artifact, the PR comment and the job summary.

import * as core from '@actions/core';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdTempPath, releaseTempPath } from '../common/atomic.js';
import type { StopControl } from '../common/stop.js';
import { readManifest } from '../formats/gguf/manifest.js';
import { mergePartialResults, type PartialResults } from '../scoring/merge.js';
import { downloadRunArtifacts, type DownloadedArtifact } from '../publish/artifacts.js';
import { RESULTS_JSON_NAME, readEvalResults, writeEvalResults } from '../report/results-files.js';
import { shardArtifactPrefix, type ActionInputs } from './inputs.js';
import { publishLogger } from './log.js';
import { comparisonOutputs, setOutputs } from './outputs.js';
import {
  commentOnPullRequest,
  publicationLinks,
  publicationOutputs,
  uploadArtifact,
  type Publication,
} from './publish.js';
import { renderJobSummary, writeJobSummary } from './summary.js';
import { verdictOf, type Verdict } from './verdict.js';

export async function mergeMode(inputs: ActionInputs, env: NodeJS.ProcessEnv, stop: StopControl): Promise<Verdict> {
  const { run } = inputs;
  const staging = await mkdtemp(join(env.RUNNER_TEMP || tmpdir(), 'quantgate-shards-'));
  holdTempPath(staging);
  let parts: PartialResults[];
  try {
    parts = await core.group('shard results', async () => {
      const artifacts = await downloadRunArtifacts({
        prefix: shardArtifactPrefix(inputs.artifactName),
        dir: staging,
        logger: publishLogger,
      });
      return Promise.all(artifacts.map(readPartialResults));
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
    releaseTempPath(staging);
  }
  const comparison = mergePartialResults(parts, {
    gate: { mode: run.gateMode, thresholdPoints: run.threshold },
    tokenGates: { maxKld: run.maxKld, minTop1Agreement: run.minTop1Agreement },
    bootstrap: { seed: run.seed, resamples: run.resamples },
  });
  core.info(`merged ${parts.length} shards: ${comparison.utteranceCount} utterances, ${comparison.wordCount} words`);
  const results = await writeEvalResults(run.outDir, comparison);
  setOutputs(comparisonOutputs(comparison, { partial: false, resultsPath: results.jsonPath }));

  const publication: Publication = {};
  const summary = () => renderJobSummary({ comparison, links: publicationLinks(publication) });
  try {
    await stop.during('publish', () =>
      core.group('publish', async () => {
        if (inputs.uploadArtifacts)
          publication.artifact = await uploadArtifact(inputs, {
            name: inputs.artifactName,
            files: [results.jsonPath, results.textPath],
            rootDir: run.outDir,
          });
        if (inputs.commentOnPr) publication.comment = await commentOnPullRequest(inputs, summary(), env);
      }),
    );
  } finally {
    setOutputs(publicationOutputs(publication));
    await writeJobSummary(summary(), env);
  }
  return verdictOf(comparison);
}

/** A shard artifact: its eval_results.json, and the manifest of the model it evaluated. */
async function readPartialResults(artifact: DownloadedArtifact): Promise<PartialResults> {
  const comparison = await readEvalResults(join(artifact.dir, RESULTS_JSON_NAME));
  const manifestName = (await readdir(artifact.dir)).find((name) => name.endsWith('.manifest.json'));
  return {
    source: `artifact ${artifact.name}`,
    comparison,
    ...(manifestName === undefined ? {} : { manifest: await readManifest(join(artifact.dir, manifestName)) }),
  };
}
