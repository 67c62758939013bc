import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isQuantgateError } from '../../src/common/errors.js';
import { SeededRandom } from '../../src/scoring/random.js';
import {
  readReferenceBase,
  ReferenceBaseWriter,
  requireSameIdentity,
  type ReferenceBaseIdentity,
} from '../../src/scoring/reference-base.js';
import { referenceStep, type ReferenceStep } from '../../src/scoring/token-damage.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

const IDENTITY: ReferenceBaseIdentity = {
  model: 'sha256:abc',
  engine: 'kyutai-stt 0.1.0',
  device: 'cpu',
  dataset: 'openslr/librispeech_asr@71cacbf test.clean first 100',
};

function steps(seed: number, count: number, vocabulary: number, k: number): ReferenceStep[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () =>
    referenceStep(
      Float32Array.from({ length: vocabulary }, () => random.nextFloat() * 10),
      0,
      vocabulary,
      k,
    )!,
  );
}

async function writeBase(
  path: string,
  distribution: 'full' | 'top-k',
  k: number,
  vocabulary: number,
  utterances: [string, ReferenceStep[]][],
) {
  const writer = await ReferenceBaseWriter.create(path, { identity: IDENTITY, distribution, k, vocabulary });
  for (const [id, each] of utterances) await writer.append(id, `text of ${id}`, each);
  await writer.commit();
}

test('a top-k base reads back exactly as written, in order', async () => {
  const path = join(await makeTempDir(), 'reference_base.bin');
  const written: [string, ReferenceStep[]][] = [
    ['1089-134686-0000', steps(1, 7, 100, 32)],
    ['ü-2', steps(2, 0, 100, 32)],
    ['3', steps(3, 3, 100, 32)],
  ];
  await writeBase(path, 'top-k', 32, 100, written);
  const base = await readReferenceBase(path);
  expect(base.header).toEqual({
    identity: IDENTITY,
    distribution: 'top-k',
    k: 32,
    vocabulary: 100,
    producer: { tool: 'quantgate', version: expect.any(String) },
  });
  expect([...base.utterances.keys()]).toEqual(['1089-134686-0000', 'ü-2', '3']);
  for (const [id, each] of written) expect(base.utterances.get(id)).toEqual({ text: `text of ${id}`, steps: each });
});

test('a full base keeps every log-probability and no ids', async () => {
  const dir = await makeTempDir();
  const written = steps(4, 5, 30, 30);
  await writeBase(join(dir, 'full.bin'), 'full', 30, 30, [['a', written]]);
  const [read] = (await readReferenceBase(join(dir, 'full.bin'))).utterances.values();
  expect(read).toEqual({ text: 'text of a', steps: written });
  // token + 30 floats per step, no ids: the full layout is smaller than a top-30 one would be.
  await writeBase(join(dir, 'top.bin'), 'top-k', 29, 30, [['a', steps(4, 5, 30, 29)]]);
  const [full, top] = await Promise.all([readFile(join(dir, 'full.bin')), readFile(join(dir, 'top.bin'))]);
  expect(full.length).toBeLessThan(top.length);
});

test('a base of another model, engine, device or dataset selection is refused with the field that differs', () => {
  const header = {
    identity: IDENTITY,
    distribution: 'top-k' as const,
    k: 32,
    vocabulary: 100,
    producer: { tool: 'quantgate', version: '0.1.0' },
  };
  expect(() => requireSameIdentity(header, IDENTITY, 'b.bin')).not.toThrow();
  for (const [field, label] of [
    ['model', 'model'],
    ['engine', 'engine'],
    ['device', 'device'],
    ['dataset', 'dataset selection'],
  ] as const) {
    expect(() => requireSameIdentity(header, { ...IDENTITY, [field]: 'other' }, 'b.bin')).toThrow(
      `the reference base b.bin was made for another ${label} (`,
    );
  }
});

test('every truncation, every flipped byte and a forged checksum over bad counts give one clean error', async () => {
  const dir = await makeTempDir();
  const path = join(dir, 'good.bin');
  await writeBase(path, 'top-k', 4, 10, [
    ['a', steps(5, 3, 10, 4)],
    ['b', steps(6, 2, 10, 4)],
  ]);
  const good = await readFile(path);
  const bad = join(dir, 'bad.bin');
  const expectClean = async (bytes: Uint8Array) => {
    await writeFile(bad, bytes);
    const error = await readReferenceBase(bad).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isQuantgateError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^.*bad\.bin is not an intact reference base \(.+\); run again without --reference-base/,
    );
  };
  for (let length = 0; length < good.length; length += 7) await expectClean(good.subarray(0, length));
  for (let at = 0; at < good.length; at += 5) {
    const flipped = Buffer.from(good);
    flipped[at]! ^= 0x40;
    await expectClean(flipped);
  }
  // Valid checksums over corrupt contents: counts past the end, a token outside the vocabulary.
  const resealed = (body: Buffer) => Buffer.concat([body, createHash('sha256').update(body).digest()]);
  const body = good.subarray(0, good.length - 32);
  const headerEnd = 16 + body.readUInt32LE(12);
  // The first record: id length, id "a", text length, text, step count, then its first step's token.
  const textAt = headerEnd + 4 + 1;
  const stepsAt = textAt + 4 + 'text of a'.length;
  for (const at of [textAt, stepsAt]) {
    const huge = Buffer.from(body);
    huge.writeUInt32LE(0xffffffff, at);
    await expectClean(resealed(huge));
  }
  const outside = Buffer.from(body);
  outside.writeInt32LE(99, stepsAt + 4);
  await expectClean(resealed(outside));
  const header = Buffer.from(body);
  header.write('[', 16);
  await expectClean(resealed(header));
});

test('an aborted base leaves no file', async () => {
  const dir = await makeTempDir();
  const writer = await ReferenceBaseWriter.create(join(dir, 'reference_base.bin'), {
    identity: IDENTITY,
    distribution: 'top-k',
    k: 2,
    vocabulary: 3,
  });
  await writer.append('a', 'a', steps(7, 1, 3, 2));
  await writer.abort();
  expect(await readdir(dir)).toEqual([]);
});
