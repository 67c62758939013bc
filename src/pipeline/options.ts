// The one options object of a quantgate run, with its defaults. The CLI and the action only
// translate their inputs into it; every stage reads its part from here.

import { QuantgateError } from '../common/errors.js';
import {
  choiceOption,
  flagOption,
  listOption,
  numberOption,
  stringOption,
  type OptionValues,
} from '../common/option-values.js';
import {
  CANDIDATE_MODES,
  DEVICES,
  ENGINE_NAMES,
  type CandidateMode,
  givesTokenMetrics,
  type DeviceChoice,
  type EngineName,
} from '../engines/catalogue.js';
import { DEFAULT_MAX_SHARD_BYTES, SHARD_FORMATS, type ShardFormat } from '../formats/gguf/output-layout.js';
import { DEFAULT_MAX_SAMPLES, parseShard, type Shard } from '../datasets/selection.js';
import { PRESETS, QUANT_TYPES, type PresetName, type QuantType, type TensorTypeOverride } from '../quant/plan.js';
import { tensorTypesOption } from '../quant/tensor-types.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED } from '../scoring/bootstrap.js';
import { DEFAULT_BASE_TOP_K } from '../scoring/reference-base.js';
import { DEFAULT_GATE_MODE, DEFAULT_THRESHOLD_POINTS, GATE_MODES, type GateMode } from '../scoring/gate.js';
import { NORMALIZER_NAMES, type NormalizerName } from '../scoring/normalize/index.js';

/** LibriSpeech test-clean on the Hub, as the seed evaluates it. */
export const DEFAULT_DATASET = 'openslr/librispeech_asr';

/** When `run` ranks the tensors by sensitivity after the gate: when it fails, always, or never. */
export const SENSITIVITY_WHEN = ['on-failure', 'always', 'never'] as const;
export type SensitivityWhen = (typeof SENSITIVITY_WHEN)[number];
/**
 * The commit of DEFAULT_DATASET evaluated unless `dataset-revision` says otherwise, so that WERs
 * stay comparable across runs and time; other public projects pin the same commit and check the
 * sha256s of its `all/<split>/0000.parquet` and `clean/<split>/*.parquet` files. Other datasets
 * default to `main`. The README says how to move it.
 */
export const DEFAULT_DATASET_REVISION = '71cacbfb7e2354c4226d01e70d77d5fca3d04ba1';
/** Found as `all/test.clean/*.parquet` in that repo. */
const DEFAULT_SPLIT = 'test.clean';

export interface RunOptions {
  /** A Hub model; ignored when `modelPath` is set. Neither means the embedded demo model, offline. */
  modelId?: string;
  revision: string;
  /** A local model folder instead of the Hub. */
  modelPath?: string;
  hfToken?: string;
  hubUrl?: string;
  cacheDir?: string;
  offline: boolean;

  quantType: QuantType;
  maxShardBytes: number;
  shardFormat: ShardFormat;
  /** Beside byte shards, keep the single .gguf too; unset means yes for byte shards. */
  keepSingleFile?: boolean;
  keep: string[];
  skip: string[];
  /** `--tensor-type` lines: other types for the weights they match; the last match wins. */
  tensorTypes: TensorTypeOverride[];
  preset?: PresetName;

  /**
   * A Hub dataset id, a local folder, a parquet file or URL, or a manifest file. Unset means the
   * demo test set for the demo model and LibriSpeech test-clean for any other.
   */
  dataset?: string;
  /** The pin for DEFAULT_DATASET, `main` for any other unless given. */
  datasetRevision: string;
  datasetConfig?: string;
  split: string;
  /** 0 means every utterance. */
  maxSamples: number;
  maxDurationSeconds?: number;
  maxFailedUtterances: number;
  columns: { audio?: string; text?: string; id?: string };
  /** Evaluate only this slice of the selected utterances (matrix jobs). */
  shard?: Shard;
  normalizer: NormalizerName;

  engine: EngineName;
  referenceCommand?: string;
  candidateCommand?: string;
  commandTimeoutSeconds?: number;
  candidateMode: CandidateMode;
  device: DeviceChoice;
  batchSize: number;

