// The action's inputs, read and checked up front. The run's own options are read by the pipeline's
// `readRunOptions` under the same names as the CLI's flags; the inputs only the action has
// (publishing, the mode, the working folder) are read here with the same readers. Every bad value,
// and every combination that cannot work, is a one-line error naming the input.

import { QuantgateError } from '../common/errors.js';
import { choiceOption, flagOption, numberOption, stringOption, type OptionValues } from '../common/option-values.js';
import type { Shard } from '../datasets/selection.js';
import { readRunOptions, type RunOptions } from '../pipeline/options.js';
import { checkArtifactName } from '../publish/artifacts.js';
import { parseRepo, type RepoRef } from '../publish/github.js';
import type { TokenGateOptions } from '../scoring/token-gate.js';

const ACTION_MODES = ['run', 'merge', 'download'] as const;
type ActionMode = (typeof ACTION_MODES)[number];

const DEFAULT_ARTIFACT_NAME = 'quantgate-results';

export interface ActionInputs {
  mode: ActionMode;
  /** The run's options; merge and download use the output folder, the gates and the bootstrap settings. */
  run: RunOptions & TokenGateLimits;
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
}

/** `getInput` is @actions/core's: the input's value, trimmed, '' when not given. */
export function readActionInputs(getInput: (name: string) => string): ActionInputs {
  const values = inputValues(getInput);
  const run = { ...readRunOptions(values), ...readTokenGateLimits(values) };
  const mode = choiceOption(values, 'mode', ACTION_MODES) ?? 'run';
  const artifactName = stringOption(values, 'artifact-name') ?? DEFAULT_ARTIFACT_NAME;
  labelled(values, 'artifact-name', () => checkArtifactName(artifactName));
  const runId = numberOption(values, 'run-id', { min: 1, integer: true });
  const artifactId = numberOption(values, 'artifact-id', { min: 1, integer: true });
  const repository = stringOption(values, 'repository');
  const inputs: ActionInputs = {
    mode,
    run,
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
  };
  checkCombinations(inputs, values, { runId, artifactId });
  return inputs;
}

type TokenGateLimits = Pick<TokenGateOptions, 'maxKld' | 'minTop1Agreement'>;

/** The optional gates on token-level damage; unset, they decide nothing. */
function readTokenGateLimits(values: OptionValues): TokenGateLimits {
  return {
    maxKld: numberOption(values, 'max-kld', { min: 0 }),
    minTop1Agreement: numberOption(values, 'min-top1-agreement', { min: 0, max: 1 }),
  };
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
