// Parses a GGUF (v3, or v2, which has the same layout) from a random-access source with the checks
// ggml's gguf_init_from_file makes, and streams tensor bytes on demand. Every count and length is
// checked against the bytes left before anything is allocated, so a corrupt or hostile header
// fails with a one-line error naming the file instead of exhausting memory.

import { QuantgateError } from '../../common/errors.js';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufValueType,
  KEY,
  ggmlTypeById,
} from './constants.js';
import { alignUp, type GgufTensorInfo } from './layout.js';
import { SCALAR_BYTES, findMetadata, isScalarType, type GgufMetadataEntry, type GgufScalarType } from './metadata.js';
import { openSource, type RandomAccessSource } from './source.js';

/** A model's keys and tensors, whether they lie in one GGUF or across the files of a split. */
export interface GgufModel {
  readonly metadata: readonly GgufMetadataEntry[];
  /** Offsets count from the data section of the file holding the tensor. */
  readonly tensors: readonly GgufTensorInfo[];
  /** A tensor's bytes in chunks of at most `chunkBytes`. */
  readChunks(name: string, chunkBytes?: number): AsyncGenerator<Uint8Array>;
  /** A tensor's bytes whole. */
  read(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface GgufFile extends GgufModel {
  /** The file or byte-shard folder it was read from. */
  readonly path: string;
  readonly version: number;
  readonly alignment: number;
  /** Where the data section starts; tensor offsets count from here. */
  readonly dataOffset: number;
}

const DEFAULT_CHUNK_BYTES = 4 << 20;
/** The fewest bytes a key-value pair (empty key, u8 value) or a tensor info (empty name, no dims) takes. */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;

/** Opens a .gguf file, or a folder of byte shards holding one. */
export async function openGguf(path: string): Promise<GgufFile> {
  const source = await openSource(path);
  try {
    return await readGguf(source);
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Parses the header of the GGUF in `source`; the returned file owns the source and closes it. */
async function readGguf(source: RandomAccessSource): Promise<GgufFile> {
  const cursor = new HeaderCursor(source);
  const magic = await cursor.u32('the magic');
  if (magic !== GGUF_MAGIC) {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(magic);
    const text = bytes.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    throw cursor.fail(`starts with "${text}" instead of "GGUF"; it is not a GGUF file — point to a .gguf file`);
  }
  const version = await readVersion(cursor);
  const tensorCount = await cursor.count('the tensor count', MIN_TENSOR_INFO_BYTES);
  const kvCount = await cursor.count('the key count', MIN_KV_BYTES);
  const metadata: GgufMetadataEntry[] = [];
  const keys = new Set<string>();
  for (let i = 0; i < kvCount; i++) {
    const entry = await readEntry(cursor, i);
    if (keys.has(entry.key))
      throw cursor.fail(`has the key ${entry.key} twice; the file is corrupt — convert it again`);
    keys.add(entry.key);
    metadata.push(entry);
  }
  const alignment = readAlignment(cursor, metadata);
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  let expectedOffset = 0;
  for (let i = 0; i < tensorCount; i++) {
    const tensor = await readTensorInfo(cursor, names);
    if (tensor.offset !== expectedOffset) {
      throw cursor.fail(
        `tensor ${tensor.name} is at data offset ${tensor.offset} but ggml expects ${expectedOffset} (the previous tensors' sizes, each padded to ${alignment}); the file is corrupt — convert it again`,
      );
    }
    expectedOffset += alignUp(tensor.size, alignment);
    tensors.push(tensor);
  }
  const dataOffset = alignUp(cursor.position, alignment);
  const last = tensors.at(-1);
  if (last && dataOffset + last.offset + last.size > source.size) {
    throw cursor.fail(
      `tensor ${last.name} ends at byte ${dataOffset + last.offset + last.size} but the file has ${source.size}; it is truncated — download it again`,
    );
  }
  return openedFile(source, { version, alignment, dataOffset, metadata, tensors });
}

function openedFile(
  source: RandomAccessSource,
  header: Pick<GgufFile, 'version' | 'alignment' | 'dataOffset' | 'metadata' | 'tensors'>,
): GgufFile {
  const byName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  const find = (name: string) => {
    const tensor = byName.get(name);
    if (!tensor)
      throw new QuantgateError(
        `${source.name} has no tensor named ${name}; it holds another model — point to the right file`,
      );
    return tensor;
  };
  async function* readChunks(name: string, chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1)
      throw new Error(`chunk size ${chunkBytes} is not a positive whole number of bytes`);
    const tensor = find(name);
    const start = header.dataOffset + tensor.offset;
    for (let done = 0; done < tensor.size; done += chunkBytes) {
      yield await source.read(start + done, Math.min(chunkBytes, tensor.size - done));
    }
  }
  return {
    path: source.name,
    ...header,
    readChunks,
    async read(name) {
      const tensor = find(name);
      return source.read(header.dataOffset + tensor.offset, tensor.size);
    },
    close: () => source.close(),
  };
}

async function readVersion(cursor: HeaderCursor): Promise<number> {
  const version = await cursor.u32('the version');
  if (version === 0 || (version & 0xffff) === 0) {
    throw cursor.fail(
      `has version 0x${version.toString(16)}, which is a big-endian GGUF or not a GGUF; quantgate reads little-endian GGUF v2 and v3 — convert it again`,
    );
  }
  if (version < 2 || version > 3) {
    throw cursor.fail(
      `is GGUF version ${version}; quantgate reads versions 2 and 3 — convert it with a current llama.cpp`,
    );
  }
  return version;
}

async function readEntry(cursor: HeaderCursor, index: number): Promise<GgufMetadataEntry> {
  const key = await cursor.string(`key ${index}`);
  if (key === '') throw cursor.fail(`has an empty key (key ${index}); the file is corrupt — convert it again`);
  const type = await cursor.i32(`the type of ${key}`);
  if (type === GgufValueType.ARRAY) {
    const itemType = await cursor.i32(`the item type of ${key}`);
    if (!isScalarType(itemType))
      throw cursor.fail(
        `key ${key} is an array of unknown GGUF type ${itemType}; the file is corrupt or newer than quantgate — convert it again`,
      );
    const length = await cursor.count(
      `the length of ${key}`,
      itemType === GgufValueType.STRING ? 8 : SCALAR_BYTES[itemType],
    );
    const value = await cursor.array(itemType, length, key);
    return { key, type, itemType, value } as GgufMetadataEntry;
  }
  if (!isScalarType(type))
    throw cursor.fail(
      `key ${key} has unknown GGUF type ${type}; the file is corrupt or newer than quantgate — convert it again`,
    );
  return { key, type, value: await cursor.scalar(type, key) } as GgufMetadataEntry;
}

function readAlignment(cursor: HeaderCursor, metadata: readonly GgufMetadataEntry[]): number {
  const entry = findMetadata(metadata, KEY.alignment);
  if (!entry) return GGUF_DEFAULT_ALIGNMENT;
  if (entry.type !== GgufValueType.UINT32)
    throw cursor.fail(
      `stores ${KEY.alignment} as GGUF type ${entry.type}, not UINT32 as ggml requires; convert it again`,
    );
  if (entry.value === 0 || (entry.value & (entry.value - 1)) !== 0)
    throw cursor.fail(`has ${KEY.alignment} ${entry.value}, not a power of two; convert it again`);
  return entry.value;
}

async function readTensorInfo(cursor: HeaderCursor, names: Set<string>): Promise<GgufTensorInfo> {
  const name = await cursor.string('a tensor name');
  const nameBytes = Buffer.byteLength(name, 'utf8');
  if (nameBytes >= GGML_MAX_NAME)
    throw cursor.fail(
      `has tensor name "${name}" of ${nameBytes} bytes; ggml refuses names of ${GGML_MAX_NAME} bytes or more — convert it with shorter names`,
    );
  if (names.has(name)) throw cursor.fail(`has tensor ${name} twice; the file is corrupt — convert it again`);
  names.add(name);
  const dims = await cursor.u32(`the dimension count of ${name}`);
  if (dims > GGML_MAX_DIMS)
    throw cursor.fail(
      `gives tensor ${name} ${dims} dimensions, more than ggml's ${GGML_MAX_DIMS}; the file is corrupt — convert it again`,
    );
  const ne: number[] = [];
  for (let d = 0; d < dims; d++) {
    const n = await cursor.i64(`dimension ${d} of ${name}`);
    if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER))
      throw cursor.fail(`gives tensor ${name} dimension ${d} of ${n} elements; the file is corrupt — convert it again`);
    ne.push(Number(n));
  }
  const typeId = await cursor.i32(`the type of ${name}`);
  const type = ggmlTypeById(typeId);
  if (!type) {
    throw cursor.fail(
      `gives tensor ${name} ggml type ${typeId}, which quantgate does not read (it reads ${Object.values(GGML_TYPES)
        .map((info) => `${info.name}=${info.id}`)
        .join(', ')}); convert the model to one of these`,
    );
  }
  // A tensor without dimensions is one value, so a row of 1.
  const rowLength = ne[0] ?? 1;
  if (rowLength % type.blockSize !== 0) {
    const row = ne.length === 0 ? 'no dimensions (a single value)' : `${rowLength} elements per row`;
    throw cursor.fail(
      `gives ${type.name} tensor ${name} ${row}, not a multiple of the ${type.name} block size ${type.blockSize}; the file is corrupt — convert it again`,
    );
  }
  const elements = ne.reduce((product, n) => product * n, 1);
  const size = (elements / type.blockSize) * type.typeSize;
  if (!Number.isSafeInteger(size))
    throw cursor.fail(
      `gives tensor ${name} shape [${ne.join(', ')}], too large to address; the file is corrupt — convert it again`,
    );
  const offset = await cursor.i64(`the offset of ${name}`, true);
  return { name, type: type.name, ne, offset: Number(offset), size };
}

const utf8 = new TextDecoder('utf-8');

/** Reads the header front to back through a window of the source, checking every read against the size. */
class HeaderCursor {
  position = 0;
  private window: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private windowStart = 0;

