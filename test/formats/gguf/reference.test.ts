import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dumpGguf } from '../../../src/formats/gguf/dump.js';
import { planGguf } from '../../../src/formats/gguf/layout.js';
import { openGguf } from '../../../src/formats/gguf/reader.js';
import { writeGgufFile } from '../../../src/formats/gguf/writer.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

const referencePath = fixture('gguf', 'reference.gguf');

describe('ggml reference file', () => {
  test('the dump reproduces what ggml reports for it, byte for byte', async () => {
    const file = await openGguf(referencePath);
    try {
      expect(await dumpGguf(file)).toBe(await readFile(fixture('gguf', 'reference.dump.txt'), 'utf8'));
    } finally {
      await file.close();
    }
  });

  test('writing its keys and tensors again gives a byte-identical file', async () => {
    const source = await openGguf(referencePath);
    const out = join(await makeTempDir(), 'again.gguf');
    try {
      const layout = planGguf(source.metadata, source.tensors);
      expect(layout.dataOffset).toBe(source.dataOffset);
      const written = await writeGgufFile(out, layout, async (writer) => {
        for (const tensor of source.tensors)
          await writer.writeTensor(tensor.name, source.readChunks(tensor.name, 1000));
      });
      const expected = await readFile(referencePath);
      expect(Buffer.compare(await readFile(out), expected)).toBe(0);
      expect(written.size).toBe(expected.byteLength);
      expect(layout.totalSize).toBe(expected.byteLength);
    } finally {
      await source.close();
    }
  });
});
