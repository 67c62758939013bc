// The decoded audio of the run's utterances, kept on disk between the two variants: the reference
// pass decodes each utterance once and appends its samples here, and the candidate pass reads
// them back batch by batch, so the candidate hears exactly the same samples and no pass holds
// more than a batch in memory. Reading back costs a fraction of decoding again (FLAC decoding and
// resampling run at about 100× real time per core; the spool moves 96 kB per second of 24 kHz
// audio), and remote datasets are not fetched twice. The folder is removed on close. A run that
// keeps results stores the spool too (`storedFiles`), so that a later run evaluating only a new
// candidate reads it back (`openStored`) instead of decoding the dataset again.

import { mkdir, mkdtemp, open, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError, describeError } from '../common/errors.js';
import type { Utterance } from '../datasets/utterance.js';

interface SpooledUtterance {
  id: string;
  text: string;
  sampleRate: number;
  /** Byte offset of the samples in the spool file. */
  offset: number;
  samples: number;
}

const SPOOL_FILE = 'audio.f32';
const INDEX_FILE = 'audio.json';

export class AudioSpool {
  private end = 0;

  private constructor(
    private readonly dir: string,
    private readonly file: FileHandle,
    /** False for a stored spool, whose folder belongs to the results store. */
    private readonly owned = true,
    private readonly entries: SpooledUtterance[] = [],
  ) {}

  /** A new spool in a temporary folder inside `parent`. */
  static async create(parent: string): Promise<AudioSpool> {
    let dir: string | undefined;
    try {
      await mkdir(parent, { recursive: true });
      dir = await mkdtemp(join(parent, '.quantgate-audio-'));
      return new AudioSpool(dir, await open(join(dir, SPOOL_FILE), 'w+'));
    } catch (error) {
      if (dir) await rm(dir, { recursive: true, force: true });
      throw new QuantgateError(
        `cannot make a temporary folder for decoded audio in ${parent} (${describeError(error)}); choose a writable --out-dir with free space`,
        { cause: error },
      );
    }
  }

  /**
   * The spool read back from the files `storedFiles` gave, kept in `dir`; or why they do not make
   * one, so that the caller decodes the audio instead.
   */
  static async openStored(dir: string): Promise<AudioSpool | string> {
    let entries: SpooledUtterance[];
    let file: FileHandle;
    try {
      entries = spooledUtterances(JSON.parse(await readFile(join(dir, INDEX_FILE), 'utf8')));
      file = await open(join(dir, SPOOL_FILE), 'r');
    } catch (error) {
      return describeError(error);
    }
    const size = (await file.stat()).size;
    const last = entries.at(-1);
    if (last && last.offset + 4 * last.samples > size) {
      await file.close();
      return `${SPOOL_FILE} holds ${size} bytes, fewer than its index lists`;
    }
    return new AudioSpool(dir, file, false, entries);
  }

  /** The files that make this spool again with `openStored`: the samples and their index. */
  async storedFiles(): Promise<{ name: string; path: string }[]> {
    const index = join(this.dir, INDEX_FILE);
    await writeFile(index, JSON.stringify(this.entries));
    return [
      { name: SPOOL_FILE, path: join(this.dir, SPOOL_FILE) },
      { name: INDEX_FILE, path: index },
    ];
  }

  /** Utterances spooled so far. */
  get size(): number {
    return this.entries.length;
  }

  async append(utterances: readonly Utterance[]): Promise<void> {
    for (const { id, text, sampleRate, audio } of utterances) {
      const bytes = new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength);
      try {
        await this.file.write(bytes, 0, bytes.length, this.end);
      } catch (error) {
        throw new QuantgateError(
          `cannot write decoded audio to ${this.dir} (${describeError(error)}); free disk space or choose another --out-dir`,
          { cause: error },
        );
      }
      this.entries.push({ id, text, sampleRate, offset: this.end, samples: audio.length });
      this.end += bytes.length;
    }
  }

  /** The spooled utterances again, in the order they were appended, `size` at a time. */
  async *batches(size: number): AsyncGenerator<Utterance[]> {
    for (let start = 0; start < this.entries.length; start += size) {
      const batch: Utterance[] = [];
      for (const { id, text, sampleRate, offset, samples } of this.entries.slice(start, start + size)) {
        const audio = new Float32Array(samples);
        const { bytesRead } = await this.file.read(new Uint8Array(audio.buffer), 0, audio.byteLength, offset);
        if (bytesRead !== audio.byteLength)
          throw new QuantgateError(
            `the decoded audio in ${this.dir} was cut short while the run read it; check the disk and run again`,
          );
        batch.push({ id, text, sampleRate, audio });
      }
      yield batch;
    }
  }

  /** Closes the spool, and removes it unless it is stored; safe to call more than once. */
  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
    if (this.owned) await rm(this.dir, { recursive: true, force: true });
  }
}

/** The index of a stored spool: utterances one after the other in the file, as `append` lays them out. */
function spooledUtterances(value: unknown): SpooledUtterance[] {
  if (!Array.isArray(value)) throw new Error(`${INDEX_FILE} is not a list`);
  let offset = 0;
  return value.map((entry: Partial<SpooledUtterance>, i) => {
    const { id, text, sampleRate, samples } = entry ?? {};
    if (
      typeof id !== 'string' ||
      typeof text !== 'string' ||
      !Number.isInteger(sampleRate) ||
      sampleRate! <= 0 ||
      !Number.isInteger(samples) ||
      samples! < 0 ||
      entry.offset !== offset
    )
      throw new Error(`entry ${i} of ${INDEX_FILE} is not an utterance of the spool`);
    offset += 4 * samples!;
    return { id, text, sampleRate: sampleRate!, offset: entry.offset, samples: samples! };
  });
}
