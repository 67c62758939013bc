import { createHash } from 'node:crypto';
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../../src/common/errors.js';
import type { Progress } from '../../../src/common/progress.js';
import { writeByteShards } from '../../../src/formats/gguf/byte-shards.js';
import { planGguf } from '../../../src/formats/gguf/layout.js';
import { readManifest, verifyManifest, writeManifest, type ManifestInput } from '../../../src/formats/gguf/manifest.js';
import { openGguf } from '../../../src/formats/gguf/reader.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

/** A byte-shard output of the reference file with its manifest beside the shard folder. */
async function shardedOutput(): Promise<{ dir: string; manifestPath: string; input: ManifestInput }> {
  const dir = await makeTempDir();
  const source = await openGguf(fixture('gguf', 'reference.gguf'));
  try {
    const files = await writeByteShards(
      join(dir, 'shards'),
      planGguf(source.metadata, source.tensors),
      10_000,
      async (writer) => {
        for (const tensor of source.tensors) await writer.writeTensor(tensor.name, source.readChunks(tensor.name));
      },
    );
    const input: ManifestInput = {
      format: 'bytes',
      files,
      tensorCount: source.tensors.length,
      source: { repoId: 'kyutai/stt-1b-en_fr', revision: 'abc123' },
      tool: { name: 'quantgate', version: '0.1.0' },
    };
    const manifestPath = join(dir, 'manifest.json');
    await writeManifest(manifestPath, input);
    return { dir, manifestPath, input };
  } finally {
    await source.close();
  }
}

describe('writeManifest', () => {
  test('lists the files in order, relative to the manifest, with sizes, hashes and totals', async () => {
    const { dir, manifestPath, input } = await shardedOutput();
    const written = JSON.parse(await readFile(manifestPath, 'utf8'));
    expect(written).toEqual({
      manifestVersion: 1,
      format: 'bytes',
      files: input.files.map((file, index) => ({
        path: `shards/shard-a${'abc'[index]}`,
        size: file.size,
        sha256: file.sha256,
      })),
      totalSize: 25952,
      tensorCount: 8,
      source: { repoId: 'kyutai/stt-1b-en_fr', revision: 'abc123' },
      tool: { name: 'quantgate', version: '0.1.0' },
    });
    expect(await readManifest(manifestPath)).toEqual(written);
    expect((await readdir(dir)).sort()).toEqual(['manifest.json', 'shards']);
  });

  test('keeps createdAt when given and refuses files outside its folder', async () => {
    const { dir, input } = await shardedOutput();
    const nested = join(dir, 'shards', 'manifest.json');
    expect((await writeManifest(nested, { ...input, createdAt: '2025-01-01T00:00:00.000Z' })).createdAt).toBe(
      '2025-01-01T00:00:00.000Z',
    );
    await expect(writeManifest(join(dir, 'elsewhere', 'manifest.json'), input)).rejects.toThrow(
      /cannot list .*shard-aa, which is outside its folder/,
    );
  });
});

describe('verifyManifest', () => {
  test('accepts untouched files and reports hashing progress in bytes', async () => {
    const { manifestPath } = await shardedOutput();
    const advanced: number[] = [];
    const progress: Progress = {
      task: () => ({ advance: (bytes) => advanced.push(bytes), finish: () => undefined }),
      info: () => undefined,
    };
    expect((await verifyManifest(manifestPath, { progress })).files).toHaveLength(3);
    expect(advanced.reduce((sum, bytes) => sum + bytes, 0)).toBe(25952);
  });

  test('names every missing, resized or altered file in one line and asks for a new download', async () => {
    const { dir, manifestPath } = await shardedOutput();
    await verifyManifest(manifestPath);
    await rm(join(dir, 'shards', 'shard-aa'));
    await appendFile(join(dir, 'shards', 'shard-ab'), 'x');
    const changed = await readFile(join(dir, 'shards', 'shard-ac'));
    changed[0] ^= 1;
    await writeFile(join(dir, 'shards', 'shard-ac'), changed);
    const error = await verifyManifest(manifestPath).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QuantgateError);
    expect((error as Error).message).toBe(
      `3 of 3 files do not match ${manifestPath}: shards/shard-aa (missing), shards/shard-ab (10001 bytes, expected 10000), shards/shard-ac (sha256 differs); download them again`,
    );
  });

  test('checks the single file kept beside byte shards where it is present, and passes without it', async () => {
    const { dir, manifestPath, input } = await shardedOutput();
    const single = join(dir, 'model.gguf');
    const files = await Promise.all(input.files.map((file) => readFile(file.path)));
    await writeFile(single, Buffer.concat(files));
    const shardsSha = (await readManifest(manifestPath)).files;
    const sha256 = createHash('sha256').update(Buffer.concat(files)).digest('hex');
    await writeManifest(manifestPath, { ...input, singleFile: { path: single, size: 25952, sha256 } });
    const manifest = await verifyManifest(manifestPath);
    expect(manifest.singleFile).toEqual({ path: 'model.gguf', size: 25952, sha256 });
    expect(manifest.files).toEqual(shardsSha);
    expect(manifest.totalSize).toBe(25952);
    await appendFile(single, 'x');
    await expect(verifyManifest(manifestPath)).rejects.toThrow(
      `1 of 4 files do not match ${manifestPath}: model.gguf (25953 bytes, expected 25952); download it again`,
    );
    await rm(single);
    expect((await verifyManifest(manifestPath)).singleFile?.path).toBe('model.gguf');
    await writeFile(manifestPath, JSON.stringify({ ...(await readManifest(manifestPath)), format: 'gguf-split' }));
    await expect(readManifest(manifestPath)).rejects.toThrow(
      'singleFile is listed for format gguf-split, which is not cut from one file',
    );
  });

  test('refuses a manifest that is not valid, saying why', async () => {
    const { manifestPath } = await shardedOutput();
    const valid = JSON.parse(await readFile(manifestPath, 'utf8'));
    const expectRefused = async (manifest: unknown, reason: string) => {
      await writeFile(manifestPath, JSON.stringify(manifest));
      await expect(verifyManifest(manifestPath)).rejects.toThrow(
        `${manifestPath} is not a valid quantgate manifest: ${reason}; download it again or write it anew`,
      );
    };
    await expectRefused([], 'it is not a JSON object');
    await expectRefused({ ...valid, manifestVersion: 2 }, 'manifestVersion is 2, not 1');
    await expectRefused({ ...valid, manifestVersion: undefined }, 'manifestVersion is missing, not 1');
    await expectRefused({ ...valid, format: 'zip' }, 'format is "zip", not one of single, bytes, gguf-split');
    await expectRefused(
      { ...valid, files: [{ ...valid.files[0], path: '../etc/passwd' }] },
      `the path of file 1 is "../etc/passwd", not a path relative to the manifest's folder`,
    );
    await expectRefused(
      { ...valid, files: [valid.files[0], { ...valid.files[1], path: undefined }] },
      `the path of file 2 is missing, not a path relative to the manifest's folder`,
    );
    await expectRefused(
      { ...valid, files: [{ ...valid.files[0], sha256: 'abc' }] },
      'shards/shard-aa has no valid sha256',
    );
    await expectRefused({ ...valid, totalSize: 1 }, 'totalSize is 1, not the sum of the file sizes, 25952');
    await expectRefused({ ...valid, tool: {} }, 'tool has no name and version');
    await writeFile(manifestPath, '{');
    await expect(verifyManifest(manifestPath)).rejects.toThrow(
      /^cannot read manifest .*manifest\.json \(.*JSON.*\); download it again$/,
    );
  });
});
