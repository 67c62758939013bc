// Plans one GGUF v3 file before any tensor data exists: checks keys and tensors against the rules
// ggml's reader enforces, places every tensor at its aligned offset, and encodes the header
// exactly as ggml's gguf_write_to_file does (magic, version, counts, keys, tensor infos, zero
// padding to the alignment). The total file size is known from the plan alone.

import { QuantgateError } from '../../common/errors.js';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgufValueType,
  KEY,
  type GgmlTypeName,
} from './constants.js';
import { SCALAR_BYTES, findMetadata, type GgufMetadataEntry, type GgufScalarType } from './metadata.js';

export interface GgufTensorSpec {
  name: string;
  type: GgmlTypeName;
  /**
   * Elements per dimension, innermost first, written as given (1 to 4 dims). ggml's own writer
   * drops trailing 1s, so pass [7] rather than [7, 1] to match its bytes.
   */
  ne: readonly number[];
}

export interface GgufTensorInfo extends GgufTensorSpec {
  /** Byte offset from the start of the data section; a multiple of the alignment. */
  offset: number;
  /** Bytes of tensor data, padding excluded. */
  size: number;
}

export interface GgufLayout {
  alignment: number;
  /** The keys as written, `general.alignment` included when it is not the default. */
  metadata: readonly GgufMetadataEntry[];
  tensors: readonly GgufTensorInfo[];
  /** Every byte before the data section, padding included. */
  header: Uint8Array;
  dataOffset: number;
  totalSize: number;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/**
 * Lays out a GGUF of `metadata` and `tensors` in their given order. The alignment comes from
 * `options.alignment`, else from a `general.alignment` entry, else ggml's default of 32; a
 * non-default one is appended as `general.alignment` (UINT32) unless the metadata has it already.
 */
export function planGguf(
  metadata: readonly GgufMetadataEntry[],
  tensors: readonly GgufTensorSpec[],
  options: { alignment?: number } = {},
): GgufLayout {
  const { alignment, entries } = resolveAlignment(metadata, options.alignment);
  checkMetadata(entries);
  const infos = placeTensors(tensors, alignment);
  const header = encodeHeader(entries, infos, alignment);
  const last = infos.at(-1);
  return {
    alignment,
    metadata: entries,
    tensors: infos,
    header,
    dataOffset: header.byteLength,
    totalSize: header.byteLength + (last ? alignUp(last.offset + last.size, alignment) : 0),
  };
}

/** Bytes the key-value section takes for `metadata`. */
export function metadataByteSize(metadata: readonly GgufMetadataEntry[]): number {
  return metadata.reduce((sum, entry) => sum + stringSize(entry.key) + 4 + valueSize(entry), 0);
}

/** Bytes one tensor's info record takes in the header. */
export function tensorInfoByteSize(tensor: GgufTensorSpec): number {
  return stringSize(tensor.name) + 4 + 8 * tensor.ne.length + 4 + 8;
}

/** Bytes of a tensor's data, padding excluded. */
export function tensorDataSize(tensor: GgufTensorSpec): number {
  const info = GGML_TYPES[tensor.type];
  const elements = tensor.ne.reduce((product, n) => product * n, 1);
  return (elements / info.blockSize) * info.typeSize;
}

/** Bytes before the key-value section: magic, version, tensor count, key count. */
export const FIXED_HEADER_BYTES = 24;

function resolveAlignment(
  metadata: readonly GgufMetadataEntry[],
  requested: number | undefined,
): { alignment: number; entries: GgufMetadataEntry[] } {
  const entries = [...metadata];
  const stored = findMetadata(metadata, KEY.alignment);
  if (stored && stored.type !== GgufValueType.UINT32) {
    throw new QuantgateError(
      `metadata key ${KEY.alignment} has GGUF type ${stored.type} but ggml requires UINT32 (${GgufValueType.UINT32}); store it as UINT32`,
    );
  }
  const alignment = requested ?? (stored?.value as number | undefined) ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 1 || alignment > 2 ** 31 || (alignment & (alignment - 1)) !== 0) {
    throw new QuantgateError(
      `GGUF alignment ${alignment} is not a power of two; ggml's reader refuses it — use 32 or another power of two`,
    );
  }
  if (stored && stored.value !== alignment) {
    throw new QuantgateError(
      `metadata key ${KEY.alignment} says ${String(stored.value)} but the alignment asked for is ${alignment}; drop the key or make them agree`,
    );
  }
  if (!stored && alignment !== GGUF_DEFAULT_ALIGNMENT)
    entries.push({ key: KEY.alignment, type: GgufValueType.UINT32, value: alignment });
  return { alignment, entries };
}

