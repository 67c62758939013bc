import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { findMetadata } from '../../src/formats/gguf/metadata.js';
import { verifyManifest, readManifest } from '../../src/formats/gguf/manifest.js';
import { openGgufModel } from '../../src/formats/gguf/open.js';
import { openGguf } from '../../src/formats/gguf/reader.js';
import { encode, decodeSource, type TargetType } from '../../src/quant/codec.js';
import { quantizedCacheKey, quantizeModel, reuseQuantized } from '../../src/pipeline/quantize.js';
import { encodeValues, tinyModelTensors, weights, writeTestModel } from '../helpers/model.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

const tensors = tinyModelTensors();
let modelDir: string;

beforeAll(async () => {
  modelDir = await writeTestModel(join(await makeTempDir(), 'tiny'), tensors, {
    model_type: 'tiny-test',
    dim: 64,
    num_layers: 1,
  });
});

describe('quantize stage', () => {
  test('one file: every tensor is the scalar reference encoding of its source, in source order', async () => {
    const outDir = await makeTempDir();
    const { plan, output } = await quantizeModel({ model: modelDir, outDir, threads: 2 });
    expect(output?.format).toBe('single');
    expect(output?.files).toEqual([join(outDir, 'tiny-q4.gguf')]);

    const gguf = await openGguf(output!.files[0]!);
    try {
      expect(gguf.tensors.map((tensor) => tensor.name)).toEqual(tensors.map((tensor) => tensor.name));
      expect(findMetadata(gguf.metadata, 'general.architecture')?.value).toBe('tiny-test');
      expect(findMetadata(gguf.metadata, 'general.file_type')?.value).toBe(2);
      expect(findMetadata(gguf.metadata, 'tiny-test.embedding_length')?.value).toBe(64);
      for (const source of tensors) {
        const planned = plan.tensors.find((tensor) => tensor.name === source.name)!;
        const info = gguf.tensors.find((tensor) => tensor.name === source.name)!;
        expect(info.type).toBe(planned.type);
        expect(info.ne).toEqual([...source.shape].reverse());
        const expected = encode(
          planned.type as TargetType,
          decodeSource(source.dtype, encodeValues(source.dtype, source.values)),
        );
        expect(Buffer.from(await gguf.read(source.name)).equals(Buffer.from(expected))).toBe(true);
      }
    } finally {
      await gguf.close();
    }
    expect(plan.tensors.map((tensor) => tensor.type)).toEqual([
      'Q4_0',
      'F32',
      'Q4_0',
      'Q4_0',
      'F16',
      'F32',
      'Q4_0',
      'F16',
    ]);
    const manifest = await verifyManifest(output!.manifestPath);
    expect(manifest).toMatchObject({
      format: 'single',
      tensorCount: tensors.length,
      source: { path: join(modelDir, 'model.safetensors') },
    });
  });

  test('byte shards concatenate to exactly the single file', async () => {
    const singleDir = await makeTempDir();
    const single = await quantizeModel({ model: modelDir, outDir: singleDir, maxShardBytes: 0 });
    const shardedDir = await makeTempDir();
    const sharded = await quantizeModel({
      model: modelDir,
      outDir: shardedDir,
      maxShardBytes: 8000,
      repoId: 'org/tiny',
      revision: 'c'.repeat(40),
    });
    expect(sharded.output?.format).toBe('bytes');
    const parts = await Promise.all(sharded.output!.files.map((file) => readFile(file)));
    const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
    const names = 'abcdefghij'
      .slice(0, Math.ceil(total / 8000))
      .split('')
      .map((letter) => `tiny-q4-shards/shard-a${letter}`);
    expect(sharded.output!.files.map((file) => file.slice(shardedDir.length + 1))).toEqual(names);
    expect(parts.slice(0, -1).every((part) => part.byteLength === 8000)).toBe(true);
    // Same tensors, different source keys: compare the data sections through the reader.
    const [a, b] = [await single.output!.open(), await sharded.output!.open()];
    try {
      for (const tensor of tensors)
        expect(Buffer.from(await b.read(tensor.name)).equals(Buffer.from(await a.read(tensor.name)))).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    const manifest = await verifyManifest(sharded.output!.manifestPath);
    expect(manifest.source).toEqual({ repoId: 'org/tiny', revision: 'c'.repeat(40) });
    expect(manifest.files.map((file) => file.path)).toEqual(names);
  });

  test('identical inputs give byte-identical shards, which rebuild the single file', async () => {
    const first = await quantizeModel({ model: modelDir, outDir: await makeTempDir(), maxShardBytes: 0 });
    const second = await quantizeModel({ model: modelDir, outDir: await makeTempDir(), maxShardBytes: 5000 });
    const whole = await readFile(first.output!.files[0]!);
    const rebuilt = Buffer.concat(await Promise.all(second.output!.files.map((file) => readFile(file))));
    expect(rebuilt.equals(whole)).toBe(true);
  });

  test('gguf-split parts each parse and together hold every tensor exactly once', async () => {
    const outDir = await makeTempDir();
    const { output } = await quantizeModel({
      model: modelDir,
      outDir,
      maxShardBytes: 12000,
      shardFormat: 'gguf-split',
    });
    expect(output?.format).toBe('gguf-split');
    const names: string[] = [];
    for (const file of output!.files) {
      const part = await openGguf(file);
      names.push(...part.tensors.map((tensor) => tensor.name));
      await part.close();
    }
    expect(names.sort()).toEqual(tensors.map((tensor) => tensor.name).sort());
    const set = await openGgufModel(output!.files[1]!);
    expect(set.tensors).toHaveLength(tensors.length);
    await set.close();
  });

  test('switching format removes the previous format’s output of the same name', async () => {
    const outDir = await makeTempDir();
    await quantizeModel({ model: modelDir, outDir, maxShardBytes: 0 });
    await quantizeModel({ model: modelDir, outDir, maxShardBytes: 8000, keepSingleFile: false });
    expect((await readdir(outDir)).sort()).toEqual(['tiny-q4-shards', 'tiny-q4.manifest.json']);
    expect((await readManifest(join(outDir, 'tiny-q4.manifest.json'))).format).toBe('bytes');
    await quantizeModel({ model: modelDir, outDir, maxShardBytes: 8000, shardFormat: 'gguf-split' });
    expect((await readdir(outDir)).sort()).toEqual(['tiny-q4-split', 'tiny-q4.manifest.json']);
  });

  test('byte shards keep the single .gguf they were cut from by default, and the manifest lists it apart', async () => {
    const outDir = await makeTempDir();
    const { output } = await quantizeModel({ model: modelDir, outDir, maxShardBytes: 8000 });
    expect((await readdir(outDir)).sort()).toEqual(['tiny-q4-shards', 'tiny-q4.gguf', 'tiny-q4.manifest.json']);
    expect(output!.singleFile).toBe(join(outDir, 'tiny-q4.gguf'));
    expect(output!.files.every((file) => file.startsWith(join(outDir, 'tiny-q4-shards')))).toBe(true);
    const manifest = await readManifest(join(outDir, 'tiny-q4.manifest.json'));
    expect(manifest.singleFile?.path).toBe('tiny-q4.gguf');
    expect(manifest.files).toHaveLength(output!.files.length);
  });

  test('a dry run plans and writes nothing', async () => {
    const outDir = join(await makeTempDir(), 'never');
    const { plan, output } = await quantizeModel({ model: modelDir, outDir, dryRun: true });
    expect(output).toBeUndefined();
    expect(plan.tensors).toHaveLength(tensors.length);
    await expect(readdir(outDir)).rejects.toThrow();
  });

  test('NaN in a tensor is refused by name and leaves no output', async () => {
    const poisoned = weights(192 * 64, 3);
    poisoned[5000] = Number.NaN;
    const dir = await writeTestModel(
      join(await makeTempDir(), 'nan'),
      tensors.map((tensor) => (tensor.name.endsWith('in_proj_weight') ? { ...tensor, values: poisoned } : tensor)),
    );
    const outDir = await makeTempDir();
    const failure = quantizeModel({ model: dir, outDir, maxShardBytes: 5000 });
    await expect(failure).rejects.toThrow(QuantgateError);
    await expect(failure).rejects.toThrow(
      /layers\.0\.self_attn\.in_proj_weight holds a value that is infinite or not a number \(first at element 5000\)/,
    );
    expect(await readdir(outDir)).toEqual([]);
  });

  test('infinity in a tensor written as F16 is refused too', async () => {
    const values = weights(64 * 176, 5);
    values[100] = Number.POSITIVE_INFINITY;
    const dir = await writeTestModel(join(await makeTempDir(), 'inf'), [
      { name: 'ragged.weight', dtype: 'F32', shape: [64, 176], values },
    ]);
    await expect(quantizeModel({ model: dir, outDir: await makeTempDir() })).rejects.toThrow(
      /ragged\.weight holds a value that is infinite or not a number \(first at element 100\)/,
    );
  });

  test('finite values beyond the F16 range are refused with the way out', async () => {
    const values = weights(64 * 176, 5);
    values[64 * 176 - 1] = 1e6;
    const dir = await writeTestModel(join(await makeTempDir(), 'big'), [
      { name: 'ragged.weight', dtype: 'F32', shape: [64, 176], values },
    ]);
    const outDir = await makeTempDir();
    await expect(quantizeModel({ model: dir, outDir })).rejects.toThrow(
      /ragged\.weight has a value beyond the F16 range .* at element 11263; keep it in F32 with --keep 'ragged\.weight'/,
    );
    expect(await readdir(outDir)).toEqual([]);
  });

  test('an earlier output is reused only when its manifest names the same source and its files check out', async () => {
    const outDir = await makeTempDir();
    const source = { model: modelDir, outDir, maxShardBytes: 8000, repoId: 'org/tiny', revision: 'd'.repeat(40) };
    const written = await quantizeModel(source);
    const reused = await reuseQuantized(source);
    expect(reused?.output?.files).toEqual(written.output?.files);
    expect(reused?.plan.tensors.map((tensor) => tensor.type)).toEqual(
      written.plan.tensors.map((tensor) => tensor.type),
    );
    expect(await reuseQuantized({ ...source, revision: 'e'.repeat(40) })).toBeUndefined();
    await appendFile(written.output!.files[1]!, 'x');
    expect(await reuseQuantized(source)).toBeUndefined();
  });

  test('the cache key changes with every option that changes the bytes, and needs a commit', () => {
    const base = { model: modelDir, outDir: '/out', repoId: 'org/tiny', revision: 'd'.repeat(40) };
    const key = quantizedCacheKey(base);
    expect(key).toMatch(/^quantgate-gguf-org--tiny-d{40}-\d+\.\d+\.\d+-[0-9a-f]{16}$/);
    for (const change of [
      { type: 'q8_0' as const },
      { keep: ['a'] },
      { skip: ['b'] },
      { maxShardBytes: 1 },
      { shardFormat: 'gguf-split' as const },
      { revision: 'f'.repeat(40) },
    ]) {
      expect(quantizedCacheKey({ ...base, ...change })).not.toBe(key);
    }
    expect(quantizedCacheKey({ ...base, outDir: '/elsewhere' })).toBe(key);
    expect(quantizedCacheKey({ model: modelDir, outDir: '/out' })).toBeUndefined();
  });
});
