// The decoded audio kept between the two variants' passes: read back exactly, in order and in
// batches, and removed on close; stored with the results, it is read back from the stored files,
// and stored files that do not make a spool say why.

import { copyFile, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import type { Utterance } from '../../src/datasets/utterance.js';
import { AudioSpool } from '../../src/pipeline/audio-spool.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

function utterance(index: number, samples: number): Utterance {
  return {
    id: `u${index}`,
    text: `text ${index}`,
    sampleRate: 24000,
    audio: Float32Array.from({ length: samples }, (_, i) => Math.sin(i * (index + 1)) / (i + 1)),
  };
}

describe('AudioSpool', () => {
  test('gives back every utterance bit for bit, in order, in batches of the size asked', async () => {
    const parent = await makeTempDir();
    const spool = await AudioSpool.create(parent);
    const written = [utterance(0, 5), utterance(1, 0), utterance(2, 70_000), utterance(3, 1), utterance(4, 333)];
    // A subarray, as a decoder may hand out, is spooled from its own offset.
    const sliced = utterance(5, 100);
    written.push({ ...sliced, audio: sliced.audio.subarray(10, 60) });
    await spool.append(written.slice(0, 2));
    await spool.append(written.slice(2));
    expect(spool.size).toBe(6);
    const batches: Utterance[][] = [];
    for await (const batch of spool.batches(4)) batches.push(batch);
    expect(batches.map((batch) => batch.length)).toEqual([4, 2]);
    expect(batches.flat()).toEqual(written);
    // A second pass reads the same again.
    const again: Utterance[] = [];
    for await (const batch of spool.batches(6)) again.push(...batch);
    expect(again).toEqual(written);
    expect((await readdir(parent)).filter((name) => name.startsWith('.quantgate-audio-'))).toHaveLength(1);
    await spool.close();
    await spool.close();
    expect(await readdir(parent)).toEqual([]);
  });

  test('a parent that cannot hold the folder is a one-line error naming it', async () => {
    const parent = await makeTempDir();
    const file = join(parent, 'not-a-folder');
    await writeFile(file, 'x');
    await expect(AudioSpool.create(file)).rejects.toThrow(QuantgateError);
    await expect(AudioSpool.create(file)).rejects.toThrow(
      new RegExp(
        `^cannot make a temporary folder for decoded audio in ${file} \\(.*\\); choose a writable --out-dir with free space$`,
      ),
    );
  });

  test('stored, it reads back the same from the stored files, which close leaves in place', async () => {
    const spool = await AudioSpool.create(await makeTempDir());
    const written = [utterance(0, 50), utterance(1, 0), utterance(2, 7)];
    await spool.append(written);
    const stored = await makeTempDir();
    for (const { name, path } of await spool.storedFiles()) await copyFile(path, join(stored, name));
    await spool.close();

    const reopened = await AudioSpool.openStored(stored);
    if (typeof reopened === 'string') throw new Error(reopened);
    expect(reopened.size).toBe(3);
    const read: Utterance[] = [];
    for await (const batch of reopened.batches(2)) read.push(...batch);
    expect(read).toEqual(written);
    await reopened.close();
    expect((await readdir(stored)).sort()).toEqual(['audio.f32', 'audio.json']);

    const index = await readFile(join(stored, 'audio.json'), 'utf8');
    await writeFile(join(stored, 'audio.json'), index.replace('"offset":200', '"offset":204'));
    expect(await AudioSpool.openStored(stored)).toMatch(/entry 1 of audio\.json is not an utterance of the spool/);
    await writeFile(join(stored, 'audio.json'), '{');
    expect(typeof (await AudioSpool.openStored(stored))).toBe('string');
    await writeFile(join(stored, 'audio.json'), index);
    await truncate(join(stored, 'audio.f32'), 100);
    expect(await AudioSpool.openStored(stored)).toBe('audio.f32 holds 100 bytes, fewer than its index lists');
  });
});
