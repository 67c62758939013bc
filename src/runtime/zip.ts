// Reads entries out of a zip archive on disk, as the CUDA installer needs for a NuGet .nupkg: the
// central directory is found through the end-of-central-directory record (zip64 included), and an
// entry's bytes stream out in chunks, inflated when deflated, checked against the size and CRC-32
// the directory records. Only what packages use is read: encrypted entries, other compression
// methods and archives split over several disks are refused.

import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { QuantgateError, describeError } from '../common/errors.js';

export interface ZipEntry {
  /** The path inside the archive, `/`-separated. */
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  /** Uncompressed size. */
  readonly size: number;
  readonly crc32: number;
  readonly flags: number;
  readonly localHeaderOffset: number;
}

export interface ZipArchive {
  readonly path: string;
  readonly entries: readonly ZipEntry[];
  entry(name: string): ZipEntry | undefined;
  /** The entry's uncompressed bytes; the last chunk arrives only once size and CRC-32 have matched. */
  read(entry: ZipEntry, chunkBytes?: number): AsyncGenerator<Uint8Array>;
  close(): Promise<void>;
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_BYTES = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_BYTES = 56;
const CENTRAL_SIGNATURE = 0x02014b50;
const CENTRAL_BYTES = 46;
const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_BYTES = 30;
const ZIP64_EXTRA_ID = 0x0001;
const MAX_COMMENT_BYTES = 0xffff;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_UTF8 = 0x0800;
export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;
const DEFAULT_CHUNK_BYTES = 1 << 20;

export async function openZip(path: string): Promise<ZipArchive> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new QuantgateError(`cannot open ${path} (${describeError(error)}); download it again`, { cause: error });
  }
  try {
    const size = (await handle.stat()).size;
    return new OpenZip(path, handle, size, await readCentralDirectory(path, handle, size));
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The CRC-32 (ISO-HDLC, as zip and gzip use it) of `bytes`, continuing from `previous`. */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let crc = ~previous;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

class OpenZip implements ZipArchive {
  private readonly byName: ReadonlyMap<string, ZipEntry>;

  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly fileSize: number,
    readonly entries: readonly ZipEntry[],
  ) {
    this.byName = new Map(entries.map((entry) => [entry.name, entry]));
  }

  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  async *read(entry: ZipEntry, chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
    if (entry.flags & FLAG_ENCRYPTED) throw this.corrupt(`entry ${entry.name} is encrypted`, 'quantgate reads only unencrypted archives');
    if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATE) {
      throw this.corrupt(`entry ${entry.name} uses compression method ${entry.method}`, 'quantgate reads only stored and deflated entries');
    }
    const start = await this.dataStart(entry);
    const raw = Readable.from(this.rawChunks(start, entry.compressedSize, chunkBytes));
    let produced = 0;
    let crc = 0;
    const check = (chunk: Uint8Array) => {
      produced += chunk.length;
      if (produced > entry.size) throw this.corrupt(`entry ${entry.name} inflates beyond its recorded ${entry.size} bytes`);
      crc = crc32(chunk, crc);
    };
    try {
      if (entry.method === METHOD_STORED) {
        for await (const chunk of raw) {
          check(chunk);
          yield chunk;
        }
      } else {
        const inflater = createInflateRaw();
        raw.on('error', (error) => inflater.destroy(error));
        raw.pipe(inflater);
        try {
          for await (const chunk of inflater) {
            check(chunk);
            yield chunk;
          }
        } catch (error) {
          if (error instanceof QuantgateError) throw error;
          throw this.corrupt(`entry ${entry.name} does not inflate (${describeError(error)})`);
        }
      }
    } finally {
      raw.destroy();
    }
    if (produced !== entry.size) throw this.corrupt(`entry ${entry.name} holds ${produced} bytes, not the ${entry.size} its directory records`);
    if (crc !== entry.crc32) throw this.corrupt(`entry ${entry.name} has CRC-32 ${hex(crc)}, not the ${hex(entry.crc32)} its directory records`);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** The local header repeats the name and may carry a different extra field; the data follows it. */
  private async dataStart(entry: ZipEntry): Promise<number> {
    const header = await readAt(this.path, this.handle, entry.localHeaderOffset, LOCAL_BYTES, this.fileSize);
    const view = dataView(header);
    if (view.getUint32(0, true) !== LOCAL_SIGNATURE) throw this.corrupt(`entry ${entry.name} has no local header at offset ${entry.localHeaderOffset}`);
    const start = entry.localHeaderOffset + LOCAL_BYTES + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + entry.compressedSize > this.fileSize) throw this.corrupt(`entry ${entry.name} runs past the end of the file`);
    return start;
  }

  private async *rawChunks(start: number, length: number, chunkBytes: number): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < length; offset += chunkBytes) {
      yield await readAt(this.path, this.handle, start + offset, Math.min(chunkBytes, length - offset), this.fileSize);
    }
  }

  private corrupt(problem: string, fix = 'the archive is corrupt — download it again'): QuantgateError {
    return new QuantgateError(`${this.path}: ${problem}; ${fix}`);
  }
}

