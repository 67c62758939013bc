// A child that hands a parquet file straight to hyparquet, without quantgate's checks: the
// robustness tests use it to show what the library does with an input, and that the isolation
// contains it even when the checks do not catch it.

import { readFile } from 'node:fs/promises';
import { parquetReadObjects } from 'hyparquet';
import { serveParent } from '../../src/common/isolated-process.js';

serveParent({
  ready: async () => true,
  read: async (path: string) => {
    const bytes = await readFile(path);
    return parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      utf8: false,
    });
  },
});
