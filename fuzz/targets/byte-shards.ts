// A folder of byte shards (shard-aa, shard-ab, …) holding one GGUF.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { byteShardName } from '../../src/formats/gguf/byte-shards.js';
import { openGgufModel } from '../../src/formats/gguf/open.js';
import { byteShardSeeds } from '../corpus.js';
import { unpackParts } from '../mutators.js';
import type { FuzzTarget } from '../target.js';
import { readEveryTensor } from './read-tensors.js';

export const byteShards: FuzzTarget = {
  name: 'byte-shards',
  summary: 'a byte-shard folder (openGgufModel on the folder)',
  structure: 'parts',
  seeds: byteShardSeeds,
  async parse(input, scratch) {
    const dir = join(await scratch.folder(), 'model-shards');
    await mkdir(dir);
    for (const [index, part] of unpackParts(input, 16).entries())
      await writeFile(join(dir, byteShardName(index)), part);
    await readEveryTensor(await openGgufModel(dir));
  },
};