const INTEGER_RANGES: Partial<Record<GgufScalarType, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};
const BIGINT_RANGES: Partial<Record<GgufScalarType, readonly [bigint, bigint]>> = {
  [GgufValueType.UINT64]: [0n, 2n ** 64n - 1n],
  [GgufValueType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
};

function checkMetadata(entries: readonly GgufMetadataEntry[]): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry.key === '')
      throw new QuantgateError('a GGUF metadata key is empty; ggml refuses empty keys — give every entry a name');
    if (seen.has(entry.key))
      throw new QuantgateError(`GGUF metadata key ${entry.key} appears twice; ggml refuses duplicate keys — keep one`);
    seen.add(entry.key);
    if (entry.type === GgufValueType.ARRAY) {
      if (!(entry.itemType in SCALAR_BYTES) && entry.itemType !== GgufValueType.STRING) {
        throw new QuantgateError(
          `metadata key ${entry.key}: arrays of GGUF type ${entry.itemType as number} cannot be written; ggml reads arrays of scalars and strings only`,
        );
      }
      for (const item of entry.value) checkScalar(entry.key, entry.itemType, item);
    } else {
      checkScalar(entry.key, entry.type, entry.value);
    }
  }
}

function checkScalar(key: string, type: GgufScalarType, value: unknown): void {
  const range = INTEGER_RANGES[type];
  const bigRange = BIGINT_RANGES[type];
  const fits = range
    ? Number.isInteger(value) && (value as number) >= range[0] && (value as number) <= range[1]
    : bigRange
      ? typeof value === 'bigint' && value >= bigRange[0] && value <= bigRange[1]
      : type === GgufValueType.BOOL
        ? typeof value === 'boolean'
        : type === GgufValueType.STRING
          ? typeof value === 'string'
          : typeof value === 'number';
  if (!fits) {
    throw new QuantgateError(
      `metadata key ${key}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)} is not a valid ${GgufValueType[type]} value; pass a value of the declared type and range`,
    );
  }
}

function placeTensors(tensors: readonly GgufTensorSpec[], alignment: number): GgufTensorInfo[] {
  const names = new Set<string>();
  let offset = 0;
  return tensors.map((tensor) => {
    checkTensor(tensor, names);
    const info = { name: tensor.name, type: tensor.type, ne: [...tensor.ne], offset, size: tensorDataSize(tensor) };
    offset += alignUp(info.size, alignment);
    return info;
  });
}

function checkTensor(tensor: GgufTensorSpec, names: Set<string>): void {
  const { name, type, ne } = tensor;
  const nameBytes = Buffer.byteLength(name, 'utf8');
  if (nameBytes === 0) throw new QuantgateError('a tensor has an empty name; ggml needs a name for every tensor');
  if (nameBytes >= GGML_MAX_NAME) {
    throw new QuantgateError(
      `tensor name "${name}" is ${nameBytes} bytes; ggml's reader refuses names of ${GGML_MAX_NAME} bytes or more (GGML_MAX_NAME) — shorten it`,
    );
  }
  if (names.has(name))
    throw new QuantgateError(
      `tensor name "${name}" appears twice; ggml's reader refuses duplicate names — give each tensor its own`,
    );
  names.add(name);
  const info = GGML_TYPES[type];
  if (!info)
    throw new QuantgateError(
      `tensor "${name}" has type ${String(type)}, which quantgate cannot write; use one of ${Object.keys(GGML_TYPES).join(', ')}`,
    );
  if (ne.length < 1 || ne.length > GGML_MAX_DIMS) {
    throw new QuantgateError(
      `tensor "${name}" has ${ne.length} dimensions; ggml handles 1 to ${GGML_MAX_DIMS} — reshape it`,
    );
  }
  if (!ne.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new QuantgateError(
      `tensor "${name}" has shape [${ne.join(', ')}]; every dimension must be a whole number ≥ 0`,
    );
  }
  if (ne[0]! % info.blockSize !== 0) {
    throw new QuantgateError(
      `tensor "${name}" has ${ne[0]} elements per row, not a multiple of the ${type} block size ${info.blockSize}; ggml's reader refuses it — store it in a non-block type such as F16`,
    );
  }
  if (!Number.isSafeInteger(ne.reduce((product, n) => product * n, 1))) {
    throw new QuantgateError(`tensor "${name}" with shape [${ne.join(', ')}] has too many elements to address`);
  }
}

