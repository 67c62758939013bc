// The metadata a quantized model's GGUF carries: the general.* keys llama.cpp's tools read, where
// the weights came from (repo, commit), which tool wrote them, and the model's hyper-parameters from
// its config.json under `<architecture>.`, with llama.cpp's names and value types where one exists
// (plus the sizes the seed's quantize.py records for Kyutai STT).

import { QuantgateError } from '../common/errors.js';
import {
  ARCHITECTURE_KEY,
  GGML_QUANTIZATION_VERSION,
  GgufValueType,
  KEY,
  architectureKey,
  type ArchitectureKey,
} from '../formats/gguf/constants.js';
import type { GgufMetadataEntry } from '../formats/gguf/metadata.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export interface ModelDescription {
  architecture: string;
  /** The Hub repo's name for a Hub model, else the model folder's. */
  name: string;
  fileType: number;
  repoId?: string;
  /** The resolved commit sha of the source. */
  revision?: string;
  /** The parsed config.json, when the model has one. */
  config?: Record<string, unknown>;
}

/** Deepest nesting of config.json objects that is flattened into keys; real configs use 2 or 3. */
export const MAX_CONFIG_DEPTH = 32;

/** llama.cpp's hyper-parameters and the config.json keys that carry them in the wild. */
const STANDARD_KEYS: readonly [ArchitectureKey, readonly string[]][] = [
  [ARCHITECTURE_KEY.contextLength, ['context', 'max_position_embeddings', 'n_ctx']],
  [ARCHITECTURE_KEY.embeddingLength, ['dim', 'hidden_size', 'd_model', 'n_embd']],
  [ARCHITECTURE_KEY.blockCount, ['num_layers', 'num_hidden_layers', 'n_layer']],
  [ARCHITECTURE_KEY.feedForwardLength, ['intermediate_size', 'dim_feedforward', 'n_inner']],
  [ARCHITECTURE_KEY.headCount, ['num_heads', 'num_attention_heads', 'n_head']],
  [ARCHITECTURE_KEY.ropeFreqBase, ['max_period', 'rope_theta']],
  [ARCHITECTURE_KEY.vocabSize, ['vocab_size']],
];

export function buildGgufMetadata(model: ModelDescription): GgufMetadataEntry[] {
  const entries: GgufMetadataEntry[] = [
    { key: KEY.architecture, type: GgufValueType.STRING, value: model.architecture },
    { key: KEY.name, type: GgufValueType.STRING, value: model.name },
    { key: KEY.quantizationVersion, type: GgufValueType.UINT32, value: GGML_QUANTIZATION_VERSION },
    { key: KEY.fileType, type: GgufValueType.UINT32, value: model.fileType },
  ];
  if (model.repoId) {
    entries.push({ key: KEY.sourceUrl, type: GgufValueType.STRING, value: `https://huggingface.co/${model.repoId}` });
    entries.push({ key: KEY.sourceHuggingFaceRepository, type: GgufValueType.STRING, value: model.repoId });
  }
  if (model.revision) entries.push({ key: KEY.sourceRevision, type: GgufValueType.STRING, value: model.revision });
  entries.push({ key: KEY.toolName, type: GgufValueType.STRING, value: TOOL_NAME });
  entries.push({ key: KEY.toolVersion, type: GgufValueType.STRING, value: TOOL_VERSION });
  if (model.config) entries.push(...configEntries(model.architecture, model.config));
  return entries;
}

