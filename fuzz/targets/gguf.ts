// A single .gguf file: header, metadata and tensor table (openGgufModel), then every tensor's bytes.
import { openGgufModel } from '../../src/formats/gguf/open.js';
import { ggufSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';
import { readEveryTensor } from './read-tensors.js';

export const gguf: FuzzTarget = {
  name: 'gguf',
  summary: 'a .gguf file (openGgufModel, every tensor read)',
  structure: 'binary-head',
  seeds: ggufSeeds,
  async parse(input, scratch) {
    await readEveryTensor(await openGgufModel(await scratch.file('model.gguf', input)));
  },
};
