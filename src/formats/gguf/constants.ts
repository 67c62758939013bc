// GGUF and ggml constants, spelled out once: file magic and version, metadata value types,
// tensor types with their block geometry, llama.cpp's file-type numbering, and standard key names.
// Numbers follow ggml's gguf.h / ggml.h and llama.cpp's llama_ftype.

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's reader refuses names of GGML_MAX_NAME (64) bytes or more. */
export const GGML_MAX_NAME = 64;
export const GGML_MAX_DIMS = 4;

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** The tensor types quantgate reads or writes. */
export type GgmlTypeName = 'F32' | 'F16' | 'Q4_0' | 'Q8_0' | 'BF16';

export interface GgmlTypeInfo {
  name: GgmlTypeName;
  /** ggml's enum ggml_type value, stored in the GGUF tensor info. */
  id: number;
  /** Elements per block; ne[0] must be a multiple of it. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

export const GGML_TYPES: Readonly<Record<GgmlTypeName, GgmlTypeInfo>> = {
  F32: { name: 'F32', id: 0, blockSize: 1, typeSize: 4 },
  F16: { name: 'F16', id: 1, blockSize: 1, typeSize: 2 },
  Q4_0: { name: 'Q4_0', id: 2, blockSize: 32, typeSize: 18 },
  Q8_0: { name: 'Q8_0', id: 8, blockSize: 32, typeSize: 34 },
  BF16: { name: 'BF16', id: 30, blockSize: 1, typeSize: 2 },
};

export function ggmlTypeById(id: number): GgmlTypeInfo | undefined {
  return Object.values(GGML_TYPES).find((info) => info.id === id);
}

/** Bytes taken by `elements` values of `type`; `elements` must be a whole number of blocks. */
export function tensorByteSize(type: GgmlTypeName, elements: number): number {
  const info = GGML_TYPES[type];
  return (elements / info.blockSize) * info.typeSize;
}

/** llama.cpp's llama_ftype values for `general.file_type`: the type most tensors have. */
export const LLAMA_FILE_TYPE: Readonly<Record<GgmlTypeName, number>> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q8_0: 7,
  BF16: 32,
};

/** ggml's GGML_QNT_VERSION: the current layout of quantized blocks. */
export const GGML_QUANTIZATION_VERSION = 2;

/**
 * Every metadata key quantgate writes or reads, spelled once, as gguf-py's constants.py keeps them.
 * Keys of the GGUF spec and llama.cpp come first; `quantgate.*` keys are this tool's own.
 */
export const KEY = {
  architecture: 'general.architecture',
  name: 'general.name',
  quantizationVersion: 'general.quantization_version',
  fileType: 'general.file_type',
  alignment: 'general.alignment',
  /** Where the source model lives: its Hub page for a Hub model. */
  sourceUrl: 'general.source.url',
  /** The Hub repo id (`org/name`) the source model came from. */
  sourceHuggingFaceRepository: 'general.source.huggingface.repository',
  splitNo: 'split.no',
  splitCount: 'split.count',
  splitTensorsCount: 'split.tensors.count',
  /** The resolved commit of the source model; the GGUF spec has no key for it. */
  sourceRevision: 'quantgate.source.revision',
  toolName: 'quantgate.tool.name',
  toolVersion: 'quantgate.tool.version',
} as const;

/**
 * Hyper-parameter keys, written as `<architecture>.<name>`, with the value type llama.cpp's
 * gguf_writer gives the key of the same name (`audio_vocab_size` is not llama.cpp's: the seed's
 * quantize.py writes it beside `vocab_size`, for the audio codebooks' embedding rows).
 */
export const ARCHITECTURE_KEY = {
  contextLength: { name: 'context_length', type: GgufValueType.UINT32 },
  embeddingLength: { name: 'embedding_length', type: GgufValueType.UINT32 },
  blockCount: { name: 'block_count', type: GgufValueType.UINT32 },
  feedForwardLength: { name: 'feed_forward_length', type: GgufValueType.UINT32 },
  headCount: { name: 'attention.head_count', type: GgufValueType.UINT32 },
  ropeFreqBase: { name: 'rope.freq_base', type: GgufValueType.FLOAT32 },
  vocabSize: { name: 'vocab_size', type: GgufValueType.UINT32 },
  audioVocabSize: { name: 'audio_vocab_size', type: GgufValueType.UINT32 },
} as const satisfies Record<string, { name: string; type: GgufValueType.UINT32 | GgufValueType.FLOAT32 }>;

export type ArchitectureKey = (typeof ARCHITECTURE_KEY)[keyof typeof ARCHITECTURE_KEY];

/** The full name of a hyper-parameter key: `<architecture>.<name>`. */
export function architectureKey(architecture: string, key: ArchitectureKey): string {
  return `${architecture}.${key.name}`;
}