function configEntries(architecture: string, config: Record<string, unknown>): GgufMetadataEntry[] {
  const standard = new Map<ArchitectureKey, GgufMetadataEntry>();
  // Config names whose value went under a standard key; one of a type the key cannot hold keeps its own name.
  const mapped = new Set<string>();
  for (const [key, configNames] of STANDARD_KEYS) {
    const configName = configNames.find((name) => typeof config[name] === 'number');
    const entry = configName === undefined ? undefined : standardEntry(architecture, key, config[configName] as number);
    if (!entry) continue;
    mapped.add(configName!);
    standard.set(key, entry);
  }
  if (architecture === 'kyutai-stt') {
    for (const [key, value] of kyutaiSizes(config)) {
      const entry = standardEntry(architecture, key, value);
      if (entry) standard.set(key, entry);
    }
  }
  const entries = [...standard.values()];
  // Everything else keeps its config.json name (nested objects flattened with dots), so a runtime
  // finds any hyper-parameter it needs without the config file. The walk keeps its own stack, so a
  // config nested thousands of levels deep gets an error instead of overflowing the call stack.
  // Depth first in the config's own order, as a recursive walk would go.
  const stack: { prefix: string; fields: Iterator<[string, unknown]> }[] = [
    { prefix: '', fields: Object.entries(config)[Symbol.iterator]() },
  ];
  while (stack.length > 0) {
    const { prefix, fields } = stack.at(-1)!;
    const next = fields.next();
    if (next.done) {
      stack.pop();
      continue;
    }
    const [name, value] = next.value;
    if (prefix === '' && mapped.has(name)) continue;
    const path = prefix ? `${prefix}.${name}` : name;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (stack.length > MAX_CONFIG_DEPTH) {
        throw new QuantgateError(
          `config.json nests objects more than ${MAX_CONFIG_DEPTH} levels deep (at "${path.length > 80 ? `${path.slice(0, 80)}…` : path}"), ` +
            'deeper than any model config; fix or remove config.json',
        );
      }
      stack.push({ prefix: path, fields: Object.entries(value)[Symbol.iterator]() });
    } else {
      const entry = toEntry(`${architecture}.${path}`, value);
      if (entry) entries.push(entry);
    }
  }
  return entries;
}

/**
 * The sizes the seed's quantize.py records for Kyutai STT, from the config as moshi reads it: the
 * gated MLP's hidden width (moshi's ActivationGating: 21·dim/8 when dim_feedforward is 4·dim, else
 * 2·dim_feedforward/3, with dim_feedforward = hidden_scale·dim), the text vocabulary the LM predicts
 * (`text_card`) and the rows of each audio embedding (`card` tokens plus the initial token).
 */
function kyutaiSizes(config: Record<string, unknown>): [ArchitectureKey, number][] {
  const sizes: [ArchitectureKey, number][] = [];
  const { dim, hidden_scale: hiddenScale, text_card: textCard, card, gating } = config;
  if (typeof dim === 'number' && typeof hiddenScale === 'number') {
    const feedForward = Math.trunc(hiddenScale * dim);
    const gated = gating !== undefined && gating !== 'none';
    sizes.push([
      ARCHITECTURE_KEY.feedForwardLength,
      !gated ? feedForward : feedForward === 4 * dim ? Math.floor((21 * dim) / 8) : Math.floor((2 * feedForward) / 3),
    ]);
  }
  if (typeof textCard === 'number') sizes.push([ARCHITECTURE_KEY.vocabSize, textCard]);
  if (typeof card === 'number') sizes.push([ARCHITECTURE_KEY.audioVocabSize, card + 1]);
  return sizes;
}

/** A hyper-parameter in the type llama.cpp gives its key; a value that type cannot hold is left out. */
function standardEntry(architecture: string, standard: ArchitectureKey, value: number): GgufMetadataEntry | undefined {
  const key = architectureKey(architecture, standard);
  if (standard.type === GgufValueType.FLOAT32)
    return Number.isFinite(value) ? { key, type: GgufValueType.FLOAT32, value } : undefined;
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff
    ? { key, type: GgufValueType.UINT32, value }
    : undefined;
}

function toEntry(key: string, value: unknown): GgufMetadataEntry | undefined {
  if (typeof value === 'string') return { key, type: GgufValueType.STRING, value };
  if (typeof value === 'boolean') return { key, type: GgufValueType.BOOL, value };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { key, type: GgufValueType.FLOAT32, value };
    if (value >= 0 && value <= 0xffffffff) return { key, type: GgufValueType.UINT32, value };
    if (value < 0 && value >= -0x80000000) return { key, type: GgufValueType.INT32, value };
    return value >= 0
      ? { key, type: GgufValueType.UINT64, value: BigInt(value) }
      : { key, type: GgufValueType.INT64, value: BigInt(value) };
  }
  if (Array.isArray(value) && value.length > 0) {
    if (value.every((item) => typeof item === 'string'))
      return { key, type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value };
    if (value.every((item) => typeof item === 'boolean'))
      return { key, type: GgufValueType.ARRAY, itemType: GgufValueType.BOOL, value };
    if (value.every((item) => Number.isInteger(item) && Math.abs(item) <= 0x7fffffff)) {
      return { key, type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value };
    }
    if (value.every((item) => typeof item === 'number' && Number.isFinite(item))) {
      return { key, type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value };
    }
  }
  // null, empty arrays and mixed or nested arrays have no faithful GGUF form; config.json keeps them.
  return undefined;
}
