import { readdir, readFile, writeFile, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AtomicFile,
  removeLiveTempPaths,
  writeAtomic,
  writeDirAtomic,
  writeFileAtomic,
} from '../../src/common/atomic.js';
import { QuantgateError } from '../../src/common/errors.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

describe('atomic writes', () => {
  test('a committed file appears under its final name and nothing else is left', async () => {
    const dir = await makeTempDir();
    await writeFileAtomic(join(dir, 'out.bin'), 'hello');
    expect(await readFile(join(dir, 'out.bin'), 'utf8')).toBe('hello');
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  test('a failure midway leaves neither the file nor its temp name', async () => {
    const dir = await makeTempDir();
    await expect(
      writeAtomic(join(dir, 'out.bin'), async (file) => {
        await file.write(Buffer.alloc(1000));
        throw new Error('disk on fire');
      }),
    ).rejects.toThrow('disk on fire');
    expect(await readdir(dir)).toEqual([]);
  });

  test('a folder is replaced only once the new one is complete', async () => {
    const dir = await makeTempDir();
    const target = join(dir, 'shards');
    await mkdir(target);
    await writeFile(join(target, 'old'), 'x');
    await expect(
      writeDirAtomic(target, async (tmp) => {
        await writeFile(join(tmp, 'new'), 'y');
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(await readdir(target)).toEqual(['old']);
    await writeDirAtomic(target, (tmp) => writeFile(join(tmp, 'new'), 'y'));
    expect(await readdir(target)).toEqual(['new']);
    expect(await readdir(dir)).toEqual(['shards']);
  });

  test('an unwritable folder is a clear error', async () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions; a path under a regular file is unwritable for everyone
      const dir = await makeTempDir();
      await writeFile(join(dir, 'file'), '');
      await expect(writeFileAtomic(join(dir, 'file', 'out.bin'), 'x')).rejects.toThrow(QuantgateError);
      return;
    }
    const dir = await makeTempDir();
    await chmod(dir, 0o500);
    await expect(writeFileAtomic(join(dir, 'out.bin'), 'x')).rejects.toThrow(/choose a writable/);
  });

  test('removeLiveTempPaths deletes the temp files and folders still being written, and nothing that was committed', async () => {
    const dir = await makeTempDir();
    await writeFileAtomic(join(dir, 'done.txt'), 'kept');
    const open = await AtomicFile.create(join(dir, 'open.bin'));
    await open.write(Buffer.alloc(100));
    let inside: string[] = [];
    await expect(
      writeDirAtomic(join(dir, 'shards'), async (tempDir) => {
        await writeFile(join(tempDir, 'shard-aa'), 'x');
        inside = await readdir(dir);
        removeLiveTempPaths();
        throw new Error('stopped');
      }),
    ).rejects.toThrow('stopped');
    expect(inside.filter((name) => name.includes('.tmp-'))).toHaveLength(2);
    expect(await readdir(dir)).toEqual(['done.txt']);
    await open.abort();
  });
});
