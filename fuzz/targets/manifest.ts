// A quantgate manifest (model.manifest.json) beside the model.gguf it lists, checked by verify.
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { verifyQuantized } from '../../src/formats/gguf/verify.js';
import { manifestCompanion, manifestSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';

let companion: Uint8Array | undefined;

export const manifest: FuzzTarget = {
  name: 'manifest',
  summary: 'a quantgate manifest (verifyQuantized on it, with the GGUF it lists)',
  structure: 'json',
  seeds: manifestSeeds,
  async parse(input, scratch) {
    companion ??= await manifestCompanion();
    const path = await scratch.file('model.manifest.json', input);
    await writeFile(join(dirname(path), 'model.gguf'), companion);
    await verifyQuantized({ path });
  },
};
