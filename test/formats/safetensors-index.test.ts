import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { openSafetensors, resolveSafetensorsWeights } from '../../src/formats/safetensors.js';
import { writeSafetensors, type SafetensorsTensorSpec } from '../../src/formats/safetensors-writer.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { descriptorsOpenOn } from './safetensors-helpers.js';

afterAll(removeTempDirs);

/** A file whose tensors are filled with their index in `tensors` plus one, as float32. */
async function writeShard(
  path: string,
  tensors: { name: string; elements: number }[],
  metadata?: Record<string, string>,
): Promise<void> {
  const specs: SafetensorsTensorSpec[] = tensors.map(({ name, elements }) => ({
    name,
    dtype: 'F32',
    shape: [elements],
  }));
  await writeSafetensors(
    path,
    specs,
    async (sink) => {
      for (const [index, { name, elements }] of tensors.entries())
        await sink.write(name, new Uint8Array(new Float32Array(elements).fill(index + 1).buffer));
    },
    metadata ? { metadata } : {},
  );
}

async function writeIndex(dir: string, weightMap: unknown, name = 'model.safetensors.index.json'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return path;
}

/** Two shards; the index names the second shard first. */
async function writeShardedModel(): Promise<{ dir: string; index: string; first: string; second: string }> {
  const dir = await makeTempDir();
  const first = join(dir, 'model-00001-of-00002.safetensors');
  const second = join(dir, 'model-00002-of-00002.safetensors');
  await writeShard(
    first,
    [
      { name: 'layers.0.w', elements: 64 },
      { name: 'layers.0.b', elements: 8 },
    ],
    { format: 'pt' },
  );
  await writeShard(
    second,
    [
      { name: 'embed.weight', elements: 96 },
      { name: 'layers.1.w', elements: 64 },
    ],
    { format: 'pt', shard: '2' },
  );
  const index = await writeIndex(dir, {
    'embed.weight': 'model-00002-of-00002.safetensors',
    'layers.0.b': 'model-00001-of-00002.safetensors',
    'layers.0.w': 'model-00001-of-00002.safetensors',
    'layers.1.w': 'model-00002-of-00002.safetensors',
  });
  return { dir, index, first, second };
}

async function expectQuantgateError(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QuantgateError);
  expect((error as Error).message).toBe(message);
}

