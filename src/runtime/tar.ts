// A streaming reader of tar archives (ustar, with the pax and GNU long-name extensions npm's
// tarballs use), enough to unpack an npm package without a dependency: entries are handed over
// one at a time with their contents as a byte stream, so no file is ever held whole in memory.
// Headers are checked against their checksums; a damaged or cut archive is an error.

import { QuantgateError } from '../common/errors.js';

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface TarEntry {
  /** The path inside the archive, with "/" separators and no trailing slash. */
  path: string;
  type: TarEntryType;
  size: number;
  /** Permission bits. */
  mode: number;
}

/** Sees one entry; the part of its body left unread is skipped once it returns. */
export type TarVisitor = (entry: TarEntry, body: AsyncIterable<Uint8Array>) => Promise<void>;

const BLOCK = 512;

/**
 * Reads the tar archive `source` (already decompressed), calling `visit` for each file, folder or
 * link in order. `label` names the archive in errors. Anything after the end-of-archive blocks
 * (tar pads to whole records) is read and ignored, so a caller hashing `source` sees all of it.
 */
export async function readTar(source: AsyncIterable<Uint8Array>, label: string, visit: TarVisitor): Promise<void> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  let extended: Record<string, string> = {};
  for (;;) {
    const header = await reader.read(BLOCK);
    if (header === undefined) throw new QuantgateError(`${label} ends without the end-of-archive marker; the download is cut short — download it again`);
    if (header.every((byte) => byte === 0)) break;
    const parsed = parseHeader(header, label);
    const padded = Math.ceil(parsed.size / BLOCK) * BLOCK;
    if (parsed.flag === 'x' || parsed.flag === 'L' || parsed.flag === 'K') {
      // Metadata for the next entry: pax records, or a GNU long name or link name.
      const data = await reader.read(padded);
      if (data === undefined) throw cutShort(label);
      const text = data.subarray(0, parsed.size).toString('utf8');
      if (parsed.flag === 'x') extended = { ...extended, ...parsePax(text, label) };
      else if (parsed.flag === 'L') extended = { ...extended, path: text.replace(/\0+$/, '') };
      continue;
    }
    if (parsed.flag === 'g') {
      // Global pax headers carry nothing npm packages rely on.
      await reader.skip(padded, label);
      continue;
    }
    const size = extended.size !== undefined ? parseDecimal(extended.size, 'size', label) : parsed.size;
    const entry: TarEntry = { path: cleanPath(extended.path ?? parsed.path), type: entryType(parsed.flag), size, mode: parsed.mode };
    extended = {};
    const body = reader.stream(size, label);
    await visit(entry, body);
    await body.drain();
    await reader.skip(Math.ceil(size / BLOCK) * BLOCK - size, label);
  }
  await reader.drain();
}

interface Header {
  path: string;
  mode: number;
  size: number;
  flag: string;
}

function parseHeader(block: Buffer, label: string): Header {
  const stored = parseOctal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (stored !== sum) throw new QuantgateError(`${label} has a damaged tar header (checksum ${stored}, computed ${sum}); the download is corrupt — download it again`);
  const name = text(block.subarray(0, 100));
  const ustar = block.subarray(257, 262).toString('latin1') === 'ustar';
  const prefix = ustar ? text(block.subarray(345, 500)) : '';
  return {
    path: prefix ? `${prefix}/${name}` : name,
    mode: parseOctal(block.subarray(100, 108)),
    size: parseSize(block.subarray(124, 136)),
    flag: String.fromCharCode(block[156]!),
  };
}

function entryType(flag: string): TarEntryType {
  if (flag === '0' || flag === '\0' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '2') return 'symlink';
  return 'other';
}

/** Sizes are octal text, or base-256 (first byte 0x80) past 8 GiB. */
function parseSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  return parseOctal(field);
}

function parseOctal(field: Buffer): number {
  const digits = text(field).trim();
  return digits === '' ? 0 : parseInt(digits, 8);
}

function text(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** Pax records are `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(records: string, label: string): Record<string, string> {
  const values: Record<string, string> = {};
  const bytes = Buffer.from(records, 'utf8');
  let at = 0;
  while (at < bytes.length && bytes[at] !== 0) {
    const space = bytes.indexOf(0x20, at);
    const length = space === -1 ? NaN : Number(bytes.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0 || at + length > bytes.length) throw new QuantgateError(`${label} has a damaged pax header; the download is corrupt — download it again`);
    const record = bytes.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) values[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return values;
}

function parseDecimal(value: string, key: string, label: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new QuantgateError(`${label} has a pax ${key} "${value}" that is not a size; the download is corrupt — download it again`);
  return number;
}

function cleanPath(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/+$/, '');
}

function cutShort(label: string): QuantgateError {
  return new QuantgateError(`${label} ends in the middle of an entry; the download is cut short — download it again`);
}

/** Exact reads, skips and bounded streams over an async byte source. */
class ByteReader {
  private pending: Buffer[] = [];
  private buffered = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Exactly `length` bytes, or undefined when the source ends first. */
  async read(length: number): Promise<Buffer | undefined> {
    while (this.buffered < length && (await this.pull()));
    if (this.buffered < length) return undefined;
    return this.take(length);
  }

  async skip(length: number, label: string): Promise<void> {
    let left = length;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.pull())) throw cutShort(label);
      left -= this.takeUpTo(left).length;
    }
  }

  /** The next `length` bytes as chunks; `drain` skips what the consumer left. */
  stream(length: number, label: string): AsyncIterable<Uint8Array> & { drain(): Promise<void> } {
    let left = length;
    const next = async (): Promise<Buffer | undefined> => {
      if (left === 0) return undefined;
      if (this.buffered === 0 && !(await this.pull())) throw cutShort(label);
      const chunk = this.takeUpTo(left);
      left -= chunk.length;
      return chunk;
    };
    return {
      async *[Symbol.asyncIterator]() {
        for (let chunk = await next(); chunk !== undefined; chunk = await next()) yield chunk;
      },
      async drain() {
        while ((await next()) !== undefined);
      },
    };
  }

  /** Reads the source to its end. */
  async drain(): Promise<void> {
    this.pending = [];
    this.buffered = 0;
    while (await this.pull()) {
      this.pending = [];
      this.buffered = 0;
    }
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    const { value, done } = await this.source.next();
    if (done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.pending.push(chunk);
    this.buffered += chunk.length;
    return true;
  }

  /** Exactly `length` buffered bytes (the caller checks that enough are buffered). */
  private take(length: number): Buffer {
    const parts: Buffer[] = [];
    for (let left = length; left > 0; ) {
      const part = this.takeUpTo(left);
      parts.push(part);
      left -= part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** At most `length` bytes from the first buffered chunk (there is one). */
  private takeUpTo(length: number): Buffer {
    const head = this.pending[0]!;
    const part = head.subarray(0, Math.min(length, head.length));
    if (part.length === head.length) this.pending.shift();
    else this.pending[0] = head.subarray(part.length);
    this.buffered -= part.length;
    return part;
  }
}
