// Reads tar archives (ustar, with the pax and GNU long-name extensions npm's tarballs use) through
// tar-stream, which the action bundles already (archiver uses it): entries are handed over one at a
// time with their contents as a byte stream, so no file is ever held whole in memory. What
// tar-stream lets through and this reader refuses: a size that is not a whole number of bytes, a
// folder with a size, and an archive that stops without its end marker.
// Every failure is one line naming the archive; tar-stream's own text stays in the error's cause.

import { extract, type Extract, type Header } from 'tar-stream';
import { QuantgateError, describeError } from '../common/errors.js';

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
/** Two zero blocks end an archive. */
const END_MARKER = 2 * BLOCK;

/**
 * Reads the tar archive `source` (already decompressed; bytes or a stream of chunks), calling
 * `visit` for each file, folder or link in order. `label` names the archive in errors. The source
 * is read to its end, so a caller hashing it sees all of it.
 */
export async function readTar(
  source: AsyncIterable<Uint8Array> | Uint8Array,
  label: string,
  visit: TarVisitor,
): Promise<void> {
  const extractor = extract();
  const input = new Feed(source instanceof Uint8Array ? [source] : source, extractor);
  const feeding = input.run();
  // Where the last entry's data ends: its header's offset, the header, the padded data.
  let entriesEnd = 0;
  try {
    for await (const stream of extractor) {
      const { header } = stream;
      const size = checkedSize(header, label);
      // tar-stream gives a folder no data, so a folder with a size would leave its stream open forever.
      if (header.type === 'directory' && size !== 0) {
        throw new QuantgateError(
          `${label} has a folder entry ${JSON.stringify(header.name)} that claims ${size} byte(s) of data; the download is corrupt — download it again`,
        );
      }
      entriesEnd = stream.offset + BLOCK + Math.ceil(size / BLOCK) * BLOCK;
      const chunks = stream[Symbol.asyncIterator]();
      // A visitor that stops reading early must not end the stream: tar-stream would take that as an abort.
      const body: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as Uint8Array;
        },
      };
      await visit({ path: cleanPath(header.name), type: entryType(header.type), size, mode: header.mode ?? 0 }, body);
      while (!(await chunks.next()).done);
    }
  } catch (error) {
    extractor.destroy();
    await feeding;
    throw input.failure ?? translate(error, label);
  }
  await feeding;
  if (input.failure) throw input.failure;
  if (input.bytes - entriesEnd < END_MARKER || !input.endsInZeros) {
    throw new QuantgateError(
      `${label} ends without the end-of-archive marker; the download is cut short — download it again`,
    );
  }
}

/** Writes the source into tar-stream with backpressure, remembering how it ended. */
class Feed {
  bytes = 0;
  /** Whether the last END_MARKER bytes were all zero. */
  endsInZeros = false;
  /** The source's own failure (a broken gunzip, a read error), passed on as it is. */
  failure: unknown;
  private tail = new Uint8Array(0);

  constructor(
    private readonly source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    private readonly extractor: Extract,
  ) {}

  async run(): Promise<void> {
    try {
      for await (const chunk of this.source) {
        this.bytes += chunk.length;
        this.keepTail(chunk);
        if (this.extractor.destroyed) return;
        if (!this.extractor.write(chunk)) await this.drained();
      }
      this.endsInZeros = this.tail.length === END_MARKER && this.tail.every((byte) => byte === 0);
      this.extractor.end(null);
    } catch (error) {
      this.failure = error;
      this.extractor.destroy(error as Error);
    }
  }

  private keepTail(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.tail.length + Math.min(chunk.length, END_MARKER));
    joined.set(this.tail);
    joined.set(chunk.subarray(Math.max(0, chunk.length - END_MARKER)), this.tail.length);
    this.tail = joined.subarray(Math.max(0, joined.length - END_MARKER));
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.extractor.off('drain', done);
        this.extractor.off('close', done);
        resolve();
      };
      this.extractor.on('drain', done);
      this.extractor.on('close', done);
    });
  }
}

/** tar-stream reads size fields leniently: NaN, negative, past 2^53, or a pax size with trailing junk. */
function checkedSize(header: Header, label: string): number {
  const paxSize = (header.pax as Record<string, string> | null | undefined)?.size;
  const size = paxSize === undefined ? header.size : /^\d+$/.test(paxSize) ? Number(paxSize) : NaN;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new QuantgateError(
      `${label} has an entry${header.name ? ` ${JSON.stringify(header.name)}` : ''} whose size is not a byte count; the download is corrupt — download it again`,
    );
  }
  return size;
}

/** tar-stream's errors in this project's words; its own text stays in the cause. */
function translate(error: unknown, label: string): QuantgateError {
  if (error instanceof QuantgateError) return error;
  // describeError, not instanceof: errors made in another realm (jest's sandbox) are not this realm's Error.
  const text = describeError(error);
  const problem = /Unexpected end of data/.test(text)
    ? 'ends in the middle of an entry; the download is cut short'
    : /Invalid header$/.test(text)
      ? 'has an entry whose size is not a byte count; the download is corrupt'
      : /Header exceeds max size/.test(text)
        ? 'has a pax or long-name header too large to be one; the download is corrupt'
        : /Invalid tar header/.test(text)
          ? 'has a damaged tar header; the download is corrupt'
          : 'is not a readable tar archive; the download is corrupt';
  return new QuantgateError(`${label} ${problem} — download it again`, { cause: error });
}

function entryType(type: Header['type'] | null): TarEntryType {
  if (type === 'file' || type === 'contiguous-file') return 'file';
  if (type === 'directory') return 'directory';
  if (type === 'symlink') return 'symlink';
  return 'other';
}

function cleanPath(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/+$/, '');
}
