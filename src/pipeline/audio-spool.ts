// The decoded audio of the run's utterances, kept on disk between the two variants: the reference
// pass decodes each utterance once and appends its samples here, and the candidate pass reads
// them back batch by batch, so the candidate hears exactly the same samples and no pass holds
// more than a batch in memory. Reading back costs a fraction of decoding again (FLAC decoding and
// resampling run at about 100× real time per core; the spool moves 96 kB per second of 24 kHz
// audio), and remote datasets are not fetched twice. The folder is removed on close.

import { mkdir, mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
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

export class AudioSpool {
  private readonly entries: SpooledUtterance[] = [];
  private end = 0;

  private constructor(
    private readonly dir: string,
    private readonly file: FileHandle,
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

  /** Closes and removes the spool; safe to call more than once. */
  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
