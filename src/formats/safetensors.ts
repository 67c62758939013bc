// Reads safetensors weights without loading them: finds the weights of a model folder, validates
// the header of a single file or of every shard behind a `*.safetensors.index.json`, then streams
// tensor bytes through positioned reads in bounded chunks. Pickle checkpoints are refused.
//
// Tensor order: shards in the order the index's `weight_map` first names them; within a file, by
// data offset. The reference writer lays data out in header order, so for its files this is the
// header order, without the reordering JavaScript applies to integer-like JSON keys.
// Layout rules follow the reference (Rust) crate, except that gaps between tensors and bytes after
// the last one are tolerated: they leave every tensor's data unambiguous.

import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { QuantgateError, describeError, jsonText } from '../common/errors.js';

/** Bits per element of every dtype the safetensors format defines. */
export const SAFETENSORS_DTYPE_BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BITS;

/** The dtypes that convert to float32 exactly; only these can be read as weights. */
const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

function isSafetensorsDtype(value: string): value is SafetensorsDtype {
  return Object.hasOwn(SAFETENSORS_DTYPE_BITS, value);
}

export function isFloatDtype(dtype: SafetensorsDtype): dtype is FloatDtype {
  return (FLOAT_DTYPES as readonly string[]).includes(dtype);
}

/** The reference crate's MAX_HEADER_SIZE: a longer header means a corrupt or foreign file. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** As stored: outermost dimension first. */
  readonly shape: readonly number[];
  readonly elementCount: number;
  readonly byteLength: number;
  /** Absolute path of the file holding the data. */
  readonly file: string;
  /** Position of the first data byte from the start of `file`. */
  readonly dataOffset: number;
}

export interface SafetensorsFile {
  /** Absolute path. */
  readonly path: string;
  /** The header's `__metadata__` entry; empty when the file has none. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: readonly SafetensorsTensor[];
}

export interface ChunkOptions {
  /** Upper bound on each chunk's size. */
  maxBytes: number;
  /** Every chunk but the last holds a multiple of this many elements (default 1). */
  elementMultiple?: number;
}

const INDEX_SUFFIX = '.safetensors.index.json';
const PICKLE_EXTENSIONS = ['.bin', '.pt', '.pth', '.ckpt', '.pkl'];
const PICKLE_REFUSAL =
  'quantgate refuses pickle checkpoints because unpickling can execute arbitrary code; convert them to safetensors (e.g. with the safetensors Python package or Hugging Face\'s "Convert to Safetensors" space) or pick a repo revision that has .safetensors weights';
const REDOWNLOAD = 'download it again';
/** An index only maps names to files; a larger one is not an index. */
const MAX_INDEX_BYTES = 100_000_000;
/** One read call stays far below the 2 GiB that Node accepts per call. */
const MAX_READ_CALL_BYTES = 1 << 30;

/** Opens a model folder, a `.safetensors` file or a `*.safetensors.index.json` for streaming reads. */
export async function openSafetensors(path: string): Promise<SafetensorsReader> {
  const weights = await resolveSafetensorsWeights(path);
  const handles = new Map<string, FileHandle>();
  try {
    const files = weights.endsWith('.json') ? await openShards(weights, handles) : [await openFile(weights, handles)];
    return new OpenSafetensors(weights, files, handles);
  } catch (error) {
    await closeAll(handles);
    throw error;
  }
}

/**
 * The weights file to open for `path`: a file is taken as given; in a folder the first of
 * `model.safetensors.index.json`, `model.safetensors`, the only `*.safetensors.index.json`, the only
 * `*.safetensors`. Several candidates, none, or only pickle checkpoints are one-line errors.
 */
