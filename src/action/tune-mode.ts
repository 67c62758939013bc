// mode: tune — `quantgate tune` on this runner: onnxruntime made available, the Hugging Face
// downloads through the Actions cache, the search (each full evaluation's stages in log groups),
// then the outputs (the overrides to commit as the tensor-type input, and the tuned run's figures
// and files), the tuned files, tune_results.json and the chart uploaded as the artifact, and the job
// summary with the steps and the Mermaid charts, written even when the upload fails.

import * as core from '@actions/core';
import type { StopControl } from '../common/stop.js';
import { runTune } from '../pipeline/tune.js';
import { markdownTable } from '../report/markdown.js';
import { renderTuneMarkdown, tuneVerdict } from '../report/tune-report.js';
import type { ActionInputs } from './inputs.js';
import { logProgress } from './log.js';
import { comparisonOutputs, modelOutputs, setOutputs, tuneOutputs } from './outputs.js';
import { runnerContext } from './pipeline-context.js';
import { publicationLinks, publicationOutputs, uploadArtifact, type Publication } from './publish.js';
import { writeJobSummary } from './summary.js';
import type { Verdict } from './verdict.js';

export async function tuneMode(inputs: ActionInputs, env: NodeJS.ProcessEnv, stop: StopControl): Promise<Verdict> {
  const progress = logProgress();
  const { result, output } = await runTune(inputs.tune!, await runnerContext(inputs, env, stop, progress));

  setOutputs({
    ...tuneOutputs(result.overrides, output),
    ...(output && {
      ...comparisonOutputs(output.comparison, { partial: false, resultsPath: output.evalResults.jsonPath }),
      ...modelOutputs(output.model),
    }),
  });
  const publication: Publication = {};
  try {
    if (output && inputs.uploadArtifacts) {
      await stop.during('publish', () =>
        core.group('publish', async () => {
          publication.artifact = await uploadArtifact(inputs, {
            name: inputs.artifactName,
            files: [
              ...output.model.files,
              output.model.manifestPath,
              output.resultsPath,
              output.chartPath,
              output.evalResults.jsonPath,
              output.evalResults.textPath,
            ],
            rootDir: inputs.run.outDir,
          });
        }),
      );
    }
  } finally {
    setOutputs(publicationOutputs(publication));
    const links = publicationLinks(publication);
    const summary = [
      renderTuneMarkdown(result).trimEnd(),
      ...(links.length > 0 ? [markdownTable([['', ''], ...links], ['left', 'left'])] : []),
    ];
    await writeJobSummary(`${summary.join('\n\n')}\n`, env);
  }
  return { passed: result.passed, message: tuneVerdict(result) };
}