  constructor(private readonly source: RandomAccessSource) {}

  fail(problem: string): QuantgateError {
    return new QuantgateError(`${this.source.name}: ${problem}`);
  }

  async u32(what: string): Promise<number> {
    const at = await this.take(4, what);
    return this.view.getUint32(at, true);
  }

  async i32(what: string): Promise<number> {
    const at = await this.take(4, what);
    return this.view.getInt32(at, true);
  }

  async i64(what: string, unsigned = false): Promise<bigint> {
    const at = await this.take(8, what);
    return unsigned ? this.view.getBigUint64(at, true) : this.view.getBigInt64(at, true);
  }

  /** A u64 count of records each at least `minBytes` long, refused if they cannot fit in what is left. */
  async count(what: string, minBytes: number): Promise<number> {
    const at = await this.take(8, what);
    const count = this.view.getBigUint64(at, true);
    const left = this.source.size - this.position;
    if (count * BigInt(minBytes) > BigInt(left)) {
      throw this.fail(
        `claims ${count} for ${what}, more than the ${left} bytes left can hold; the file is corrupt or truncated — download it again`,
      );
    }
    return Number(count);
  }

  async string(what: string): Promise<string> {
    const length = await this.i64(`the length of ${what}`, true);
    const left = this.source.size - this.position;
    if (length > BigInt(left)) {
      throw this.fail(
        `says ${what} is ${length} bytes long at byte ${this.position - 8} but only ${left} bytes are left; the file is truncated or corrupt — download it again`,
      );
    }
    const at = await this.take(Number(length), what);
    return utf8.decode(this.window.subarray(at, at + Number(length)));
  }

