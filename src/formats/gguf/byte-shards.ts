// The "bytes" output format: one GGUF cut into raw chunks `shard-aa`, `shard-ab`, … of at most N
// bytes each, in a folder that appears only once complete, so `cat shard-* > model.gguf`
// rebuilds the file. Names follow coreutils `split`: two letters (aa … yz), then the suffix grows
// so that names keep sorting in file order (yz, zaaa, …, zyzz, zzaaaa, …). Each chunk's SHA-256
// is computed while it is written. Shards are written while the tensors are converted, or cut
// from a single .gguf already written when that file is kept too.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirAtomic } from '../../common/atomic.js';
import { QuantgateError } from '../../common/errors.js';
import type { GgufLayout } from './layout.js';
import type { ByteSink, WrittenFile } from './sink.js';
import { GgufWriter, type GgufDataWriter } from './writer.js';

export const BYTE_SHARD_PREFIX = 'shard-';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** Read size when cutting an existing file into shards. */
const COPY_CHUNK_BYTES = 4 << 20;

/** The file name of the `index`-th (0-based) byte shard. */
export function byteShardName(index: number): string {
  let prefix = '';
  let width = 2;
  let rest = index;
  // Suffixes starting with "z" are never used at a given width; they announce the next width.
  while (rest >= 25 * 26 ** (width - 1)) {
    rest -= 25 * 26 ** (width - 1);
    prefix += 'z';
    width++;
  }
  let suffix = '';
  for (let i = 0; i < width; i++) {
    suffix = LETTERS[rest % 26]! + suffix;
    rest = Math.floor(rest / 26);
  }
  return `${BYTE_SHARD_PREFIX}${prefix}${suffix}`;
}

/**
 * Writes the GGUF planned in `layout` as byte shards of at most `shardBytes` into the folder
 * `dir` (replacing it only once complete). `fill` writes every tensor through the writer it gets.
 */
export async function writeByteShards(
  dir: string,
  layout: GgufLayout,
  shardBytes: number,
  fill: (writer: GgufDataWriter) => Promise<void>,
): Promise<WrittenFile[]> {
  checkShardBytes(shardBytes);
  return writeDirAtomic(dir, async (tempDir) => {
    const sink = new ByteShardSink(tempDir, dir, shardBytes);
    try {
      const writer = await GgufWriter.begin(sink, layout);
      await fill(writer);
      writer.finish();
      return await sink.close();
    } catch (error) {
      await sink.abandon();
      throw error;
    }
  });
}

/**
 * Cuts the GGUF file at `source` into byte shards of at most `shardBytes` in the folder `dir`, as
 * `writeByteShards` would have written them; `onBytes` hears the progress.
 */
export async function copyIntoByteShards(
  source: string,
  dir: string,
  shardBytes: number,
  onBytes: (count: number) => void = () => undefined,
): Promise<WrittenFile[]> {
  checkShardBytes(shardBytes);
  return writeDirAtomic(dir, async (tempDir) => {
    const sink = new ByteShardSink(tempDir, dir, shardBytes);
    try {
      for await (const chunk of createReadStream(source, {
        highWaterMark: COPY_CHUNK_BYTES,
      }) as AsyncIterable<Buffer>) {
        await sink.write(chunk);
        onBytes(chunk.byteLength);
      }
      return await sink.close();
    } catch (error) {
      await sink.abandon();
      throw error;
    }
  });
}

function checkShardBytes(shardBytes: number): void {
  if (!Number.isSafeInteger(shardBytes) || shardBytes < 1) {
    throw new QuantgateError(
      `byte shard size ${shardBytes} is not a whole number of bytes ≥ 1; choose a positive shard size`,
    );
  }
}

interface OpenShard {
  name: string;
  handle: FileHandle;
  size: number;
  hash: Hash;
}

/** Cuts a byte stream into consecutive shard files, each hashed as it is written. */
class ByteShardSink implements ByteSink {
  private current: OpenShard | undefined;
  private readonly finished: WrittenFile[] = [];

  /** Writes into `tempDir`; the files it reports carry their names under `finalDir`. */
  constructor(
    private readonly tempDir: string,
    private readonly finalDir: string,
    private readonly shardBytes: number,
  ) {}

  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.byteLength) {
      const shard = this.current && this.current.size < this.shardBytes ? this.current : await this.startShard();
      const part = data.subarray(offset, offset + Math.min(this.shardBytes - shard.size, data.byteLength - offset));
      let done = 0;
      while (done < part.byteLength) done += (await shard.handle.write(part, done)).bytesWritten;
      shard.hash.update(part);
      shard.size += part.byteLength;
      offset += part.byteLength;
    }
  }

  /** Closes the last shard and returns every shard in order. */
  async close(): Promise<WrittenFile[]> {
    await this.endShard();
    return this.finished;
  }

  /** Closes the open shard without recording it; the caller removes the folder. */
  async abandon(): Promise<void> {
    await this.current?.handle.close().catch(() => undefined);
    this.current = undefined;
  }

  private async startShard(): Promise<OpenShard> {
    await this.endShard();
    const name = byteShardName(this.finished.length);
    this.current = { name, handle: await open(join(this.tempDir, name), 'wx'), size: 0, hash: createHash('sha256') };
    return this.current;
  }

  private async endShard(): Promise<void> {
    const shard = this.current;
    if (!shard) return;
    this.current = undefined;
    try {
      await shard.handle.sync();
    } finally {
      await shard.handle.close();
    }
    this.finished.push({ path: join(this.finalDir, shard.name), size: shard.size, sha256: shard.hash.digest('hex') });
  }
}
