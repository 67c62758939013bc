// A zip archive, as NuGet packages are (openZip, every entry read and checked).
import { openZip } from '../../src/runtime/zip.js';
import { zipSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';

export const zip: FuzzTarget = {
  name: 'zip',
  summary: 'a zip archive (openZip, every entry read)',
  structure: 'binary-tail',
  seeds: async () => zipSeeds(),
  async parse(input, scratch) {
    const archive = await openZip(await scratch.file('package.nupkg', input));
    try {
      for (const entry of archive.entries) {
        for await (const _chunk of archive.read(entry)) continue;
      }
    } finally {
      await archive.close();
    }
  },
};