export async function resolveSafetensorsWeights(path: string): Promise<string> {
  const target = resolve(path);
  let isFolder: boolean;
  try {
    isFolder = (await stat(target)).isDirectory();
  } catch (error) {
    const problem =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'does not exist'
        : `cannot be read (${describeError(error)})`;
    throw new QuantgateError(
      `${target} ${problem}; pass a model folder, a .safetensors file or a model.safetensors.index.json`,
      { cause: error },
    );
  }
  if (!isFolder) {
    if (PICKLE_EXTENSIONS.includes(extname(target).toLowerCase()))
      throw new QuantgateError(`${target} is a PyTorch pickle checkpoint; ${PICKLE_REFUSAL}`);
    return target;
  }

  const names = (await readdir(target)).filter((name) => !name.startsWith('.')).sort();
  for (const preferred of ['model.safetensors.index.json', 'model.safetensors']) {
    if (names.includes(preferred)) return join(target, preferred);
  }
  const indexes = names.filter((name) => name.endsWith(INDEX_SUFFIX));
  const weights = indexes.length > 0 ? indexes : names.filter((name) => name.endsWith('.safetensors'));
  if (weights.length === 1) return join(target, weights[0]!);
  if (weights.length > 1) {
    const kind = indexes.length > 0 ? 'safetensors index files' : 'safetensors files';
    throw new QuantgateError(
      `${target} holds several ${kind} (${weights.join(', ')}) and no model.safetensors.index.json; pass the path of the one to use instead of the folder`,
    );
  }
  const pickles = names.filter((name) => PICKLE_EXTENSIONS.includes(extname(name).toLowerCase()));
  if (pickles.length > 0)
    throw new QuantgateError(
      `${target} holds only PyTorch pickle checkpoints (${pickles.join(', ')}); ${PICKLE_REFUSAL}`,
    );
  throw new QuantgateError(
    `${target} holds no .safetensors weights; pass a folder with model.safetensors or model.safetensors.index.json, or a .safetensors file`,
  );
}

/** Open safetensors weights: their tensor list, and reads of float tensors' raw little-endian bytes. */
export interface SafetensorsReader {
  /** What was opened: a `.safetensors` file or an index. */
  readonly source: string;
  readonly files: readonly SafetensorsFile[];
  /** Every tensor of every file, in the order described at the top of this module. */
  readonly tensors: readonly SafetensorsTensor[];
  tensor(name: string): SafetensorsTensor | undefined;
  /**
   * Raw bytes of `elementCount` elements from `startElement` of a float tensor, in a fresh buffer
   * of its own (byteOffset 0, so it can be viewed as a Float32Array or Uint16Array). Reads may run
   * concurrently.
   */
  readRange(tensor: SafetensorsTensor, startElement: number, elementCount: number): Promise<Uint8Array>;
  /**
   * A float tensor's raw bytes as consecutive chunks of at most `maxBytes`, each ending on an
   * element boundary. The next chunk is read while the caller works on the current one.
   */
  chunks(tensor: SafetensorsTensor, options: ChunkOptions): AsyncGenerator<Uint8Array, void, undefined>;
  /** Closes every file; safe to call more than once. */
  close(): Promise<void>;
}

class OpenSafetensors implements SafetensorsReader {
  readonly tensors: readonly SafetensorsTensor[];
  private readonly byName: ReadonlyMap<string, SafetensorsTensor>;
  private closed = false;

  constructor(
    readonly source: string,
    readonly files: readonly SafetensorsFile[],
    private readonly handles: ReadonlyMap<string, FileHandle>,
  ) {
    this.tensors = files.flatMap((file) => file.tensors);
    this.byName = new Map(this.tensors.map((tensor) => [tensor.name, tensor]));
  }

  tensor(name: string): SafetensorsTensor | undefined {
    return this.byName.get(name);
  }

  async readRange(tensor: SafetensorsTensor, startElement: number, elementCount: number): Promise<Uint8Array> {
    const elementBytes = this.floatElementBytes(tensor);
    if (
      !Number.isSafeInteger(startElement) ||
      !Number.isSafeInteger(elementCount) ||
      startElement < 0 ||
      elementCount < 0 ||
      startElement + elementCount > tensor.elementCount
    ) {
      throw new RangeError(
        `elements [${startElement}, ${startElement + elementCount}) are outside tensor "${tensor.name}" of ${tensor.elementCount} elements`,
      );
    }
    const handle = this.handles.get(tensor.file)!;
    return readExactly(
      handle,
      tensor.file,
      tensor.dataOffset + startElement * elementBytes,
      elementCount * elementBytes,
    );
  }

