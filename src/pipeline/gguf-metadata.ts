// The metadata a quantized model's GGUF carries: the general.* keys llama.cpp's tools read, where
// the weights came from (repo, commit), which tool wrote them, and the model's hyper-parameters from
// its config.json under `<architecture>.`, with llama.cpp's names where one exists.

import { GGML_QUANTIZATION_VERSION, GgufValueType, KEY } from '../formats/gguf/constants.js';
import type { GgufMetadataEntry } from '../formats/gguf/metadata.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export interface ModelDescription {
  architecture: string;
  name: string;
  fileType: number;
  repoId?: string;
  /** The resolved commit sha of the source. */
  revision?: string;
  /** The parsed config.json, when the model has one. */
  config?: Record<string, unknown>;
}

/** llama.cpp's hyper-parameter names and the config.json keys that carry them in the wild. */
const STANDARD_KEYS: readonly [string, readonly string[]][] = [
  ['context_length', ['context', 'max_position_embeddings', 'n_ctx']],
  ['embedding_length', ['dim', 'hidden_size', 'd_model', 'n_embd']],
  ['block_count', ['num_layers', 'num_hidden_layers', 'n_layer']],
  ['feed_forward_length', ['intermediate_size', 'dim_feedforward', 'n_inner']],
  ['attention.head_count', ['num_heads', 'num_attention_heads', 'n_head']],
  ['rope.freq_base', ['max_period', 'rope_theta']],
  ['vocab_size', ['vocab_size']],
];

export function buildGgufMetadata(model: ModelDescription): GgufMetadataEntry[] {
  const entries: GgufMetadataEntry[] = [
    { key: KEY.architecture, type: GgufValueType.STRING, value: model.architecture },
    { key: KEY.name, type: GgufValueType.STRING, value: model.name },
    { key: KEY.quantizationVersion, type: GgufValueType.UINT32, value: GGML_QUANTIZATION_VERSION },
    { key: KEY.fileType, type: GgufValueType.UINT32, value: model.fileType },
  ];
  if (model.repoId) {
    entries.push({ key: 'general.source.repo_url', type: GgufValueType.STRING, value: `https://huggingface.co/${model.repoId}` });
    entries.push({ key: 'quantgate.source.repo_id', type: GgufValueType.STRING, value: model.repoId });
  }
  if (model.revision) entries.push({ key: 'quantgate.source.revision', type: GgufValueType.STRING, value: model.revision });
  entries.push({ key: 'quantgate.tool.name', type: GgufValueType.STRING, value: TOOL_NAME });
  entries.push({ key: 'quantgate.tool.version', type: GgufValueType.STRING, value: TOOL_VERSION });
  if (model.config) entries.push(...configEntries(model.architecture, model.config));
  return entries;
}

function configEntries(architecture: string, config: Record<string, unknown>): GgufMetadataEntry[] {
  const entries: GgufMetadataEntry[] = [];
  const mapped = new Set<string>();
  for (const [ggufName, configNames] of STANDARD_KEYS) {
    const configName = configNames.find((name) => typeof config[name] === 'number');
    if (configName === undefined) continue;
    mapped.add(configName);
    entries.push(toEntry(`${architecture}.${ggufName}`, config[configName])!);
  }
  // Everything else keeps its config.json name (nested objects flattened with dots), so a runtime
  // finds any hyper-parameter it needs without the config file.
  const visit = (prefix: string, object: Record<string, unknown>) => {
    for (const [name, value] of Object.entries(object)) {
      if (prefix === '' && mapped.has(name)) continue;
      const path = prefix ? `${prefix}.${name}` : name;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) visit(path, value as Record<string, unknown>);
      else {
        const entry = toEntry(`${architecture}.${path}`, value);
        if (entry) entries.push(entry);
      }
    }
  };
  visit('', config);
  return entries;
}

function toEntry(key: string, value: unknown): GgufMetadataEntry | undefined {
  if (typeof value === 'string') return { key, type: GgufValueType.STRING, value };
  if (typeof value === 'boolean') return { key, type: GgufValueType.BOOL, value };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { key, type: GgufValueType.FLOAT32, value };
    if (value >= 0 && value <= 0xffffffff) return { key, type: GgufValueType.UINT32, value };
    if (value < 0 && value >= -0x80000000) return { key, type: GgufValueType.INT32, value };
    return value >= 0 ? { key, type: GgufValueType.UINT64, value: BigInt(value) } : { key, type: GgufValueType.INT64, value: BigInt(value) };
  }
  if (Array.isArray(value) && value.length > 0) {
    if (value.every((item) => typeof item === 'string')) return { key, type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value };
    if (value.every((item) => typeof item === 'boolean')) return { key, type: GgufValueType.ARRAY, itemType: GgufValueType.BOOL, value };
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
