// The hyper-parameters of a Kyutai STT model, read from its config.json the way moshi's loader
// reads them (same keys, same defaults), and checked against what the engine's graphs implement.
// Mimi's own config is moshi's built-in one (the real codec's sizes) unless the model names a
// `mimi_config_name` file, as moshi allows; its active codebooks follow the LM's `n_q`.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError, describeError, jsonText } from '../../common/errors.js';

export interface LmConfig {
  dim: number;
  numHeads: number;
  numLayers: number;
  /** Audio codebooks the LM reads. */
  nQ: number;
  /** Audio tokens per codebook; token `card` is the initial token. */
  card: number;
  /** Text tokens the LM predicts; token `textCard` is the initial text token. */
  textCard: number;
  /** Attention window: step t sees steps t − context + 1 … t. */
  context: number;
  maxPeriod: number;
  normEps: number;
  /** Per stream (text first, then each codebook): how many steps its input lags. */
  delays: number[];
}

export interface SttConfig {
  /** Silence fed before the audio. */
  silencePrefixSeconds: number;
  /** Silence fed after the audio, so the text (which lags the audio by this much) can finish. */
  audioDelaySeconds: number;
  /** Text tokens at or below this id are padding and word boundaries, not text. */
  textPaddingTokenId: number;
}

export interface MimiConfig {
  sampleRate: number;
  frameRate: number;
  seanet: {
    nFilters: number;
    dimension: number;
    /** Decoder order; the encoder downsamples by them in reverse. */
    ratios: number[];
    kernelSize: number;
    residualKernelSize: number;
    lastKernelSize: number;
    nResidualLayers: number;
    dilationBase: number;
    compress: number;
  };
  transformer: {
    dModel: number;
    numHeads: number;
    numLayers: number;
    dimFeedforward: number;
    context: number;
    maxPeriod: number;
  };
  quantizer: { dimension: number; bins: number; nQ: number };
  /** Codebooks the encoder outputs: the LM's `n_q`. */
  codebooks: number;
}

/** File names a config.json may give (moshi_name, mimi_name, tokenizer_name). */
export interface ConfiguredNames {
  lm?: string;
  mimi?: string;
  tokenizer?: string;
}

export interface KyutaiConfig {
  lm: LmConfig;
  stt: SttConfig;
  mimi: MimiConfig;
  names: ConfiguredNames;
}

type Json = Record<string, unknown>;

/** moshi's `_mimi_config`: the Mimi that every Kyutai STT checkpoint ships. */
const DEFAULT_MIMI: Json = {
  sample_rate: 24000,
  frame_rate: 12.5,
  seanet: {
    dimension: 512,
    n_filters: 64,
    n_residual_layers: 1,
    ratios: [8, 6, 5, 4],
    kernel_size: 7,
    residual_kernel_size: 3,
    last_kernel_size: 3,
    dilation_base: 2,
    compress: 2,
    causal: true,
    pad_mode: 'constant',
    norm: 'none',
    activation: 'ELU',
    true_skip: true,
  },
  transformer: {
    d_model: 512,
    num_heads: 8,
    num_layers: 8,
    dim_feedforward: 2048,
    context: 250,
    max_period: 10000,
    causal: true,
    norm: 'layer_norm',
    gating: 'none',
    positional_embedding: 'rope',
    conv_layout: true,
    input_dimension: 512,
    output_dimensions: [512],
    layer_scale: 0.01,
  },
  quantizer: { dimension: 256, n_q: 32, bins: 2048, input_dimension: 512, output_dimension: 512 },
};

const NORM_EPS: Record<string, number> = { rms_norm: 1e-5, rms_norm_f32: 1e-8 };

export async function readKyutaiConfig(dir: string): Promise<KyutaiConfig> {
  const path = join(dir, 'config.json');
  const raw = await readJson(path);
  const mimiName = optionalString(raw, 'mimi_config_name', path);
  const mimiRaw = mimiName ? await readJson(join(dir, mimiName)) : DEFAULT_MIMI;
  const lm = parseLmConfig(raw, path);
  const mimiSource = mimiName ? join(dir, mimiName) : 'moshi’s built-in Mimi config';
  const mimi = parseMimiConfig(mimiRaw, mimiSource, lm.nQ);
  if (mimi.quantizer.bins !== lm.card) {
    throw new QuantgateError(
      `${path}: the LM reads audio tokens 0–${lm.card - 1} (card ${lm.card}) but Mimi (${mimiSource}) has codebooks of ${mimi.quantizer.bins}; the LM and Mimi do not belong together — check config.json`,
    );
  }
  return {
    lm,
    stt: parseSttConfig(raw, path),
    mimi,
    names: configuredNames(raw, path),
  };
}