  async *chunks(tensor: SafetensorsTensor, options: ChunkOptions): AsyncGenerator<Uint8Array, void, undefined> {
    const elementBytes = this.floatElementBytes(tensor);
    const multiple = options.elementMultiple ?? 1;
    const chunkElements = Math.floor(options.maxBytes / (elementBytes * multiple)) * multiple;
    if (!Number.isSafeInteger(multiple) || multiple < 1 || !(chunkElements > 0)) {
      throw new RangeError(`chunks of ${options.maxBytes} bytes cannot hold ${multiple} elements of ${tensor.dtype}`);
    }
    const startRead = (start: number) => {
      const read = this.readRange(tensor, start, Math.min(chunkElements, tensor.elementCount - start));
      // The read is awaited later; until then a failure must not count as an unhandled rejection.
      read.catch(() => undefined);
      return read;
    };
    let next = tensor.elementCount > 0 ? startRead(0) : undefined;
    try {
      for (let start = 0; next; start += chunkElements) {
        const current = next;
        next = start + chunkElements < tensor.elementCount ? startRead(start + chunkElements) : undefined;
        yield await current;
      }
    } finally {
      await next?.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeAll(this.handles);
  }

  private floatElementBytes(tensor: SafetensorsTensor): number {
    if (this.closed) throw new Error(`reading tensor "${tensor.name}" after the safetensors reader was closed`);
    if (this.byName.get(tensor.name) !== tensor)
      throw new Error(`tensor "${tensor.name}" does not come from this safetensors reader`);
    if (!isFloatDtype(tensor.dtype)) {
      throw new QuantgateError(
        `${tensor.file}: tensor "${tensor.name}" has dtype ${tensor.dtype}, which quantgate cannot read as float weights (only ${FLOAT_DTYPES.join(', ')}); export the model with float weights`,
      );
    }
    return SAFETENSORS_DTYPE_BITS[tensor.dtype] / 8;
  }
}

async function closeAll(handles: ReadonlyMap<string, FileHandle>): Promise<void> {
  await Promise.allSettled([...handles.values()].map((handle) => handle.close()));
}

async function openShards(indexPath: string, handles: Map<string, FileHandle>): Promise<SafetensorsFile[]> {
  const weightMap = await readWeightMap(indexPath);
  const shards = [...new Set(weightMap.values())];
  const missing = [];
  for (const shard of shards) {
    if (
      !(await stat(shard).then(
        (info) => info.isFile(),
        () => false,
      ))
    )
      missing.push(relative(dirname(indexPath), shard));
  }
  if (missing.length > 0) {
    throw new QuantgateError(
      `${indexPath} lists shard files that are missing: ${missing.join(', ')}; download every file the index names (the whole model folder) and run again`,
    );
  }

  const files = [];
  for (const shard of shards) files.push(await openFile(shard, handles));
  for (const file of files) {
    for (const tensor of file.tensors) {
      const mapped = weightMap.get(tensor.name);
      if (mapped !== file.path) {
        const where = mapped === undefined ? 'which the index does not list' : `which the index places in ${mapped}`;
        throw new QuantgateError(
          `${file.path} holds tensor "${tensor.name}", ${where}; the shards and ${indexPath} come from different revisions — download the model again`,
        );
      }
    }
  }
  const stored = new Set(files.flatMap((file) => file.tensors.map((tensor) => tensor.name)));
  for (const [name, shard] of weightMap) {
    if (!stored.has(name))
      throw new QuantgateError(
        `${indexPath} places tensor "${name}" in ${shard}, which does not hold it; the shards and the index come from different revisions — download the model again`,
      );
  }
  return files;
}

/** The index's `weight_map` as tensor name → absolute shard path, in the index's order. */
async function readWeightMap(indexPath: string): Promise<Map<string, string>> {
  const fail = (problem: string) =>
    new QuantgateError(`${indexPath}: ${problem}; the index is corrupt or not a safetensors index — ${REDOWNLOAD}`);
  const unreadable = (error: unknown) =>
    new QuantgateError(`cannot read ${indexPath} (${describeError(error)}); check the path and its permissions`, {
      cause: error,
    });
  const size = await stat(indexPath).then(
    (info) => info.size,
    (error: unknown) => Promise.reject(unreadable(error)),
  );
  if (size > MAX_INDEX_BYTES) throw fail(`it is larger than ${MAX_INDEX_BYTES} bytes`);
  const text = await readFile(indexPath, 'utf8').catch((error: unknown) => Promise.reject(unreadable(error)));
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (error) {
    throw fail(`it is not valid JSON (${describeError(error)})`);
  }
  const weightMap = isPlainObject(index) ? index['weight_map'] : undefined;
  if (!isPlainObject(weightMap)) throw fail('it has no "weight_map" object');
  const entries = Object.entries(weightMap);
  if (entries.length === 0) throw fail('its weight_map lists no tensors');

  const folder = dirname(indexPath);
  const shardOf = new Map<string, string>();
  for (const [name, shard] of entries) {
    if (typeof shard !== 'string' || shard === '')
      throw fail(`weight_map gives tensor "${name}" the file ${JSON.stringify(shard)} instead of a file name`);
    if (PICKLE_EXTENSIONS.includes(extname(shard).toLowerCase()))
      throw new QuantgateError(`${indexPath} names PyTorch pickle shards such as ${shard}; ${PICKLE_REFUSAL}`);
    const shardPath = resolve(folder, shard);
    const inside = relative(folder, shardPath);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside))
      throw fail(`weight_map places tensor "${name}" in "${shard}", outside the index's folder`);
    shardOf.set(name, shardPath);
  }
  return shardOf;
}

