// Opens a quantized model whatever its output format: a .gguf file, a folder of byte shards, one
// part of a gguf-split set, or the folder holding such a set.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError, describeError } from '../../common/errors.js';
import { BYTE_SHARD_PREFIX } from './byte-shards.js';
import { openGguf, type GgufModel } from './reader.js';
import { isGgufSplitPath, openGgufSplit } from './split-reader.js';

export async function openGgufModel(path: string): Promise<GgufModel> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(path)).isDirectory();
  } catch (error) {
    throw new QuantgateError(
      `${path} cannot be opened (${describeError(error)}); pass a .gguf file, a byte-shard folder or a gguf-split part`,
      { cause: error },
    );
  }
  if (!isFolder) return isGgufSplitPath(path) ? openGgufSplit(path) : openGguf(path);
  const names = (await readdir(path)).sort();
  const firstPart = names.find(isGgufSplitPath);
  if (firstPart) return openGgufSplit(join(path, firstPart));
  if (names.some((name) => name.startsWith(BYTE_SHARD_PREFIX))) return openGguf(path);
  throw new QuantgateError(
    `${path} holds neither byte shards (${BYTE_SHARD_PREFIX}aa, …) nor gguf-split parts; pass the folder quantgate wrote or a .gguf file`,
  );
}