  threshold: number;
  gateMode: GateMode;
  seed: number;
  resamples: number;
  /** Fails the run when the mean KLD (nats, tested as the gate mode says) exceeds it; unset decides nothing. */
  maxKld?: number;
  /** Fails the run when the share of steps whose top token agrees is below it (0–1); unset decides nothing. */
  minTop1Agreement?: number;
  /** When to rank the quantized tensors by `sensitivity --method fast` after the gate (default on-failure). */
  sensitivity: SensitivityWhen;

  /** An earlier run's reference_base.bin: the reference is then not run at all. */
  referenceBase?: string;
  /** Entries kept per step of a large vocabulary in the reference base. */
  baseTopK: number;
  /** Take each variant's results from the results store when its key is there, and store them when not. */
  reuse: boolean;
  /** The results store's folder; unset means the user's cache folder (reuse/results-store.ts). */
  resultsCache?: string;

  outDir: string;
  threads?: number;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  revision: 'main',
  offline: false,
  quantType: 'q4_0',
  maxShardBytes: DEFAULT_MAX_SHARD_BYTES,
  shardFormat: 'bytes',
  keep: [],
  skip: [],
  tensorTypes: [],
  datasetRevision: DEFAULT_DATASET_REVISION,
  split: DEFAULT_SPLIT,
  maxSamples: DEFAULT_MAX_SAMPLES,
  maxFailedUtterances: 0,
  columns: {},
  normalizer: 'whisper',
  engine: 'auto',
  candidateMode: 'matmulnbits',
  device: 'auto',
  batchSize: 8,
  threshold: DEFAULT_THRESHOLD_POINTS,
  gateMode: DEFAULT_GATE_MODE,
  seed: DEFAULT_SEED,
  resamples: DEFAULT_RESAMPLES,
  sensitivity: 'on-failure',
  baseTopK: DEFAULT_BASE_TOP_K,
  reuse: true,
  outDir: 'models',
};

/**
 * Reads a run's options from named values, as the CLI's flags and the action's inputs both spell
 * them; anything not given keeps its default. Every bad value is a one-line error naming it.
 */
