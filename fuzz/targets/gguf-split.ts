// A gguf-split set: its parts written as model-0000k-of-0000N.gguf and opened from the first.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openGgufModel } from '../../src/formats/gguf/open.js';
import { ggufSplitFileName } from '../../src/formats/gguf/split.js';
import { ggufSplitSeeds } from '../corpus.js';
import { unpackParts } from '../mutators.js';
import type { FuzzTarget } from '../target.js';
import { readEveryTensor } from './read-tensors.js';

export const ggufSplit: FuzzTarget = {
  name: 'gguf-split',
  summary: 'a gguf-split set (openGgufModel on its first part)',
  structure: 'parts',
  seeds: ggufSplitSeeds,
  async parse(input, scratch) {
    const parts = unpackParts(input, 8);
    const dir = await scratch.folder();
    for (const [index, part] of parts.entries())
      await writeFile(join(dir, ggufSplitFileName('model', index, parts.length)), part);
    await readEveryTensor(await openGgufModel(join(dir, ggufSplitFileName('model', 0, Math.max(1, parts.length)))));
  },
};
