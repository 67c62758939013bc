// Random access to the bytes of one GGUF, wherever they lie: a single file, or a folder of byte
// shards read as if they were concatenated (reads cross shard boundaries transparently).

import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError, describeError } from '../../common/errors.js';
import { BYTE_SHARD_PREFIX, byteShardName } from './byte-shards.js';

export interface RandomAccessSource {
  /** The path, for messages. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes from `position`; the range must lie inside the source. */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A folder is read as byte shards, anything else as one file. */
export async function openSource(path: string): Promise<RandomAccessSource> {
  const info = await stat(path).catch((error: unknown) => {
    throw new QuantgateError(`cannot open ${path} (${describeError(error)}); check the path`, { cause: error });
  });
  return info.isDirectory() ? openByteShardSource(path) : openFileSource(path);
}

async function openFileSource(path: string): Promise<RandomAccessSource> {
  const handle = await openForReading(path);
  const { size } = await handle.stat();
  return {
    name: path,
    size,
    read: (position, length) => readFully(handle, path, position, length),
    close: () => handle.close(),
  };
}

interface ShardPart {
  path: string;
  start: number;
  size: number;
}

/** The shards `shard-aa`, `shard-ab`, … of `dir`, checked complete, as one byte range. */
async function openByteShardSource(dir: string): Promise<RandomAccessSource> {
  const parts = await listShards(dir);
  const last = parts.at(-1)!;
  return {
    name: dir,
    size: last.start + last.size,
    async read(position, length) {
      const out = new Uint8Array(length);
      let index = partAt(parts, position);
      let done = 0;
      while (done < length) {
        const part = parts[index++];
        if (!part)
          throw new QuantgateError(
            `${dir}: read past the last shard at byte ${position + done}; a shard is missing — download every shard again`,
          );
        const from = position + done - part.start;
        const take = Math.min(part.size - from, length - done);
        // Opened per read: a folder may hold more shards than a process may keep open.
        const handle = await openForReading(part.path);
        try {
          out.set(await readFully(handle, part.path, from, take), done);
        } finally {
          await handle.close();
        }
        done += take;
      }
      return out;
    },
    close: async () => undefined,
  };
}

async function listShards(dir: string): Promise<ShardPart[]> {
  const names = new Set((await readdir(dir)).filter((name) => name.startsWith(BYTE_SHARD_PREFIX)));
  if (names.size === 0)
    throw new QuantgateError(
      `${dir} holds no ${BYTE_SHARD_PREFIX}* files; point to a folder of byte shards or to a .gguf file`,
    );
  const parts: ShardPart[] = [];
  let start = 0;
  for (let index = 0; index < names.size; index++) {
    const name = byteShardName(index);
    if (!names.has(name)) {
      throw new QuantgateError(`${dir}: ${name} is missing among ${names.size} shards; download every shard again`);
    }
    const { size } = await stat(join(dir, name));
    parts.push({ path: join(dir, name), start, size });
    start += size;
  }
  // Every shard but the last is cut at the same size, so a shorter one was cut off in transit.
  const full = parts[0]!.size;
  const short = parts.slice(0, -1).find((part) => part.size !== full);
  if (short) {
    throw new QuantgateError(
      `${short.path} is ${short.size} bytes but the shards before the last are ${full}; it is truncated — download it again`,
    );
  }
  return parts;
}

/** Index of the part holding byte `position`. */
function partAt(parts: readonly ShardPart[], position: number): number {
  let low = 0;
  let high = parts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (parts[middle]!.start <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}

async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw new QuantgateError(`cannot open ${path} (${describeError(error)}); check the path`, { cause: error });
  }
}

async function readFully(handle: FileHandle, path: string, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0)
      throw new QuantgateError(
        `${path} ended at byte ${position + done} while ${length - done} more bytes were expected; it changed while being read — download it again`,
      );
    done += bytesRead;
  }
  return out;
}