function stringSize(text: string): number {
  return 8 + Buffer.byteLength(text, 'utf8');
}

function valueSize(entry: GgufMetadataEntry): number {
  if (entry.type === GgufValueType.STRING) return stringSize(entry.value);
  if (entry.type !== GgufValueType.ARRAY) return SCALAR_BYTES[entry.type];
  const items =
    entry.itemType === GgufValueType.STRING
      ? entry.value.reduce((sum, item) => sum + stringSize(item), 0)
      : entry.value.length * SCALAR_BYTES[entry.itemType];
  return 4 + 8 + items;
}

function encodeHeader(
  metadata: readonly GgufMetadataEntry[],
  tensors: readonly GgufTensorInfo[],
  alignment: number,
): Uint8Array {
  const unpadded =
    FIXED_HEADER_BYTES +
    metadataByteSize(metadata) +
    tensors.reduce((sum, tensor) => sum + tensorInfoByteSize(tensor), 0);
  const out = new HeaderEncoder(alignUp(unpadded, alignment));
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(BigInt(tensors.length));
  out.u64(BigInt(metadata.length));
  for (const entry of metadata) {
    out.string(entry.key);
    out.i32(entry.type);
    if (entry.type === GgufValueType.ARRAY) {
      out.i32(entry.itemType);
      out.u64(BigInt(entry.value.length));
      for (const item of entry.value) out.scalar(entry.itemType, item);
    } else {
      out.scalar(entry.type, entry.value);
    }
  }
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.ne.length);
    for (const n of tensor.ne) out.u64(BigInt(n));
    out.i32(GGML_TYPES[tensor.type].id);
    out.u64(BigInt(tensor.offset));
  }
  if (out.position !== unpadded)
    throw new Error(`GGUF header encoded ${out.position} bytes but ${unpadded} were planned`);
  return out.bytes;
}

/** Little-endian writes into a buffer of known size; the tail stays zero, which is the padding. */
class HeaderEncoder {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  position = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u32(value: number): void {
    this.view.setUint32(this.position, value, true);
    this.position += 4;
  }

  i32(value: number): void {
    this.view.setInt32(this.position, value, true);
    this.position += 4;
  }

  u64(value: bigint): void {
    this.view.setBigUint64(this.position, value, true);
    this.position += 8;
  }

  string(text: string): void {
    const encoded = Buffer.from(text, 'utf8');
    this.u64(BigInt(encoded.byteLength));
    this.bytes.set(encoded, this.position);
    this.position += encoded.byteLength;
  }

  scalar(type: GgufScalarType, value: number | bigint | boolean | string): void {
    const view = this.view;
    const at = this.position;
    switch (type) {
      case GgufValueType.STRING:
        return this.string(value as string);
      case GgufValueType.UINT8:
        view.setUint8(at, value as number);
        break;
      case GgufValueType.INT8:
        view.setInt8(at, value as number);
        break;
      case GgufValueType.BOOL:
        view.setUint8(at, value ? 1 : 0);
        break;
      case GgufValueType.UINT16:
        view.setUint16(at, value as number, true);
        break;
      case GgufValueType.INT16:
        view.setInt16(at, value as number, true);
        break;
      case GgufValueType.UINT32:
        view.setUint32(at, value as number, true);
        break;
      case GgufValueType.INT32:
        view.setInt32(at, value as number, true);
        break;
      case GgufValueType.FLOAT32:
        view.setFloat32(at, value as number, true);
        break;
      case GgufValueType.UINT64:
        view.setBigUint64(at, value as bigint, true);
        break;
      case GgufValueType.INT64:
        view.setBigInt64(at, value as bigint, true);
        break;
      case GgufValueType.FLOAT64:
        view.setFloat64(at, value as number, true);
        break;
    }
    this.position += SCALAR_BYTES[type];
  }
}