async function openError(path: string): Promise<Error> {
  const error = await openSafetensors(path).then(
    async (reader) => {
      await reader.close();
      throw new Error(`${path} opened`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QuantgateError);
  expect((error as Error).message).not.toContain('\n');
  return error as Error;
}

describe('sharded weights behind an index', () => {
  test('opens every shard, in the order the index first names them, with each file in its own order', async () => {
    const { dir, index, first, second } = await writeShardedModel();
    const reader = await openSafetensors(dir);
    try {
      expect(reader.source).toBe(index);
      expect(reader.files.map((file) => [file.path, file.metadata])).toEqual([
        [second, { format: 'pt', shard: '2' }],
        [first, { format: 'pt' }],
      ]);
      expect(reader.tensors.map((t) => [t.name, t.file])).toEqual([
        ['embed.weight', second],
        ['layers.1.w', second],
        ['layers.0.w', first],
        ['layers.0.b', first],
      ]);
      const values = await Promise.all(
        reader.tensors.map(async (t) => new Float32Array((await reader.readRange(t, 0, t.elementCount)).buffer)),
      );
      expect(values.map((v) => [v.length, v[0], v[v.length - 1]])).toEqual([
        [96, 1, 1],
        [64, 2, 2],
        [64, 1, 1],
        [8, 2, 2],
      ]);
    } finally {
      await reader.close();
    }
    expect(await descriptorsOpenOn(first)).toBe(0);
    expect(await descriptorsOpenOn(second)).toBe(0);
  });

  test('a missing shard is named, with the fix', async () => {
    const { dir, index, first } = await writeShardedModel();
    await writeIndex(dir, {
      'layers.0.w': 'model-00001-of-00002.safetensors',
      'x.w': 'model-00003-of-00003.safetensors',
      'y.w': 'sub/gone.safetensors',
    });
    const error = await openError(index);
    expect(error.message).toBe(
      `${index} lists shard files that are missing: model-00003-of-00003.safetensors, sub/gone.safetensors; download every file the index names (the whole model folder) and run again`,
    );
    expect(await descriptorsOpenOn(first)).toBe(0);
  });

  test('a tensor the index places in a shard that lacks it is refused', async () => {
    const { dir, index, first, second } = await writeShardedModel();
    await writeIndex(dir, {
      'embed.weight': 'model-00002-of-00002.safetensors',
      'layers.0.b': 'model-00001-of-00002.safetensors',
      'layers.0.w': 'model-00001-of-00002.safetensors',
      'layers.1.w': 'model-00002-of-00002.safetensors',
      'layers.2.w': 'model-00002-of-00002.safetensors',
    });
    expect((await openError(dir)).message).toBe(
      `${index} places tensor "layers.2.w" in ${second}, which does not hold it; the shards and the index come from different revisions — download the model again`,
    );
    expect(await descriptorsOpenOn(first)).toBe(0);
    expect(await descriptorsOpenOn(second)).toBe(0);
  });

  test('a shard holding a tensor the index leaves out, or places elsewhere, is refused', async () => {
    const { dir, index, first, second } = await writeShardedModel();
    await writeIndex(dir, {
      'embed.weight': 'model-00002-of-00002.safetensors',
      'layers.0.b': 'model-00001-of-00002.safetensors',
      'layers.0.w': 'model-00001-of-00002.safetensors',
    });
    expect((await openError(dir)).message).toBe(
      `${second} holds tensor "layers.1.w", which the index does not list; the shards and ${index} come from different revisions — download the model again`,
    );
    await writeIndex(dir, {
      'embed.weight': 'model-00002-of-00002.safetensors',
      'layers.0.b': 'model-00001-of-00002.safetensors',
      'layers.0.w': 'model-00002-of-00002.safetensors',
      'layers.1.w': 'model-00002-of-00002.safetensors',
    });
    expect((await openError(dir)).message).toBe(
      `${first} holds tensor "layers.0.w", which the index places in ${second}; the shards and ${index} come from different revisions — download the model again`,
    );
    expect(await descriptorsOpenOn(first)).toBe(0);
    expect(await descriptorsOpenOn(second)).toBe(0);
  });

  test('a corrupt shard is reported by its own name and closes the shards already open', async () => {
    const { dir, first, second } = await writeShardedModel();
    await writeFile(second, Buffer.alloc(4));
    expect((await openError(dir)).message).toContain(
      `${second}: the file is 4 bytes, shorter than the 8-byte header length`,
    );
    expect(await descriptorsOpenOn(first)).toBe(0);
  });

  const badIndexes: [string, string | object, string][] = [
    ['not JSON', '{"weight_map": ', 'it is not valid JSON ('],
    ['without a weight_map', { metadata: {} }, 'it has no "weight_map" object'],
    ['with a weight_map that is a list', { weight_map: ['a.safetensors'] }, 'it has no "weight_map" object'],
    ['with an empty weight_map', { weight_map: {} }, 'its weight_map lists no tensors'],
    [
      'mapping a tensor to a non-string',
      { weight_map: { w: 3 } },
      'weight_map gives tensor "w" the file 3 instead of a file name',
    ],
    [
      'mapping a tensor outside its folder',
      { weight_map: { w: '../elsewhere.safetensors' } },
      'weight_map places tensor "w" in "../elsewhere.safetensors", outside the index\'s folder',
    ],
  ];
  test.each(badIndexes)('an index %s is refused', async (_, content, message) => {
    const dir = await makeTempDir();
    const index = join(dir, 'model.safetensors.index.json');
    await writeFile(index, typeof content === 'string' ? content : JSON.stringify(content));
    const error = await openError(dir);
    expect(error.message).toContain(`${index}: ${message}`);
    expect(error.message).toMatch(/; the index is corrupt or not a safetensors index — download it again$/);
  });

  test('an index larger than any real one is refused without being read', async () => {
    const dir = await makeTempDir();
    const index = join(dir, 'model.safetensors.index.json');
    await writeFile(index, '');
    await truncate(index, 100_000_001);
    expect((await openError(dir)).message).toBe(
      `${index}: it is larger than 100000000 bytes; the index is corrupt or not a safetensors index — download it again`,
    );
  });

  test('an index naming pickle shards is refused as pickle', async () => {
    const dir = await makeTempDir();
    const index = await writeIndex(dir, { w: 'pytorch_model-00001-of-00002.bin' }, 'pytorch_model.bin.index.json');
    expect((await openError(index)).message).toMatch(
      /names PyTorch pickle shards such as pytorch_model-00001-of-00002\.bin; quantgate refuses pickle checkpoints because unpickling can execute arbitrary code; convert them to safetensors/,
    );
  });
});

describe('finding the weights of a model folder', () => {
  async function folderWith(...names: string[]): Promise<string> {
    const dir = await makeTempDir();
    for (const name of names) await writeFile(join(dir, name), '');
    return dir;
  }

  test('prefers the standard index, then model.safetensors, then the only index or file', async () => {
    let dir = await folderWith('model.safetensors', 'model.safetensors.index.json', 'other.safetensors');
    expect(await resolveSafetensorsWeights(dir)).toBe(join(dir, 'model.safetensors.index.json'));
    dir = await folderWith('model.safetensors', 'other.safetensors', 'pytorch_model.bin');
    expect(await resolveSafetensorsWeights(dir)).toBe(join(dir, 'model.safetensors'));
    dir = await folderWith('weights.safetensors', 'config.json', '.weights.safetensors.tmp-1');
    expect(await resolveSafetensorsWeights(dir)).toBe(join(dir, 'weights.safetensors'));
    dir = await folderWith('unet.safetensors.index.json', 'unet-1.safetensors', 'unet-2.safetensors');
    expect(await resolveSafetensorsWeights(dir)).toBe(join(dir, 'unet.safetensors.index.json'));
  });

  test('a file path is taken as given', async () => {
    const dir = await folderWith('model.safetensors', 'b.safetensors');
    expect(await resolveSafetensorsWeights(join(dir, 'b.safetensors'))).toBe(join(dir, 'b.safetensors'));
  });

  test('several candidates are listed, with how to choose', async () => {
    const dir = await folderWith('b.safetensors', 'a.safetensors', 'README.md');
    await expectQuantgateError(
      resolveSafetensorsWeights(dir),
      `${dir} holds several safetensors files (a.safetensors, b.safetensors) and no model.safetensors.index.json; pass the path of the one to use instead of the folder`,
    );
    const indexes = await folderWith('a.safetensors.index.json', 'b.safetensors.index.json', 'a-1.safetensors');
    await expect(resolveSafetensorsWeights(indexes)).rejects.toThrow(
      `holds several safetensors index files (a.safetensors.index.json, b.safetensors.index.json)`,
    );
  });

  test('pickle checkpoints are refused, saying why and what to do', async () => {
    const dir = await folderWith('pytorch_model.bin', 'model.ckpt', 'config.json');
    await mkdir(join(dir, 'sub'));
    const why =
      'quantgate refuses pickle checkpoints because unpickling can execute arbitrary code; convert them to safetensors (e.g. with the safetensors Python package or Hugging Face\'s "Convert to Safetensors" space) or pick a repo revision that has .safetensors weights';
    await expectQuantgateError(
      resolveSafetensorsWeights(dir),
      `${dir} holds only PyTorch pickle checkpoints (model.ckpt, pytorch_model.bin); ${why}`,
    );
    await expectQuantgateError(
      openSafetensors(join(dir, 'pytorch_model.bin')),
      `${join(dir, 'pytorch_model.bin')} is a PyTorch pickle checkpoint; ${why}`,
    );
    for (const extension of ['.pt', '.PTH', '.pkl']) {
      await expect(resolveSafetensorsWeights(await folderWith(`weights${extension}`))).rejects.toThrow(
        /holds only PyTorch pickle checkpoints/,
      );
    }
  });

  test('a folder without weights, and a path that does not exist, are clear errors', async () => {
    const dir = await folderWith('config.json');
    await expectQuantgateError(
      resolveSafetensorsWeights(dir),
      `${dir} holds no .safetensors weights; pass a folder with model.safetensors or model.safetensors.index.json, or a .safetensors file`,
    );
    await expectQuantgateError(
      resolveSafetensorsWeights(join(dir, 'missing')),
      `${join(dir, 'missing')} does not exist; pass a model folder, a .safetensors file or a model.safetensors.index.json`,
    );
  });
});
