// Reads entries out of a zip archive, as the CUDA installer needs for a NuGet .nupkg, through yauzl:
// the central directory is read from the end of the file (zip64 included), and an entry's bytes
// stream out, inflated when deflated, checked against the size (by yauzl) and the CRC-32 (here)
// the directory records. Only what packages use is read: encrypted entries and compression methods
// other than stored and deflate are refused. Every failure is one line naming the archive and the
// fix; yauzl's own text stays in the error's cause.

import { close, fstat, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
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
}

export interface ZipArchive {
  /** Names the archive in errors: its path, or what the caller called it. */
  readonly label: string;
  readonly entries: readonly ZipEntry[];
  entry(name: string): ZipEntry | undefined;
  /** The entry's uncompressed bytes; after the last chunk, a size or CRC-32 that does not match is an error. */
  read(entry: ZipEntry): AsyncGenerator<Uint8Array>;
  close(): Promise<void>;
}

const FLAG_ENCRYPTED = 0x0001;
export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;

/** Opens the zip archive at the path `source`, or held in `source`; `label` names it in errors (the path by default). */
export async function openZip(
  source: string | Uint8Array,
  label = typeof source === 'string' ? source : 'the zip archive',
): Promise<ZipArchive> {
  let zipfile: ZipFile;
  try {
    zipfile = await new Promise<ZipFile>((resolve, reject) => {
      const options = { lazyEntries: true, autoClose: false };
      const opened = (error: Error | null, zip: ZipFile) => (error ? reject(error) : resolve(zip));
      if (typeof source === 'string') {
        openFileReader(source).then(
          ({ reader, size }) => yauzl.fromRandomAccessReader(reader, size, options, opened),
          reject,
        );
      } else {
        yauzl.fromBuffer(Buffer.from(source.buffer, source.byteOffset, source.byteLength), options, opened);
      }
    });
  } catch (error) {
    if (typeof (error as NodeJS.ErrnoException).code === 'string') {
      throw new QuantgateError(`cannot open ${label} (${describeError(error)}); download it again`, { cause: error });
    }
    throw damaged(label, error);
  }
  try {
    return new OpenZip(label, zipfile, await readDirectory(zipfile));
  } catch (error) {
    zipfile.close();
    throw damaged(label, error);
  }
}

/**
 * Reads a zip file for yauzl, refusing a range outside the file. yauzl's own file reader passes a
 * corrupt zip64 offset (up to 2^64) to fs.read, which throws from inside a callback, past every
 * handler: the process dies. This reader answers such a range with a stream that fails instead.
 */
class FileReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= this.size)) {
      const outside = new Readable({ read: () => undefined });
      process.nextTick(() =>
        outside.destroy(new RangeError(`the archive names bytes ${start}–${end} of a ${this.size}-byte file`)),
      );
      return outside;
    }
    // fs.ReadStream closes a borrowed fd when destroyed, which yauzl does to every stream it ends.
    const fd = this.fd;
    let position = start;
    return new Readable({
      read(wanted) {
        const length = Math.min(wanted, end - position);
        if (length <= 0) return void this.push(null);
        const buffer = Buffer.allocUnsafe(length);
        read(fd, buffer, 0, length, position, (error, count) => {
          if (error) this.destroy(error);
          else if (count === 0) this.destroy(new RangeError(`the file ended at byte ${position}`));
          else {
            position += count;
            this.push(buffer.subarray(0, count));
          }
        });
      },
    });
  }

  override close(callback: (error: Error | null) => void): void {
    close(this.fd, callback);
  }
}

async function openFileReader(path: string): Promise<{ reader: FileReader; size: number }> {
  const fd = await promisify(open)(path, 'r');
  try {
    const { size } = await promisify(fstat)(fd);
    return { reader: new FileReader(fd, size), size };
  } catch (error) {
    close(fd, () => undefined);
    throw error;
  }
}

class OpenZip implements ZipArchive {
  readonly entries: readonly ZipEntry[];
  private readonly byName = new Map<string, ZipEntry>();
  private readonly raw = new Map<ZipEntry, Entry>();

