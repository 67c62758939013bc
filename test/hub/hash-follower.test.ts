import { createHash } from 'node:crypto';
import { appendFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { followFile } from '../../src/hub/hash-follower.js';
import { blobHashRecipe } from '../../src/hub/integrity.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

const content = Buffer.from(Array.from({ length: 3_000_000 }, (_, index) => (index * 7919) % 251));
const sha256 = createHash('sha256').update(content).digest('hex');

describe('followFile', () => {
  test('hashes a file in a worker thread as it grows, piece by piece', async () => {
    const path = join(await makeTempDir(), 'blob.incomplete');
    await writeFile(path, '');
    const follower = followFile(path, blobHashRecipe(sha256, content.length));
    for (let offset = 0; offset < content.length; offset += 700_001) {
      await appendFile(path, content.subarray(offset, offset + 700_001));
      follower.written(Math.min(content.length, offset + 700_001));
      await sleep(2);
    }
    expect(await follower.digest()).toBe(sha256);
  });

  test('takes bytes already on disk when it starts, and hashes the way a git blob is named', async () => {
    const path = join(await makeTempDir(), 'small.incomplete');
    await writeFile(path, 'hello\n');
    const gitName = 'ce013625030ba8dba906f756967f9e9ca394464a'; // `git hash-object` of "hello\n"
    const follower = followFile(path, blobHashRecipe(gitName, 6));
    follower.written(6);
    expect(await follower.digest()).toBe(gitName);
  });

  test('a file shorter than the bytes said to be written fails the digest, naming the file', async () => {
    const path = join(await makeTempDir(), 'short.incomplete');
    await writeFile(path, content);
    const follower = followFile(path, blobHashRecipe(sha256, content.length));
    await truncate(path, 1000);
    follower.written(content.length);
    await expect(follower.digest()).rejects.toThrow(
      `${path} ends at byte 1000, before the ${content.length} bytes said to be written`,
    );
  });

  test('cancel stops a worker that waits for more bytes', async () => {
    const path = join(await makeTempDir(), 'cancelled.incomplete');
    await writeFile(path, content.subarray(0, 10));
    const follower = followFile(path, blobHashRecipe(sha256, content.length));
    follower.written(10);
    await sleep(20);
    await follower.cancel();
  });
});