/** The file names config.json in `dir` gives; none when it cannot be read. */
export async function readConfiguredNames(dir: string): Promise<ConfiguredNames> {
  const path = join(dir, 'config.json');
  try {
    return configuredNames(await readJson(path), path);
  } catch {
    return {};
  }
}

function configuredNames(raw: Json, source: string): ConfiguredNames {
  return {
    lm: optionalString(raw, 'moshi_name', source),
    mimi: optionalString(raw, 'mimi_name', source),
    tokenizer: optionalString(raw, 'tokenizer_name', source),
  };
}

export function parseLmConfig(raw: Json, source: string): LmConfig {
  const read = reader(raw, source);
  // The fallbacks are LMModel's defaults.
  read.expect('dep_q', 0, 8);
  read.expect('gating', 'silu', 'none');
  read.expect('positional_embedding', 'rope', 'sin');
  read.expect('causal', true);
  read.expect('layer_scale', null);
  read.expect('kv_repeat', 1);
  const norm = read.string('norm');
  if (!(norm in NORM_EPS)) unsupported(source, 'norm', norm, `it supports ${Object.keys(NORM_EPS).join(', ')}`);
  const nQ = read.int('n_q');
  const delays = read.ints('delays', Array<number>(nQ + 1).fill(0));
  if (delays.length !== nQ + 1)
    throw new QuantgateError(
      `${source}: "delays" has ${delays.length} entries but n_q ${nQ} needs ${nQ + 1} (text, then each codebook); fix the config`,
    );
  const config: LmConfig = {
    dim: read.int('dim'),
    numHeads: read.int('num_heads'),
    numLayers: read.int('num_layers'),
    nQ,
    card: read.int('card'),
    textCard: read.int('text_card'),
    context: read.int('context'),
    maxPeriod: read.number('max_period', 10000),
    normEps: NORM_EPS[norm]!,
    delays,
  };
  if (config.dim % config.numHeads !== 0 || (config.dim / config.numHeads) % 2 !== 0) {
    throw new QuantgateError(
      `${source}: dim ${config.dim} does not split into ${config.numHeads} heads of an even size; fix the config`,
    );
  }
  if (config.context < 2)
    throw new QuantgateError(`${source}: context ${config.context} is below 2 steps; fix the config`);
  return config;
}

function parseSttConfig(raw: Json, source: string): SttConfig {
  const stt = raw.stt_config === undefined ? {} : object(raw.stt_config, 'stt_config', source);
  const read = reader(stt, `${source} stt_config`);
  return {
    // The defaults are those of Kyutai's STT scripts.
    silencePrefixSeconds: read.number('audio_silence_prefix_seconds', 1),
    audioDelaySeconds: read.number('audio_delay_seconds', 5),
    textPaddingTokenId: reader(raw, source).int('text_padding_token_id', 3),
  };
}