export function readRunOptions(values: OptionValues): RunOptions {
  const defaults = DEFAULT_RUN_OPTIONS;
  const shardText = stringOption(values, 'shard');
  const dataset = stringOption(values, 'dataset');
  const options: RunOptions = {
    modelId: stringOption(values, 'model-id'),
    revision: stringOption(values, 'revision') ?? defaults.revision,
    modelPath: stringOption(values, 'model-path'),
    hfToken: stringOption(values, 'hf-token'),
    hubUrl: stringOption(values, 'hub-url'),
    cacheDir: stringOption(values, 'cache-dir'),
    offline: flagOption(values, 'offline') ?? defaults.offline,

    quantType: choiceOption(values, 'quant-type', QUANT_TYPES) ?? defaults.quantType,
    maxShardBytes: maxShardBytesOption(values) ?? defaults.maxShardBytes,
    shardFormat: choiceOption(values, 'shard-format', SHARD_FORMATS) ?? defaults.shardFormat,
    keepSingleFile: flagOption(values, 'keep-single-file'),
    keep: listOption(values, 'keep'),
    skip: listOption(values, 'skip'),
    tensorTypes: tensorTypesOption(values),
    preset: choiceOption(values, 'preset', PRESETS),

    dataset,
    datasetRevision:
      stringOption(values, 'dataset-revision') ??
      (dataset === undefined || dataset === DEFAULT_DATASET ? defaults.datasetRevision : 'main'),
    datasetConfig: stringOption(values, 'dataset-config'),
    split: stringOption(values, 'split') ?? defaults.split,
    maxSamples: numberOption(values, 'max-samples', { min: 0, integer: true }) ?? defaults.maxSamples,
    maxDurationSeconds: numberOption(values, 'max-duration', { min: 0 }),
    maxFailedUtterances:
      numberOption(values, 'max-failed-utterances', { min: 0, integer: true }) ?? defaults.maxFailedUtterances,
    columns: {
      audio: stringOption(values, 'audio-column'),
      text: stringOption(values, 'text-column'),
      id: stringOption(values, 'id-column'),
    },
    shard: shardText === undefined ? undefined : parseShard(shardText, values.label('shard')),
    normalizer: choiceOption(values, 'normalizer', NORMALIZER_NAMES) ?? defaults.normalizer,

    engine: choiceOption(values, 'engine', ENGINE_NAMES) ?? defaults.engine,
    referenceCommand: stringOption(values, 'reference-command'),
    candidateCommand: stringOption(values, 'candidate-command'),
    commandTimeoutSeconds: numberOption(values, 'command-timeout', { min: 1 }),
    candidateMode: choiceOption(values, 'candidate-mode', CANDIDATE_MODES) ?? defaults.candidateMode,
    device: choiceOption(values, 'device', DEVICES) ?? defaults.device,
    batchSize: numberOption(values, 'batch-size', { min: 1, integer: true }) ?? defaults.batchSize,

    threshold: numberOption(values, 'threshold', { min: 0 }) ?? defaults.threshold,
    gateMode: choiceOption(values, 'gate-mode', GATE_MODES) ?? defaults.gateMode,
    seed: numberOption(values, 'seed', { min: 0, integer: true }) ?? defaults.seed,
    resamples: numberOption(values, 'resamples', { min: 100, integer: true }) ?? defaults.resamples,
    maxKld: numberOption(values, 'max-kld', { min: 0 }),
    minTop1Agreement: numberOption(values, 'min-top1-agreement', { min: 0, max: 1 }),
    sensitivity: choiceOption(values, 'sensitivity', SENSITIVITY_WHEN) ?? defaults.sensitivity,

    referenceBase: stringOption(values, 'reference-base'),
    baseTopK: numberOption(values, 'base-top-k', { min: 1, integer: true }) ?? defaults.baseTopK,
    reuse: flagOption(values, 'reuse-results') ?? defaults.reuse,
    resultsCache: stringOption(values, 'results-cache'),

    outDir: stringOption(values, 'out-dir') ?? defaults.outDir,
    threads: numberOption(values, 'threads', { min: 1, integer: true }),
  };
  if ((options.referenceCommand === undefined) !== (options.candidateCommand === undefined)) {
    throw new QuantgateError(
      `${values.label('reference-command')} and ${values.label('candidate-command')} go together; give both or neither`,
    );
  }
  const engineNamed = options.engine !== 'auto' ? options.engine : options.referenceCommand ? 'command' : undefined;
  if (engineNamed && !givesTokenMetrics(engineNamed)) {
    for (const name of ['max-kld', 'min-top1-agreement', 'reference-base'] as const) {
      if (stringOption(values, name) !== undefined) {
        throw new QuantgateError(
          `${values.label(name)} needs token metrics, which the ${engineNamed} engine cannot give: it sees only the text its commands print, not the models' output distributions; drop ${values.label(name)}, or use a built-in engine (kyutai-stt, onnx-ctc)`,
        );
      }
    }
    // The default, on-failure, only notes that it skips; asking for always is asking for what cannot be.
    if (options.sensitivity === 'always')
      throw new QuantgateError(
        `${values.label('sensitivity')} always ranks the tensors by the inputs of their layers, which the ${engineNamed} engine cannot show (it sees only the text its commands print); drop it, or use a built-in engine (kyutai-stt, onnx-ctc)`,
      );
  }
  if (options.modelId && options.modelPath) {
    throw new QuantgateError(
      `${values.label('model-id')} and ${values.label('model-path')} both name a model; give one`,
    );
  }
  return options;
}

/** `max-shard-size`, given in MB of 1024·1024 bytes (decimals allowed), in bytes. */
export function maxShardBytesOption(values: OptionValues): number | undefined {
  const megabytes = numberOption(values, 'max-shard-size', { min: 0 });
  return megabytes === undefined ? undefined : Math.round(megabytes * 1024 * 1024);
}