  constructor(
    readonly label: string,
    private readonly zipfile: ZipFile,
    entries: readonly Entry[],
  ) {
    this.entries = entries.map((entry) => {
      const mine: ZipEntry = {
        name: entry.fileName,
        method: entry.compressionMethod,
        compressedSize: entry.compressedSize,
        size: entry.uncompressedSize,
        crc32: entry.crc32,
        flags: entry.generalPurposeBitFlag,
      };
      this.raw.set(mine, entry);
      if (!this.byName.has(mine.name)) this.byName.set(mine.name, mine);
      return mine;
    });
  }

  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  async *read(entry: ZipEntry): AsyncGenerator<Uint8Array> {
    const raw = this.raw.get(entry);
    if (raw === undefined) throw new Error(`read was given an entry of another archive than ${this.label}`);
    if (entry.flags & FLAG_ENCRYPTED)
      throw this.corrupt(
        `entry ${JSON.stringify(entry.name)} is encrypted`,
        'quantgate reads only unencrypted archives',
      );
    if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATE) {
      throw this.corrupt(
        `entry ${JSON.stringify(entry.name)} uses compression method ${entry.method}`,
        'quantgate reads only stored and deflated entries',
      );
    }
    let stream: Readable;
    try {
      stream = await new Promise<Readable>((resolve, reject) =>
        this.zipfile.openReadStream(raw, (error, opened) => (error ? reject(error) : resolve(opened))),
      );
    } catch (error) {
      throw damaged(this.label, error, `entry ${JSON.stringify(entry.name)}`);
    }
    let crc = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        crc = crc32(chunk, crc);
        yield chunk;
      }
    } catch (error) {
      throw damaged(this.label, error, `entry ${JSON.stringify(entry.name)}`);
    } finally {
      stream.destroy();
    }
    if (crc !== entry.crc32)
      throw this.corrupt(
        `entry ${JSON.stringify(entry.name)} has CRC-32 ${hex(crc)}, not the ${hex(entry.crc32)} its directory records`,
      );
  }

  async close(): Promise<void> {
    this.zipfile.close();
  }

  private corrupt(problem: string, fix = 'the archive is corrupt — download it again'): QuantgateError {
    return new QuantgateError(`${this.label}: ${problem}; ${fix}`);
  }
}

/** Every entry of the central directory, in order. */
function readDirectory(zipfile: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zipfile.on('entry', (entry: Entry) => {
      entries.push(entry);
      zipfile.readEntry();
    });
    zipfile.once('end', () => resolve(entries));
    zipfile.once('error', reject);
    zipfile.readEntry();
  });
}

/** yauzl's and zlib's errors in this project's words, about `subject` (the archive, or one entry). */
function damaged(label: string, error: unknown, subject = 'the archive'): QuantgateError {
  if (error instanceof QuantgateError) return error;
  const text = describeError(error);
  const problems: [RegExp, string][] = [
    [
      /end of central directory record signature not found|invalid comment length/i,
      'has no end-of-central-directory record',
    ],
    [/multi-disk/i, 'is split over several disks'],
    [/zip64/i, 'has damaged zip64 records'],
    [/central directory file header signature/i, 'has a damaged central directory'],
    [/local file header signature/i, 'has no local header where the central directory says'],
    [
      /overflows file bounds|unexpected EOF|names bytes .* of a \d+-byte file|the file ended at byte/i,
      'runs past the end of the file',
    ],
    [/too many bytes|not enough bytes|size mismatch/i, 'does not hold the number of bytes its directory records'],
    [/invalid relative path|absolute path|invalid characters/i, 'has a name that is not a safe relative path'],
    [/encrypt/i, 'is encrypted'],
    [
      /incorrect header check|invalid (block type|distance|code|stored block|literal)|unexpected end of file|too many length/i,
      'does not inflate',
    ],
  ];
  const problem = problems.find(([pattern]) => pattern.test(text))?.[1] ?? 'has a damaged structure';
  return new QuantgateError(
    `${label}: ${subject} ${problem}; it is not a zip archive, or it is corrupt or cut short — download it again`,
    { cause: error },
  );
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
