// The options `run`, `sensitivity` and `tune` share, as parseArgs declares them: the model, the
// quantization plan, the data and the engine; and for the two that evaluate the whole selection
// and gate on it, the output, the gate and reuse. Each command adds its own.

import type { OptionSpec } from './command.js';

/** Options that take one text value each. */
export function textOptions(names: readonly string[]): OptionSpec {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' as const }]));
}

/** The model, the plan, the data and the engine. */
export const JOB_OPTIONS: OptionSpec = {
  ...textOptions([
    'model-id',
    'revision',
    'model-path',
    'hf-token',
    'hub-url',
    'cache-dir',
    'quant-type',
    'preset',
    'dataset',
    'dataset-revision',
    'dataset-config',
    'split',
    'max-duration',
    'max-failed-utterances',
    'audio-column',
    'text-column',
    'id-column',
    'engine',
    'candidate-mode',
    'device',
    'batch-size',
    'base-top-k',
    'threads',
  ]),
  keep: { type: 'string', multiple: true },
  skip: { type: 'string', multiple: true },
  'tensor-type': { type: 'string', multiple: true },
  offline: { type: 'boolean' },
};

/** JOB_OPTIONS, and the output, the selection's size, the gate and reuse. */
export const GATED_JOB_OPTIONS: OptionSpec = {
  ...JOB_OPTIONS,
  ...textOptions([
    'max-shard-size',
    'shard-format',
    'max-samples',
    'normalizer',
    'threshold',
    'gate-mode',
    'seed',
    'resamples',
    'max-kld',
    'results-cache',
    'out-dir',
  ]),
  'keep-single-file': { type: 'boolean' },
  'no-keep-single-file': { type: 'boolean' },
  'reuse-results': { type: 'boolean' },
  // `--no-reuse` is the short spelling of `--no-reuse-results`.
  reuse: { type: 'boolean' },
  'no-reuse': { type: 'boolean' },
};
