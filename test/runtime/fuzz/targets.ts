// The archive readers as fuzz targets: each takes the bytes of one archive and reads all of it
// (every entry and every byte of every body), as the onnxruntime and CUDA installs would.

import { readTar } from '../../../src/runtime/tar.js';
import { openZip } from '../../../src/runtime/zip.js';

export type ArchiveKind = 'tar' | 'zip';

export const ARCHIVE_TARGETS: Record<ArchiveKind, (bytes: Uint8Array) => Promise<void>> = {
  async tar(bytes) {
    await readTar(bytes, 'fuzz.tar', async (_entry, body) => {
      for await (const chunk of body) void chunk;
    });
  },
  async zip(bytes) {
    const archive = await openZip(bytes, 'fuzz.zip');
    try {
      for (const entry of archive.entries) for await (const chunk of archive.read(entry)) void chunk;
    } finally {
      await archive.close();
    }
  },
};
