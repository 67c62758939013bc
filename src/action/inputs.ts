// The action's inputs, read and checked up front. The run's own options are read by the pipeline's
// `readRunOptions` under the same names as the CLI's flags; the inputs only the action has
// (publishing, the mode, the working folder) are read here with the same readers. Every bad value,
// and every combination that cannot work, is a one-line error naming the input.

import { QuantgateError } from '../common/errors.js';
import { choiceOption, flagOption, numberOption, stringOption, type OptionValues } from '../common/option-values.js';
import type { Shard } from '../datasets/selection.js';
import { readRunOptions, type RunOptions } from '../pipeline/options.js';
import { readTuneOptions, type TuneOptions } from '../pipeline/tune-options.js';
import { checkArtifactName } from '../publish/artifacts.js';
import { parseRepo, type RepoRef } from '../publish/github.js';
import { checkHubRepo } from '../publish/hub-publish.js';

const ACTION_MODES = ['run', 'merge', 'download', 'tune'] as const;
type ActionMode = (typeof ACTION_MODES)[number];

const DEFAULT_ARTIFACT_NAME = 'quantgate-results';
const HISTORY_MODES = ['branch', 'cache', 'off'] as const;
export type HistoryMode = (typeof HISTORY_MODES)[number];
const DEFAULT_HISTORY_BRANCH = 'quantgate-data';
const DEFAULT_HISTORY_LAST = 20;

export interface ActionInputs {
  mode: ActionMode;
  /** The run's options; merge and download use the output folder, the gates and the bootstrap settings. */
  run: RunOptions;
  /** mode: tune — the search's options, over the same run options. */
  tune?: TuneOptions;
  failOnDegradation: boolean;
  /** Results (and for whole runs, the quantized files) as a workflow artifact. */
  uploadArtifacts: boolean;
  /** The artifact of a whole run, and the prefix of the shard artifacts. */
  artifactName: string;
  retentionDays?: number;
  commentOnPr: boolean;
  /** The Hugging Face downloads through the Actions cache. */
  cache: boolean;
  /** run: the release the quantized files are published to; download: the release they are read from. */
  releaseTag?: string;
  workingDirectory?: string;
  githubToken?: string;
  /** Where releases are, and where download mode reads artifacts; the workflow's repository by default. */
  repository?: RepoRef;
  /** download: the artifact of another workflow run to read the model from. */
  artifact?: { runId: number; artifactId: number };
  /** The Hub model repo the quantized output is published to (org/name). */
  hubRepo?: string;
  hubRevision?: string;
  hubCreatePr: boolean;
  /** Publish to the Hub even when the gate fails. */
  publishOnFail: boolean;
  /** Where the gate's history is kept; only runs on the default branch write it. */
  history: HistoryMode;
  historyBranch: string;
  /** How many runs the charts show. */
  historyLast: number;
  /** Points of candidate WER the head may lose against the base branch's latest comparable record. */
  maxRegressionVsBase?: number;
}

/** `getInput` is @actions/core's: the input's value, trimmed, '' when not given. */
export function readActionInputs(getInput: (name: string) => string): ActionInputs {
  const values = inputValues(getInput);
  const run = readRunOptions(values);
  const mode = choiceOption(values, 'mode', ACTION_MODES) ?? 'run';
  const artifactName = stringOption(values, 'artifact-name') ?? DEFAULT_ARTIFACT_NAME;
  labelled(values, 'artifact-name', () => checkArtifactName(artifactName));
  const runId = numberOption(values, 'run-id', { min: 1, integer: true });
  const artifactId = numberOption(values, 'artifact-id', { min: 1, integer: true });
  const repository = stringOption(values, 'repository');
  const hubRepo = stringOption(values, 'hub-repo');
  if (hubRepo !== undefined) checkHubRepo(hubRepo, values.label('hub-repo'));
  const inputs: ActionInputs = {
    mode,
    run,
    ...(mode === 'tune' && { tune: readTuneOptions(values) }),
    failOnDegradation: flagOption(values, 'fail-on-degradation') ?? true,
    uploadArtifacts: flagOption(values, 'upload-artifacts') ?? true,
    artifactName,
    retentionDays: numberOption(values, 'retention-days', { min: 1, max: 90, integer: true }),
    commentOnPr: flagOption(values, 'comment-on-pr') ?? false,
    cache: flagOption(values, 'cache') ?? true,
    releaseTag: stringOption(values, 'release-tag'),
    workingDirectory: stringOption(values, 'working-directory'),
    githubToken: stringOption(values, 'github-token'),
    repository: repository === undefined ? undefined : parseRepo(repository, values.label('repository')),
    artifact: runId !== undefined && artifactId !== undefined ? { runId, artifactId } : undefined,
    hubRepo,
    hubRevision: stringOption(values, 'hub-revision'),
    hubCreatePr: flagOption(values, 'hub-create-pr') ?? false,
    publishOnFail: flagOption(values, 'publish-on-fail') ?? false,
    history: choiceOption(values, 'history', HISTORY_MODES) ?? 'branch',
    historyBranch: stringOption(values, 'history-branch') ?? DEFAULT_HISTORY_BRANCH,
    historyLast: numberOption(values, 'history-last', { min: 1, integer: true }) ?? DEFAULT_HISTORY_LAST,
    maxRegressionVsBase: numberOption(values, 'max-regression-vs-base', { min: 0 }),
  };
  checkCombinations(inputs, values, { runId, artifactId });
  return inputs;
}

