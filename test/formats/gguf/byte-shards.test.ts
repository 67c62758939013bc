import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { byteShardName, writeByteShards } from '../../../src/formats/gguf/byte-shards.js';
import { dumpGguf } from '../../../src/formats/gguf/dump.js';
import { planGguf } from '../../../src/formats/gguf/layout.js';
import { openGguf, type GgufFile } from '../../../src/formats/gguf/reader.js';
import type { GgufDataWriter } from '../../../src/formats/gguf/writer.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

let reference: Buffer;
let source: GgufFile;
beforeAll(async () => {
  reference = await readFile(fixture('gguf', 'reference.gguf'));
  source = await openGguf(fixture('gguf', 'reference.gguf'));
});
afterAll(() => source.close());

const copyTensors = async (writer: GgufDataWriter) => {
  for (const tensor of source.tensors) await writer.writeTensor(tensor.name, source.readChunks(tensor.name, 100));
};

async function dumpOf(path: string): Promise<string> {
  const file = await openGguf(path);
  try {
    return await dumpGguf(file);
  } finally {
    await file.close();
  }
}

describe('byteShardName', () => {
  test('counts like coreutils split: two letters, then longer suffixes that keep sorting in order', () => {
    expect([0, 1, 25, 26, 649, 650, 651, 650 + 16899, 650 + 16900].map(byteShardName)).toEqual([
      'shard-aa',
      'shard-ab',
      'shard-az',
      'shard-ba',
      'shard-yz',
      'shard-zaaa',
      'shard-zaab',
      'shard-zyzz',
      'shard-zzaaaa',
    ]);
    const names = Array.from({ length: 20000 }, (_, index) => byteShardName(index));
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(names);
  });
});

describe('writeByteShards', () => {
  test('cuts the GGUF into hashed chunks that concatenate to the single file', async () => {
    const dir = join(await makeTempDir(), 'shards');
    const layout = planGguf(source.metadata, source.tensors);
    const files = await writeByteShards(dir, layout, 1000, copyTensors);
    expect(files.map((file) => file.path)).toEqual(
      Array.from({ length: 26 }, (_, index) => join(dir, byteShardName(index))),
    );
    expect(files.map((file) => file.size)).toEqual([...Array<number>(25).fill(1000), 952]);
    const chunks = await Promise.all(files.map((file) => readFile(file.path)));
    for (const [index, chunk] of chunks.entries())
      expect(files[index]!.sha256).toBe(createHash('sha256').update(chunk).digest('hex'));
    expect(Buffer.compare(Buffer.concat(chunks), reference)).toBe(0);
    expect(await readdir(dir)).toEqual(files.map((file) => file.path.slice(dir.length + 1)));
  });

  test('past 650 shards the names grow and the folder still reads as the one file', async () => {
    const dir = join(await makeTempDir(), 'shards');
    const files = await writeByteShards(dir, planGguf(source.metadata, source.tensors), 39, copyTensors);
    expect(files).toHaveLength(Math.ceil(reference.byteLength / 39));
    expect(files.at(-1)!.path).toBe(join(dir, 'shard-zaap'));
    expect(await dumpOf(dir)).toBe(await readFile(fixture('gguf', 'reference.dump.txt'), 'utf8'));
  });

  test('a failure midway leaves the earlier folder as it was and nothing else', async () => {
    const parent = await makeTempDir();
    const dir = join(parent, 'shards');
    await mkdir(dir);
    await writeFile(join(dir, 'shard-aa'), 'earlier run');
    await expect(
      writeByteShards(dir, planGguf(source.metadata, source.tensors), 1000, async (writer) => {
        await writer.writeTensor(source.tensors[0]!.name, source.readChunks(source.tensors[0]!.name));
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(await readdir(parent)).toEqual(['shards']);
    expect(await readdir(dir)).toEqual(['shard-aa']);
    expect(await readFile(join(dir, 'shard-aa'), 'utf8')).toBe('earlier run');
  });

  test('refuses a shard size that is not a positive whole number', async () => {
    const dir = join(await makeTempDir(), 'shards');
    await expect(writeByteShards(dir, planGguf([], []), 0, async () => undefined)).rejects.toThrow(
      /byte shard size 0 is not a whole number of bytes ≥ 1/,
    );
  });
});

describe('reading a shard folder', () => {
  async function shardCopy(): Promise<string> {
    const dir = join(await makeTempDir(), 'shards');
    await writeByteShards(dir, planGguf(source.metadata, source.tensors), 4096, copyTensors);
    return dir;
  }

  test('gives the same dump and tensor bytes as the single file, reading across shard boundaries', async () => {
    const dir = await shardCopy();
    expect(await dumpOf(dir)).toBe(await readFile(fixture('gguf', 'reference.dump.txt'), 'utf8'));
    const file = await openGguf(dir);
    try {
      // 4096 falls inside this tensor's data, so the read spans two shards
      const tensor = file.tensors.find(
        (candidate) => candidate.name === 'transformer.layers.0.self_attn.in_proj_weight',
      )!;
      const start = file.dataOffset + tensor.offset;
      expect(start < 4096 && start + tensor.size > 4096).toBe(true);
      expect(Buffer.from(await file.read(tensor.name))).toEqual(reference.subarray(start, start + tensor.size));
    } finally {
      await file.close();
    }
  });

  test('names a missing or truncated shard, or a folder without shards', async () => {
    const missing = await shardCopy();
    await rm(join(missing, 'shard-ab'));
    await expect(openGguf(missing)).rejects.toThrow(
      `${missing}: shard-ab is missing among 6 shards; download every shard again`,
    );
    const cut = await shardCopy();
    await truncate(join(cut, 'shard-ac'), 4000);
    await expect(openGguf(cut)).rejects.toThrow(
      `${join(cut, 'shard-ac')} is 4000 bytes but the shards before the last are 4096; it is truncated — download it again`,
    );
    const lastCut = await shardCopy();
    await truncate(join(lastCut, 'shard-ag'), 10);
    await expect(openGguf(lastCut)).rejects.toThrow(
      /tensor bf\.weight ends at byte 25952 but the file has 24586; it is truncated/,
    );
    const empty = await makeTempDir();
    await expect(openGguf(empty)).rejects.toThrow(
      `${empty} holds no shard-* files; point to a folder of byte shards or to a .gguf file`,
    );
  });
});