async function openFile(path: string, handles: Map<string, FileHandle>): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new QuantgateError(`cannot open ${path} (${describeError(error)}); check the path and its permissions`, {
      cause: error,
    });
  }
  handles.set(path, handle);
  const fileSize = (await handle.stat()).size;
  return parseHeader(path, fileSize, await readHeaderBytes(handle, path, fileSize));
}

async function readHeaderBytes(handle: FileHandle, path: string, fileSize: number): Promise<Uint8Array> {
  const fail = (problem: string, cause = 'the file is truncated or not safetensors') =>
    new QuantgateError(`${path}: ${problem}; ${cause} — ${REDOWNLOAD}`);
  if (fileSize < 8) throw fail(`the file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const declared = Buffer.from(await readExactly(handle, path, 0, 8)).readBigUInt64LE(0);
  if (declared === 0n) throw fail('the header length is 0', 'the file is corrupt or not safetensors');
  if (declared > BigInt(MAX_HEADER_BYTES))
    throw fail(
      `header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit of the format`,
      'the file is corrupt or not safetensors',
    );
  const headerBytes = Number(declared);
  if (8 + headerBytes > fileSize) throw fail(`header length ${headerBytes} exceeds the file size ${fileSize} bytes`);
  return readExactly(handle, path, 8, headerBytes);
}

interface DataRange {
  name: string;
  begin: number;
  end: number;
}

function parseHeader(path: string, fileSize: number, headerBytes: Uint8Array): SafetensorsFile {
  const fail = (problem: string, cause = 'the file is corrupt or not safetensors') =>
    new QuantgateError(`${path}: ${problem}; ${cause} — ${REDOWNLOAD}`);
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    throw fail(`the header is not valid JSON (${describeError(error)})`);
  }
  if (!isPlainObject(header)) throw fail(`the header is ${jsonKind(header)}, not a JSON object`);

  const dataStart = 8 + headerBytes.byteLength;
  const dataLength = fileSize - dataStart;
  const metadata: [string, string][] = [];
  const entries: { tensor: SafetensorsTensor; range: DataRange }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      // The reference reads `__metadata__: null` as no metadata.
      if (entry === null) continue;
      if (!isPlainObject(entry)) throw fail(`__metadata__ is ${jsonKind(entry)}, not an object of strings`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') throw fail(`__metadata__ entry "${key}" is ${jsonKind(value)}, not a string`);
        metadata.push([key, value]);
      }
      continue;
    }
    const at = `tensor "${name}"`;
    if (!isPlainObject(entry))
      throw fail(`${at} is ${jsonKind(entry)}, not an object with dtype, shape and data_offsets`);
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!Object.hasOwn(entry, field)) throw fail(`${at} has no ${field}`);
    }
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !isSafetensorsDtype(dtype)) {
      throw fail(
        `${at} has dtype ${jsonText(dtype)}, which is not a safetensors dtype (${Object.keys(SAFETENSORS_DTYPE_BITS).join(', ')})`,
        'the file is corrupt or from an incompatible writer',
      );
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger))
      throw fail(`${at} has shape ${jsonText(shape)}; dimensions must be non-negative integers`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isNonNegativeInteger) ||
      offsets[0] > offsets[1]
    ) {
      throw fail(
        `${at} has data_offsets ${jsonText(offsets)}; they must be two integers [begin, end] with 0 ≤ begin ≤ end`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const elementCount = (shape as number[]).reduce((product, dim) => product * dim, 1);
    const bits = elementCount * SAFETENSORS_DTYPE_BITS[dtype];
    if (!Number.isSafeInteger(bits))
      throw fail(`${at} has shape ${JSON.stringify(shape)}, too many elements to address`);
    if (bits % 8 !== 0) throw fail(`${at} holds ${elementCount} ${dtype} elements, which do not fill whole bytes`);
    if (bits / 8 !== end - begin)
      throw fail(
        `${at} (${dtype} ${JSON.stringify(shape)}) needs ${bits / 8} bytes but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    if (end > dataLength) {
      throw fail(
        `${at} ends at byte ${end} of the data section, but the file holds only ${Math.max(0, dataLength)} data bytes`,
        'the file is truncated',
      );
    }
    const tensor: SafetensorsTensor = {
      name,
      dtype,
      shape: Object.freeze([...shape]),
      elementCount,
      byteLength: end - begin,
      file: path,
      dataOffset: dataStart + begin,
    };
    entries.push({ tensor: Object.freeze(tensor), range: { name, begin, end } });
  }

  entries.sort((a, b) => a.range.begin - b.range.begin || a.range.end - b.range.end);
  checkNoOverlap(
    entries.map((entry) => entry.range),
    fail,
  );
  return {
    path,
    metadata: Object.freeze(Object.fromEntries(metadata)),
    tensors: Object.freeze(entries.map((entry) => entry.tensor)),
  };
}