/** The name a shard job uploads its partial results under, and the merge job looks for. */
export function shardArtifactName(artifactName: string, shard: Shard): string {
  return `${shardArtifactPrefix(artifactName)}${shard.index + 1}-of-${shard.count}`;
}

export function shardArtifactPrefix(artifactName: string): string {
  return `${artifactName}-shard-`;
}

function inputValues(getInput: (name: string) => string): OptionValues {
  // The action's default model-id is always present, so a model-path given replaces it.
  return {
    raw: (name) => (name === 'model-id' && getInput('model-path') !== '' ? undefined : getInput(name)),
    label: (name) => `input "${name}"`,
  };
}

function checkCombinations(
  inputs: ActionInputs,
  values: OptionValues,
  ids: { runId?: number; artifactId?: number },
): void {
  const { mode, run } = inputs;
  const label = (name: string) => values.label(name);
  if ((ids.runId === undefined) !== (ids.artifactId === undefined)) {
    throw new QuantgateError(
      `${label('run-id')} and ${label('artifact-id')} go together (both are in the artifact's URL …/actions/runs/<run-id>/artifacts/<artifact-id>); give both or neither`,
    );
  }
  if (mode !== 'download' && inputs.artifact) {
    throw new QuantgateError(
      `${label('run-id')} and ${label('artifact-id')} name an artifact to download; they need mode: download`,
    );
  }
  if (mode === 'download' && (inputs.releaseTag === undefined) === (inputs.artifact === undefined)) {
    throw new QuantgateError(
      `mode: download needs either ${label('release-tag')}, or ${label('run-id')} with ${label('artifact-id')}`,
    );
  }
  if (mode !== 'run' && run.shard) {
    throw new QuantgateError(`${label('shard')} is for the jobs that evaluate; leave it out of the mode: ${mode} job`);
  }
  if (mode === 'merge' && inputs.releaseTag !== undefined) {
    throw new QuantgateError(
      `${label('release-tag')} publishes the quantized model of a whole run, which a merge job does not have; set it on an unsharded run`,
    );
  }
  if (run.shard && inputs.releaseTag !== undefined) {
    throw new QuantgateError(
      `${label('release-tag')} publishes a whole run's model, not a shard's; set it on an unsharded run`,
    );
  }
  if (mode === 'tune' && inputs.releaseTag !== undefined) {
    throw new QuantgateError(
      `${label('release-tag')} publishes a gated run's model; mode: tune uploads its tuned files as the artifact, so commit its overrides as ${label('tensor-type')} of a mode: run job that publishes`,
    );
  }
  if (inputs.hubRepo !== undefined && (mode !== 'run' || run.shard)) {
    throw new QuantgateError(
      `${label('hub-repo')} publishes a whole run's quantized model, which ${mode === 'run' ? 'a shard job' : `a mode: ${mode} job`} does not have; set it on an unsharded run`,
    );
  }
  if (run.shard)
    labelled(values, 'artifact-name', () => checkArtifactName(shardArtifactName(inputs.artifactName, run.shard!)));
}

/** Runs `check`, prefixing its error with the input it concerns. */
function labelled(values: OptionValues, name: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof QuantgateError)
      throw new QuantgateError(`${values.label(name)}: ${error.message}`, { cause: error });
    throw error;
  }
}