export function parseMimiConfig(raw: Json, source: string, codebooks: number): MimiConfig {
  const seanet = reader(object(raw.seanet, 'seanet', source), `${source} seanet`);
  const transformer = reader(object(raw.transformer, 'transformer', source), `${source} transformer`);
  const quantizer = reader(object(raw.quantizer, 'quantizer', source), `${source} quantizer`);
  // The fallbacks are the defaults of moshi's SEANetEncoder and ProjectedTransformer.
  seanet.expect('causal', true, false);
  seanet.expect('pad_mode', 'constant', 'reflect');
  seanet.expect('norm', 'none');
  seanet.expect('activation', 'ELU');
  seanet.expect('true_skip', true);
  transformer.expect('causal', true, false);
  transformer.expect('norm', 'layer_norm');
  transformer.expect('gating', 'none');
  transformer.expect('positional_embedding', 'rope', 'sin');
  transformer.expect('conv_layout', true, false);
  const dModel = transformer.int('d_model');
  const dimension = seanet.int('dimension');
  const outputs = transformer.ints('output_dimensions', [dModel]);
  if (
    transformer.int('input_dimension', dModel) !== dimension ||
    dModel !== dimension ||
    outputs.length !== 1 ||
    outputs[0] !== dModel
  ) {
    unsupported(
      source,
      'transformer.d_model',
      dModel,
      `it needs the transformer to work at the SEANet dimension ${dimension}, without projections`,
    );
  }
  const config: MimiConfig = {
    sampleRate: reader(raw, source).int('sample_rate'),
    frameRate: reader(raw, source).number('frame_rate'),
    seanet: {
      nFilters: seanet.int('n_filters'),
      dimension,
      ratios: seanet.ints('ratios'),
      kernelSize: seanet.int('kernel_size'),
      residualKernelSize: seanet.int('residual_kernel_size'),
      lastKernelSize: seanet.int('last_kernel_size'),
      nResidualLayers: seanet.int('n_residual_layers'),
      dilationBase: seanet.int('dilation_base'),
      compress: seanet.int('compress'),
    },
    transformer: {
      dModel,
      numHeads: transformer.int('num_heads'),
      numLayers: transformer.int('num_layers'),
      dimFeedforward: transformer.int('dim_feedforward'),
      context: transformer.int('context'),
      maxPeriod: transformer.number('max_period'),
    },
    quantizer: { dimension: quantizer.int('dimension'), bins: quantizer.int('bins'), nQ: quantizer.int('n_q') },
    codebooks,
  };
  if (codebooks < 1 || codebooks > config.quantizer.nQ) {
    throw new QuantgateError(
      `the LM reads ${codebooks} audio codebooks but Mimi (${source}) has ${config.quantizer.nQ}; the LM and Mimi do not belong together — check config.json`,
    );
  }
  return config;
}

async function readJson(path: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new QuantgateError(
      `cannot read ${path} (${describeError(error)}); a Kyutai STT model folder needs it — download the model again`,
      { cause: error },
    );
  }
  try {
    return object(JSON.parse(text), 'the file', path);
  } catch (error) {
    if (error instanceof QuantgateError) throw error;
    throw new QuantgateError(`${path} is not valid JSON (${describeError(error)}); download the model again`, {
      cause: error,
    });
  }
}

function object(value: unknown, what: string, source: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new QuantgateError(`${source}: ${what} is not a JSON object; fix or download the config again`);
  }
  return value as Json;
}

function optionalString(raw: Json, key: string, source: string): string | undefined {
  return raw[key] === undefined ? undefined : reader(raw, source).string(key);
}

function unsupported(source: string, key: string, value: unknown, why: string): never {
  throw new QuantgateError(
    `${source}: ${key} ${jsonText(value)} is not supported by the kyutai-stt engine (${why}); use the command engine for this model`,
  );
}

/** Typed reads of one JSON object's keys; a missing key takes `fallback`, or is an error without one. */
function reader(raw: Json, source: string) {
  const value = <T>(key: string, fallback: T | undefined, check: (value: unknown) => value is T, kind: string): T => {
    const found = raw[key];
    if (found === undefined && fallback !== undefined) return fallback;
    if (!check(found)) {
      throw new QuantgateError(
        `${source}: "${key}" is ${found === undefined ? 'missing' : JSON.stringify(found)}, not ${kind}; fix or download the config again`,
      );
    }
    return found;
  };
  const isNumber = (found: unknown): found is number => typeof found === 'number' && Number.isFinite(found);
  const isInt = (found: unknown): found is number => Number.isSafeInteger(found) && (found as number) >= 0;
  const isString = (found: unknown): found is string => typeof found === 'string';
  const isInts = (found: unknown): found is number[] => Array.isArray(found) && found.every(isInt);
  return {
    number: (key: string, fallback?: number) => value(key, fallback, isNumber, 'a number'),
    int: (key: string, fallback?: number) => value(key, fallback, isInt, 'a non-negative integer'),
    string: (key: string) => value(key, undefined, isString, 'a string'),
    ints: (key: string, fallback?: number[]) => value(key, fallback, isInts, 'a list of non-negative integers'),
    /** The key's value, or moshi's `fallback` for it when absent, must be `expected`. */
    expect: (key: string, expected: unknown, fallback: unknown = expected) => {
      const found = raw[key] === undefined ? fallback : raw[key];
      if (found !== expected) unsupported(source, key, found, `it implements ${JSON.stringify(expected)}`);
    },
  };
}