async function readCentralDirectory(path: string, handle: FileHandle, fileSize: number): Promise<ZipEntry[]> {
  const corrupt = (problem: string) => new QuantgateError(`${path}: ${problem}; it is not a zip archive or it is truncated — download it again`);
  const tailStart = Math.max(0, fileSize - (EOCD_BYTES + MAX_COMMENT_BYTES + ZIP64_LOCATOR_BYTES));
  const tail = await readAt(path, handle, tailStart, fileSize - tailStart, fileSize);
  const view = dataView(tail);
  let eocd = -1;
  for (let at = tail.length - EOCD_BYTES; at >= 0; at--) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE && at + EOCD_BYTES + view.getUint16(at + 20, true) === tail.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw corrupt('no end-of-central-directory record');
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) throw corrupt('the archive is split over several disks');
  let count = view.getUint16(eocd + 10, true);
  let directorySize = view.getUint32(eocd + 12, true);
  let directoryOffset = view.getUint32(eocd + 16, true);

  const locator = eocd - ZIP64_LOCATOR_BYTES;
  if (locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
    const recordOffset = safeNumber(view.getBigUint64(locator + 8, true), corrupt);
    const record = dataView(await readAt(path, handle, recordOffset, ZIP64_EOCD_BYTES, fileSize));
    if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) throw corrupt('the zip64 end-of-central-directory record is missing');
    count = safeNumber(record.getBigUint64(32, true), corrupt);
    directorySize = safeNumber(record.getBigUint64(40, true), corrupt);
    directoryOffset = safeNumber(record.getBigUint64(48, true), corrupt);
  }
  if (directoryOffset + directorySize > fileSize) throw corrupt('the central directory lies past the end of the file');
  // Every entry takes at least CENTRAL_BYTES, so a hostile count cannot make us allocate more than the file holds.
  if (count * CENTRAL_BYTES > directorySize) throw corrupt(`the central directory is too small for ${count} entries`);

  const directory = await readAt(path, handle, directoryOffset, directorySize, fileSize);
  const entries: ZipEntry[] = [];
  const dir = dataView(directory);
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + CENTRAL_BYTES > directory.length || dir.getUint32(at, true) !== CENTRAL_SIGNATURE) throw corrupt(`central directory entry ${index + 1} is malformed`);
    const nameLength = dir.getUint16(at + 28, true);
    const extraLength = dir.getUint16(at + 30, true);
    const commentLength = dir.getUint16(at + 32, true);
    const end = at + CENTRAL_BYTES + nameLength + extraLength + commentLength;
    if (end > directory.length) throw corrupt(`central directory entry ${index + 1} runs past the directory`);
    const flags = dir.getUint16(at + 8, true);
    const nameBytes = directory.subarray(at + CENTRAL_BYTES, at + CENTRAL_BYTES + nameLength);
    const sizes = {
      size: dir.getUint32(at + 24, true),
      compressedSize: dir.getUint32(at + 20, true),
      localHeaderOffset: dir.getUint32(at + 42, true),
    };
    applyZip64Extra(sizes, directory.subarray(at + CENTRAL_BYTES + nameLength, at + CENTRAL_BYTES + nameLength + extraLength), corrupt);
    entries.push({
      // Names without the UTF-8 flag are CP437; package paths are ASCII, which reads the same either way.
      name: new TextDecoder(flags & FLAG_UTF8 ? 'utf-8' : 'latin1').decode(nameBytes),
      method: dir.getUint16(at + 10, true),
      crc32: dir.getUint32(at + 16, true),
      flags,
      ...sizes,
    });
    at = end;
  }
  return entries;
}

/** A zip64 extra field holds, in this order, the 64-bit values of the fields stored as 0xffffffff. */
function applyZip64Extra(sizes: { size: number; compressedSize: number; localHeaderOffset: number }, extra: Uint8Array, corrupt: (problem: string) => QuantgateError): void {
  const wide = (['size', 'compressedSize', 'localHeaderOffset'] as const).filter((field) => sizes[field] === 0xffffffff);
  if (wide.length === 0) return;
  const view = dataView(extra);
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (id === ZIP64_EXTRA_ID) {
      if (length < wide.length * 8 || at + 4 + length > extra.length) throw corrupt('a zip64 extra field is too short');
      wide.forEach((field, i) => (sizes[field] = safeNumber(view.getBigUint64(at + 4 + i * 8, true), corrupt)));
      return;
    }
    at += 4 + length;
  }
  throw corrupt('an entry needs a zip64 extra field and has none');
}

async function readAt(path: string, handle: FileHandle, position: number, length: number, fileSize: number): Promise<Uint8Array> {
  if (position + length > fileSize) throw new QuantgateError(`${path}: a read of ${length} bytes at ${position} runs past the end of the ${fileSize}-byte file; it is truncated — download it again`);
  const buffer = new Uint8Array(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new QuantgateError(`${path}: the file ended early at ${position + done} bytes; it is truncated — download it again`);
    done += bytesRead;
  }
  return buffer;
}

function safeNumber(value: bigint, corrupt: (problem: string) => QuantgateError): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`a 64-bit size or offset (${value}) is beyond what quantgate reads`);
  return Number(value);
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
