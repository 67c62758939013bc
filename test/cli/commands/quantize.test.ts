import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_OK } from '../../../src/cli/command.js';
import { readManifest } from '../../../src/formats/gguf/manifest.js';
import { runCli } from '../../helpers/cli.js';
import { FakeHub } from '../../servers/fake-hub.js';
import { tinyModelTensors, writeTestModel } from '../../helpers/model.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

let modelDir: string;
beforeAll(async () => {
  modelDir = await writeTestModel(join(await makeTempDir(), 'tiny'), tinyModelTensors());
});

describe('quantgate quantize', () => {
  test('prints the plan, writes the GGUF and its manifest, and reports the speed', async () => {
    const out = join(await makeTempDir(), 'out', 'tiny-q4.gguf');
    const run = await runCli(['quantize', '--model', modelDir, '--out', out]);
    expect(run.stderr).toContain('quantizing');
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toContain('layers.0.self_attn.in_proj_weight');
    expect(run.stdout).toContain(`wrote ${out}`);
    expect(run.stdout).toMatch(/\d+ M values\/s/);
    expect((await readdir(join(out, '..'))).sort()).toEqual(['tiny-q4.gguf', 'tiny-q4.manifest.json']);
  });

  test('--dry-run prints only the plan', async () => {
    const outDir = join(await makeTempDir(), 'nothing');
    const run = await runCli([
      'quantize',
      '--model',
      modelDir,
      '--out',
      `${outDir}/`,
      '--dry-run',
      '--type',
      'q8_0',
      '--skip',
      'head.*',
    ]);
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toContain('Q8_0');
    expect(run.stdout).toContain('head.weight  (left out: matches --skip)');
    expect(run.stdout).not.toContain('wrote');
    await expect(readdir(outDir)).rejects.toThrow();
  });

  test('--max-shard-size takes decimal MB and --shard-format picks the layout', async () => {
    const outDir = await makeTempDir();
    const run = await runCli([
      'quantize',
      '--model',
      modelDir,
      '--out',
      outDir,
      '--max-shard-size',
      '0.01',
      '--shard-format',
      'gguf-split',
    ]);
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toMatch(/wrote \d+ gguf-split files/);
    expect((await readdir(join(outDir, 'tiny-q4-split')))[0]).toMatch(/^tiny-q4-00001-of-0000\d\.gguf$/);
  });

  test('takes the names `run` and the action use: --model-path, --quant-type, --out-dir', async () => {
    const outDir = await makeTempDir();
    const run = await runCli([
      'quantize',
      '--model-path',
      modelDir,
      '--quant-type',
      'q8_0',
      '--out-dir',
      outDir,
      '--max-shard-size',
      '0',
    ]);
    expect(run.code).toBe(EXIT_OK);
    expect((await readdir(outDir)).sort()).toEqual(['tiny-q8.gguf', 'tiny-q8.manifest.json']);
  });

  test('--help shows the primary names, and an older spelling beside its primary one is an error', async () => {
    const help = await runCli(['quantize', '--help']);
    expect(help.stdout).toMatch(/^ {2}--model-path <path>/m);
    expect(help.stdout).toMatch(/^ {2}--quant-type <type>/m);
    expect(help.stdout).toMatch(/^ {2}--out-dir <dir>/m);
    expect(help.stdout).not.toMatch(/^ {2}--(model|type|out) /m);
    const both = await runCli(['quantize', '--model', modelDir, '--model-path', modelDir]);
    expect(both.code).toBe(EXIT_ERROR);
    expect(both.stderr).toBe('quantgate quantize: --model is the older spelling of --model-path; give one of them\n');
    const outs = await runCli(['quantize', '--model-path', modelDir, '--out', 'a.gguf', '--out-dir', 'b']);
    expect(outs.stderr).toBe('quantgate quantize: --out is the older spelling of --out-dir; give one of them\n');
  });

  test('byte shards keep the single .gguf beside them unless --no-keep-single-file; the manifest lists both', async () => {
    const kept = await makeTempDir();
    const run = await runCli(['quantize', '--model-path', modelDir, '--out-dir', kept, '--max-shard-size', '0.01']);
    expect(run.code).toBe(EXIT_OK);
    expect((await readdir(kept)).sort()).toEqual(['tiny-q4-shards', 'tiny-q4.gguf', 'tiny-q4.manifest.json']);
    const manifest = await readManifest(join(kept, 'tiny-q4.manifest.json'));
    expect(manifest.format).toBe('bytes');
    expect(manifest.files.every((file) => file.path.startsWith('tiny-q4-shards/shard-'))).toBe(true);
    expect(manifest.singleFile?.path).toBe('tiny-q4.gguf');
    const single = await readFile(join(kept, 'tiny-q4.gguf'));
    const shards = Buffer.concat(await Promise.all(manifest.files.map((file) => readFile(join(kept, file.path)))));
    expect(shards.equals(single)).toBe(true);
    expect(manifest.singleFile?.size).toBe(single.byteLength);
    expect(manifest.totalSize).toBe(single.byteLength);

    const dropped = await runCli([
      'quantize',
      '--model-path',
      modelDir,
      '--out-dir',
      kept,
      '--max-shard-size',
      '0.01',
      '--no-keep-single-file',
    ]);
    expect(dropped.code).toBe(EXIT_OK);
    expect((await readdir(kept)).sort()).toEqual(['tiny-q4-shards', 'tiny-q4.manifest.json']);
    expect((await readManifest(join(kept, 'tiny-q4.manifest.json'))).singleFile).toBeUndefined();

    const split = await runCli([
      'quantize',
      '--model-path',
      modelDir,
      '--out-dir',
      kept,
      '--max-shard-size',
      '0.01',
      '--shard-format',
      'gguf-split',
      '--keep-single-file',
    ]);
    expect(split.code).toBe(EXIT_ERROR);
    expect(split.stderr).toMatch(
      /^quantgate quantize: --keep-single-file keeps the .gguf that byte shards are cut from; .*use --shard-format bytes/,
    );
    const both = await runCli(['quantize', '--model-path', modelDir, '--keep-single-file', '--no-keep-single-file']);
    expect(both.stderr).toBe(
      'quantgate quantize: --keep-single-file and --no-keep-single-file contradict each other; give one\n',
    );
  });

  test.each([
    [['--type', 'q5_k'], /--quant-type must be one of q4_0, q8_0, f16, f32, got "q5_k"/],
    [['--max-shard-size=-1'], /--max-shard-size must be a number ≥ 0, got "-1"/],
    [['--max-shard-size', '-1'], /argument is ambiguous\. .*use '--max-shard-size=-XYZ'; see --help/],
    [['--max-shard-size', 'big'], /--max-shard-size must be a number ≥ 0, got "big"/],
    [['--out', 'model.bin'], /--out model.bin should end in .gguf/],
    [['--frobnicate'], /Unknown option '--frobnicate'.*see --help/],
  ])('bad arguments %j get one line and exit 2', async (extra, message) => {
    const run = await runCli(['quantize', '--model', modelDir, ...extra]);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('a pickle checkpoint is refused with the reason', async () => {
    const dir = await makeTempDir();
    await writeFile(join(dir, 'pytorch_model.bin'), 'not really a pickle');
    const outDir = await makeTempDir();
    const run = await runCli(['quantize', '--model', dir, '--out', outDir]);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toMatch(/pickle.*can execute arbitrary code/);
    expect(await readdir(outDir)).toEqual([]);
  });

  /** A safetensors file from a header and data bytes. */
  const safetensors = (header: Record<string, unknown>, data: Uint8Array) => {
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([length, json, data]);
  };
  const weight = (offsets: [number, number], dtype = 'F32') => ({ dtype, shape: [2, 32], data_offsets: offsets });

  test.each([
    [
      'a truncated file',
      async () => (await readFile(join(modelDir, 'model.safetensors'))).subarray(0, 3000),
      /the file is truncated — download it again/,
    ],
    [
      'overlapping tensors',
      async () => safetensors({ 'a.weight': weight([0, 256]), 'b.weight': weight([128, 384]) }, new Uint8Array(384)),
      /overlap/,
    ],
    [
      'an unknown dtype',
      async () => safetensors({ 'a.weight': weight([0, 64], 'Q7') }, new Uint8Array(64)),
      /"a\.weight".*Q7/,
    ],
  ])('%s is one line, exit code 2, and no output', async (_name, bytes, message) => {
    const dir = await makeTempDir();
    await writeFile(join(dir, 'model.safetensors'), await bytes());
    const outDir = await makeTempDir();
    const run = await runCli(['quantize', '--model', dir, '--out', outDir]);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(outDir)).toEqual([]);
  });

  test('an output folder that cannot be written is a clear error', async () => {
    const dir = await makeTempDir();
    await writeFile(join(dir, 'file'), '');
    const run = await runCli(['quantize', '--model', modelDir, '--out', join(dir, 'file', 'sub', 'x.gguf')]);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toMatch(/cannot create output folder .*choose a writable --out-dir/);
  });

  test('--model-id quantizes a Hub model from the shared cache and records its commit; --revision picks a branch', async () => {
    const hub = await FakeHub.start();
    try {
      hub.createRepo('org/tiny');
      const commit = await hub.commit('org/tiny', [
        { path: 'model.safetensors', content: { file: join(modelDir, 'model.safetensors') } },
      ]);
      const outDir = await makeTempDir();
      const run = await runCli([
        'quantize',
        '--model-id',
        'org/tiny',
        '--hub-url',
        hub.url,
        '--cache-dir',
        await makeTempDir(),
        '--out',
        outDir,
      ]);
      expect(run.code).toBe(EXIT_OK);
      const manifest = await readManifest(join(outDir, 'tiny-q4.manifest.json'));
      expect(manifest.source).toEqual({ repoId: 'org/tiny', revision: commit });
      // --revision picks a branch, resolved to its own commit.
      const branchCommit = await hub.commit(
        'org/tiny',
        [
          { path: 'model.safetensors', content: { file: join(modelDir, 'model.safetensors') } },
          { path: 'README.md', content: 'v2' },
        ],
        { branch: 'v2' },
      );
      const onBranch = await makeTempDir();
      const revised = await runCli([
        'quantize',
        '--model-id',
        'org/tiny',
        '--revision',
        'v2',
        '--hub-url',
        hub.url,
        '--cache-dir',
        await makeTempDir(),
        '--out',
        onBranch,
      ]);
      expect(revised.code).toBe(EXIT_OK);
      expect(branchCommit).not.toBe(commit);
      expect((await readManifest(join(onBranch, 'tiny-q4.manifest.json'))).source).toEqual({
        repoId: 'org/tiny',
        revision: branchCommit,
      });
      const both = await runCli(['quantize', '--model-id', 'org/tiny', '--model', modelDir]);
      expect(both.stderr).toBe('quantgate quantize: --model-path and --model-id both name a model; give one\n');
    } finally {
      await hub.close();
    }
  });

  test('--model-path is required', async () => {
    const run = await runCli(['quantize']);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr).toBe('quantgate quantize: --model-path is required; see --help\n');
  });

  test('--help shows the usage', async () => {
    const run = await runCli(['quantize', '--help']);
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toMatch(/^usage: quantgate quantize \(--model-path <dir\|file> \| --model-id <org\/name>\)/);
  });
});