/** `ranges` sorted by begin; empty ranges overlap nothing. */
function checkNoOverlap(ranges: DataRange[], fail: (problem: string) => Error): void {
  let furthest: DataRange | undefined;
  for (const range of ranges) {
    if (range.begin === range.end) continue;
    if (furthest && range.begin < furthest.end) {
      throw fail(
        `tensors "${furthest.name}" [${furthest.begin}, ${furthest.end}] and "${range.name}" [${range.begin}, ${range.end}] overlap in the data section`,
      );
    }
    furthest = range;
  }
}

/** `length` bytes from `position`, looping over short reads. */
async function readExactly(handle: FileHandle, path: string, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.allocUnsafeSlow(length);
  let filled = 0;
  while (filled < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(
        buffer,
        filled,
        Math.min(length - filled, MAX_READ_CALL_BYTES),
        position + filled,
      ));
    } catch (error) {
      throw new QuantgateError(`reading ${path} failed (${describeError(error)}); check the disk, then ${REDOWNLOAD}`, {
        cause: error,
      });
    }
    if (bytesRead === 0) {
      throw new QuantgateError(
        `${path}: the file ended at byte ${position + filled} while ${length - filled} more bytes were expected; it is truncated or changed while being read — ${REDOWNLOAD}`,
      );
    }
    filled += bytesRead;
  }
  return buffer;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
