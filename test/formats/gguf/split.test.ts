import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GgufValueType } from '../../../src/formats/gguf/constants.js';
import { planGguf, type GgufLayout, type GgufTensorSpec } from '../../../src/formats/gguf/layout.js';
import type { GgufMetadataEntry } from '../../../src/formats/gguf/metadata.js';
import { openGguf, type GgufFile } from '../../../src/formats/gguf/reader.js';
import { isGgufSplitPath, openGgufSplit } from '../../../src/formats/gguf/split-reader.js';
import { ggufSplitFileName, planGgufSplit, writeGgufSplit } from '../../../src/formats/gguf/split.js';
import { writeGgufFile, type GgufDataWriter } from '../../../src/formats/gguf/writer.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

let source: GgufFile;
beforeAll(async () => {
  source = await openGguf(fixture('gguf', 'reference.gguf'));
});
afterAll(() => source.close());

const copyTensors = async (writer: GgufDataWriter) => {
  for (const tensor of source.tensors) await writer.writeTensor(tensor.name, source.readChunks(tensor.name, 1000));
};
const splitKey = (key: string, type: GgufValueType.UINT16 | GgufValueType.INT32, value: number): GgufMetadataEntry => ({
  key,
  type,
  value,
});
const keysOf = (file: { metadata: readonly GgufMetadataEntry[] }) => file.metadata.map((entry) => entry.key);

async function writeSplit(maxFileBytes: number): Promise<{ dir: string; parts: GgufLayout[] }> {
  const dir = join(await makeTempDir(), 'split');
  const parts = planGgufSplit(source.metadata, source.tensors, { maxFileBytes });
  await writeGgufSplit(dir, 'model', parts, copyTensors);
  return { dir, parts };
}

async function openEach<T>(paths: string[], use: (files: GgufFile[]) => Promise<T>): Promise<T> {
  const files: GgufFile[] = [];
  try {
    for (const path of paths) files.push(await openGguf(path));
    return await use(files);
  } finally {
    await Promise.all(files.map((file) => file.close()));
  }
}

describe('planGgufSplit', () => {
  test('fills each file greedily, counting headers too', () => {
    const max = 10_000;
    const parts = planGgufSplit(source.metadata, source.tensors, { maxFileBytes: max });
    expect(parts.map((part) => part.tensors.map((tensor) => tensor.name))).toEqual([
      ['text_emb.weight', 'transformer.layers.0.norm1.alpha'],
      ['transformer.layers.0.self_attn.in_proj_weight'],
      ['transformer.layers.0.gating.linear_in.weight'],
      ['transformer.layers.0.self_attn.out_proj.weight', 'odd.bias', 'conv.weight', 'bf.weight'],
    ]);
  });

  test.each([3_000, 10_000, 30_000])(
    'with a limit of %i bytes, no file could have taken the next tensor, and only a lone tensor exceeds it',
    (max) => {
      const parts = planGgufSplit(source.metadata, source.tensors, { maxFileBytes: max });
      expect(parts.flatMap((part) => part.tensors.map((tensor) => tensor.name))).toEqual(
        source.tensors.map((tensor) => tensor.name),
      );
      for (const [index, part] of parts.entries()) {
        if (part.totalSize > max) expect(part.tensors).toHaveLength(1);
        const next = parts[index + 1];
        if (next) expect(planGguf(part.metadata, [...part.tensors, next.tensors[0]!]).totalSize).toBeGreaterThan(max);
      }
    },
  );

  test('puts every key in the first file, then split.no, split.tensors.count and split.count, as gguf-split leaves them', () => {
    const stale = [...source.metadata, splitKey('split.count', GgufValueType.UINT16, 9)];
    const parts = planGgufSplit(stale, source.tensors, { maxFileBytes: 10_000 });
    expect(parts[0]!.metadata).toEqual([
      ...source.metadata,
      splitKey('split.no', GgufValueType.UINT16, 0),
      splitKey('split.tensors.count', GgufValueType.INT32, 8),
      splitKey('split.count', GgufValueType.UINT16, 4),
    ]);
    expect(parts[3]!.metadata).toEqual([
      splitKey('split.no', GgufValueType.UINT16, 3),
      splitKey('split.tensors.count', GgufValueType.INT32, 8),
      splitKey('split.count', GgufValueType.UINT16, 4),
    ]);
  });

  test('a non-default alignment is stated in every file, so each parses alone', () => {
    const parts = planGgufSplit(source.metadata, source.tensors, { maxFileBytes: 10_000, alignment: 64 });
    for (const part of parts)
      expect(part.metadata.find((entry) => entry.key === 'general.alignment')).toEqual({
        key: 'general.alignment',
        type: GgufValueType.UINT32,
        value: 64,
      });
  });

  test('no tensors make one file, and a limit needing more than 65535 files is refused', () => {
    expect(planGgufSplit(source.metadata, [], { maxFileBytes: 1 }).map((part) => part.tensors.length)).toEqual([0]);
    const many: GgufTensorSpec[] = Array.from({ length: 65536 }, (_, index) => ({
      name: `t${index}`,
      type: 'F32',
      ne: [1],
    }));
    expect(() => planGgufSplit([], many, { maxFileBytes: 1 })).toThrow(
      "splitting at 1 bytes per file needs 65536 files, more than gguf-split's 65535; raise the maximum file size",
    );
    expect(() => planGgufSplit([], [], { maxFileBytes: 0 })).toThrow(
      /maximum split file size 0 is not a whole number of bytes ≥ 1/,
    );
  });
});

