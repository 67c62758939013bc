// A tar archive, as npm packs onnxruntime-node (readTar, every entry's body read).
import { readTar } from '../../src/runtime/tar.js';
import { tarSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';

async function* inPieces(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += 1000) yield Buffer.from(bytes.subarray(offset, offset + 1000));
}

export const tar: FuzzTarget = {
  name: 'tar',
  summary: 'a tar archive (readTar)',
  structure: 'tar',
  seeds: async () => tarSeeds(),
  async parse(input) {
    await readTar(inPieces(input), 'package.tgz', async (_entry, body) => {
      for await (const _chunk of body) continue;
    });
  },
};
