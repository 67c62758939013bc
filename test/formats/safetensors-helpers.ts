// Builders shared by the safetensors tests: hand-made files (including malformed ones) and a check
// that no file descriptor of this process still refers to a file.

import { readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes `dir/name` as the 8-byte little-endian header length (`declaredLength`, else the header's
 * real length), the header (bytes or text as given, anything else as JSON), then `data`.
 */
export async function writeRawSafetensors(
  dir: string,
  name: string,
  header: unknown,
  data: Uint8Array | number = 0,
  declaredLength?: bigint,
): Promise<string> {
  const headerBytes =
    header instanceof Uint8Array ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(declaredLength ?? BigInt(headerBytes.byteLength));
  const dataBytes = typeof data === 'number' ? Buffer.alloc(data) : data;
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([length, headerBytes, dataBytes]));
  return path;
}

/** How many of this process's file descriptors refer to `path` (Linux: /proc/self/fd). */
export async function descriptorsOpenOn(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target === path) count++;
  }
  return count;
}