describe('writeGgufSplit', () => {
  test('writes complete GGUFs that together hold every tensor once, with identical bytes', async () => {
    const { dir, parts } = await writeSplit(10_000);
    const names = parts.map((_, index) => ggufSplitFileName('model', index, parts.length));
    expect(names).toEqual([
      'model-00001-of-00004.gguf',
      'model-00002-of-00004.gguf',
      'model-00003-of-00004.gguf',
      'model-00004-of-00004.gguf',
    ]);
    expect((await readdir(dir)).sort()).toEqual(names);
    await openEach(
      names.map((name) => join(dir, name)),
      async (files) => {
        expect(keysOf(files[0]!)).toEqual([...keysOf(source), 'split.no', 'split.tensors.count', 'split.count']);
        for (const [index, file] of files.entries()) {
          expect(file.tensors.length).toBeGreaterThan(0);
          if (index > 0) expect(keysOf(file)).toEqual(['split.no', 'split.tensors.count', 'split.count']);
          expect(file.metadata.find((entry) => entry.key === 'split.no')!.value).toBe(index);
          expect(file.metadata.find((entry) => entry.key === 'split.count')!.value).toBe(4);
          expect((await readFile(file.path)).byteLength).toBe(parts[index]!.totalSize);
        }
        const held = files.flatMap((file) => file.tensors.map((tensor) => ({ file, tensor })));
        expect(held.map(({ tensor }) => tensor.name)).toEqual(source.tensors.map((tensor) => tensor.name));
        for (const { file, tensor } of held) {
          expect(file.tensors.find((candidate) => candidate.name === tensor.name)).toEqual({
            ...source.tensors.find((candidate) => candidate.name === tensor.name),
            offset: tensor.offset,
          });
          expect(Buffer.from(await file.read(tensor.name))).toEqual(Buffer.from(await source.read(tensor.name)));
        }
      },
    );
  });

  test('reports each file with its size and SHA-256', async () => {
    const dir = join(await makeTempDir(), 'split');
    const parts = planGgufSplit(source.metadata, source.tensors, { maxFileBytes: 10_000 });
    const written = await writeGgufSplit(dir, 'model', parts, copyTensors);
    for (const [index, file] of written.entries()) {
      const bytes = await readFile(file.path);
      expect(file).toEqual({
        path: join(dir, ggufSplitFileName('model', index, 4)),
        size: bytes.byteLength,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    }
  });

  test('a failure midway leaves the earlier folder as it was, and a tensor too many is refused', async () => {
    const parent = await makeTempDir();
    const dir = join(parent, 'split');
    await mkdir(dir);
    await writeFile(join(dir, 'model-00001-of-00001.gguf'), 'earlier run');
    const parts = planGgufSplit(source.metadata, source.tensors, { maxFileBytes: 10_000 });
    await expect(
      writeGgufSplit(dir, 'model', parts, async (writer) => {
        for (const tensor of source.tensors.slice(0, 5))
          await writer.writeTensor(tensor.name, source.readChunks(tensor.name));
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    await expect(
      writeGgufSplit(dir, 'model', parts, async (writer) => {
        await copyTensors(writer);
        await writer.writeTensor('extra', []);
      }),
    ).rejects.toThrow('after all 4 planned tensors');
    expect(await readdir(parent)).toEqual(['split']);
    expect(await readdir(dir)).toEqual(['model-00001-of-00001.gguf']);
  });
});

describe('openGgufSplit', () => {
  test('opens the set from any part: keys from the first, tensors from all', async () => {
    const { dir } = await writeSplit(10_000);
    expect(isGgufSplitPath(join(dir, 'model-00003-of-00004.gguf'))).toBe(true);
    expect(isGgufSplitPath(fixture('gguf', 'reference.gguf'))).toBe(false);
    const set = await openGgufSplit(join(dir, 'model-00003-of-00004.gguf'));
    try {
      expect(set.parts).toHaveLength(4);
      expect(set.metadata.slice(0, source.metadata.length)).toEqual(source.metadata);
      expect(set.tensors.map((tensor) => tensor.name)).toEqual(source.tensors.map((tensor) => tensor.name));
      for (const tensor of source.tensors) {
        const chunks: Uint8Array[] = [];
        for await (const chunk of set.readChunks(tensor.name, 500)) chunks.push(chunk);
        expect(Buffer.concat(chunks)).toEqual(Buffer.from(await source.read(tensor.name)));
      }
      await expect(set.read('nope')).rejects.toThrow(/have no tensor named nope/);
    } finally {
      await set.close();
    }
  });

  test('refuses a set with a part missing, parts out of place, or a name that is not a split', async () => {
    const { dir } = await writeSplit(10_000);
    await expect(openGgufSplit(fixture('gguf', 'reference.gguf'))).rejects.toThrow(
      /is not named like a gguf-split part/,
    );
    await rename(join(dir, 'model-00002-of-00004.gguf'), join(dir, 'aside.gguf'));
    await rename(join(dir, 'model-00003-of-00004.gguf'), join(dir, 'model-00002-of-00004.gguf'));
    await expect(openGgufSplit(join(dir, 'model-00001-of-00004.gguf'))).rejects.toThrow(
      `${join(dir, 'model-00002-of-00004.gguf')} says split.no = 2 but its name says 1; the parts come from different splits — download them again`,
    );
    await rm(join(dir, 'model-00002-of-00004.gguf'));
    await expect(openGgufSplit(join(dir, 'model-00001-of-00004.gguf'))).rejects.toThrow(
      `${join(dir, 'model-00002-of-00004.gguf')} is missing (part 2 of 4); download every part of the split model`,
    );
  });

  test('refuses parts that repeat a tensor or disagree with split.tensors.count', async () => {
    const dir = await makeTempDir();
    const tensor: GgufTensorSpec = { name: 'w', type: 'F32', ne: [2] };
    const writePart = async (index: number, count: number, total: number, tensors: GgufTensorSpec[]) => {
      const keys = [
        splitKey('split.no', GgufValueType.UINT16, index),
        splitKey('split.tensors.count', GgufValueType.INT32, total),
        splitKey('split.count', GgufValueType.UINT16, count),
      ];
      await writeGgufFile(
        join(dir, ggufSplitFileName('twice', index, count)),
        planGguf(keys, tensors),
        async (writer) => {
          for (const spec of tensors) await writer.writeTensor(spec.name, [new Uint8Array(8)]);
        },
      );
    };
    await writePart(0, 2, 2, [tensor]);
    await writePart(1, 2, 2, [tensor]);
    await expect(openGgufSplit(join(dir, 'twice-00001-of-00002.gguf'))).rejects.toThrow(
      /tensor w is in both .*twice-00001-of-00002\.gguf and .*twice-00002-of-00002\.gguf/,
    );
    await writePart(1, 2, 3, [{ ...tensor, name: 'v' }]);
    await expect(openGgufSplit(join(dir, 'twice-00001-of-00002.gguf'))).rejects.toThrow(
      /twice-00002-of-00002\.gguf disagrees with .* on split\.tensors\.count/,
    );
    await writePart(1, 2, 2, []);
    await expect(openGgufSplit(join(dir, 'twice-00001-of-00002.gguf'))).rejects.toThrow(
      /hold 1 tensors but split\.tensors\.count says 2; a part is from another split/,
    );
  });
});