  async scalar(type: GgufScalarType, what: string): Promise<number | bigint | boolean | string> {
    if (type === GgufValueType.STRING) return this.string(what);
    const at = await this.take(SCALAR_BYTES[type], what);
    return scalarAt(this.view, at, type);
  }

  async array(type: GgufScalarType, length: number, what: string): Promise<unknown[]> {
    const values: unknown[] = [];
    if (type === GgufValueType.STRING) {
      for (let i = 0; i < length; i++) values.push(await this.string(`item ${i} of ${what}`));
      return values;
    }
    const itemBytes = SCALAR_BYTES[type];
    const at = await this.take(itemBytes * length, what);
    for (let i = 0; i < length; i++) values.push(scalarAt(this.view, at + i * itemBytes, type));
    return values;
  }

  /** Advances past `length` bytes and returns where they start in the window. */
  private async take(length: number, what: string): Promise<number> {
    if (this.position + length > this.source.size) {
      throw this.fail(
        `ends inside the header: ${what} at byte ${this.position} needs ${length} bytes but the file has ${this.source.size}; it is truncated — download it again`,
      );
    }
    if (this.position + length > this.windowStart + this.window.byteLength) {
      const size = Math.min(Math.max(length, 1 << 16), this.source.size - this.position);
      this.window = await this.source.read(this.position, size);
      this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
      this.windowStart = this.position;
    }
    const at = this.position - this.windowStart;
    this.position += length;
    return at;
  }
}

function scalarAt(
  view: DataView,
  at: number,
  type: Exclude<GgufScalarType, GgufValueType.STRING>,
): number | bigint | boolean {
  switch (type) {
    case GgufValueType.UINT8:
      return view.getUint8(at);
    case GgufValueType.INT8:
      return view.getInt8(at);
    case GgufValueType.BOOL:
      return view.getInt8(at) !== 0;
    case GgufValueType.UINT16:
      return view.getUint16(at, true);
    case GgufValueType.INT16:
      return view.getInt16(at, true);
    case GgufValueType.UINT32:
      return view.getUint32(at, true);
    case GgufValueType.INT32:
      return view.getInt32(at, true);
    case GgufValueType.FLOAT32:
      return view.getFloat32(at, true);
    case GgufValueType.UINT64:
      return view.getBigUint64(at, true);
    case GgufValueType.INT64:
      return view.getBigInt64(at, true);
    case GgufValueType.FLOAT64:
      return view.getFloat64(at, true);
  }
}
