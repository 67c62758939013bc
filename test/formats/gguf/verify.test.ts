import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_OK } from '../../../src/cli/command.js';
import { openGguf } from '../../../src/formats/gguf/reader.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { verifyQuantized } from '../../../src/formats/gguf/verify.js';
import { runCli } from '../../helpers/cli.js';
import { tinyModelTensors, weights, writeTestModel } from '../../helpers/model.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

const tensors = tinyModelTensors();
let modelDir: string;
beforeAll(async () => {
  modelDir = await writeTestModel(join(await makeTempDir(), 'tiny'), tensors);
});

/** Changes the first block of `tensor`: its bytes at `at` (from the block's start) become what `change` makes of them. */
async function editFirstBlock(
  path: string,
  tensor: string,
  at: number,
  length: number,
  change: (bytes: Buffer) => void,
): Promise<void> {
  const gguf = await openGguf(path);
  const info = gguf.tensors.find((each) => each.name === tensor)!;
  const position = gguf.dataOffset + info.offset + at;
  await gguf.close();
  const file = await open(path, 'r+');
  try {
    const bytes = Buffer.alloc(length);
    await file.read(bytes, 0, length, position);
    change(bytes);
    await file.write(bytes, 0, length, position);
  } finally {
    await file.close();
  }
}

/** Flips the low nibbles of the first block of `tensor`: every value of that block moves by several steps. */
const corrupt = (path: string, tensor: string) =>
  editFirstBlock(path, tensor, 2, 1, (bytes) => void (bytes[0] = bytes[0]! ^ 0x07));

describe('verify', () => {
  test('a fresh output passes every check, each tensor within its step and F32 exact', async () => {
    const { output } = await quantizeModel({ model: modelDir, outDir: await makeTempDir() });
    const report = await verifyQuantized({ path: output!.files[0]!, model: modelDir });
    expect(report.manifest?.path).toBe(output!.manifestPath);
    expect(report.tensorCount).toBe(tensors.length);
    const worst = (type: string) =>
      Math.max(...report.tensors!.filter((tensor) => tensor.type === type).map((tensor) => tensor.worstRatio));
    expect(worst('Q4_0')).toBeGreaterThan(0.3);
    expect(worst('Q4_0')).toBeLessThanOrEqual(1);
    expect(worst('F16')).toBeLessThanOrEqual(1);
    expect(worst('F32')).toBe(0);
  });

  test('byte shards are checked from their folder or from their manifest', async () => {
    const outDir = await makeTempDir();
    const { output } = await quantizeModel({ model: modelDir, outDir, maxShardBytes: 8000 });
    for (const path of [join(outDir, 'tiny-q4-shards'), output!.manifestPath]) {
      const report = await verifyQuantized({ path, model: modelDir });
      expect(report.manifest?.files.length).toBe(output!.files.length);
      expect(report.tensors).toHaveLength(tensors.length);
    }
  });

  test('a gguf-split set is checked from its folder, from any of its parts, or from its manifest', async () => {
    const outDir = await makeTempDir();
    const { output } = await quantizeModel({ model: modelDir, outDir, maxShardBytes: 8000, shardFormat: 'gguf-split' });
    expect(output!.files.length).toBeGreaterThan(1);
    for (const path of [join(outDir, 'tiny-q4-split'), output!.files[1]!, output!.manifestPath]) {
      const report = await verifyQuantized({ path, model: modelDir });
      expect(report.manifest?.files.length).toBe(output!.files.length);
      expect(report.tensors).toHaveLength(tensors.length);
    }
  });

  test('a file that no longer matches its manifest is named', async () => {
    const { output } = await quantizeModel({ model: modelDir, outDir: await makeTempDir() });
    await corrupt(output!.files[0]!, 'emb.weight');
    await expect(verifyQuantized({ path: output!.files[0]! })).rejects.toThrow(/tiny-q4\.gguf/);
  });

  test('a tensor that does not decode to its source is named, with how far off it is', async () => {
    const { output } = await quantizeModel({ model: modelDir, outDir: await makeTempDir() });
    const copy = join(await makeTempDir(), 'copy.gguf');
    await copyFile(output!.files[0]!, copy);
    await corrupt(copy, 'layers.0.self_attn.in_proj_weight');
    const report = await verifyQuantized({ path: copy });
    expect(report.manifest).toBeUndefined();
    await expect(verifyQuantized({ path: copy, model: modelDir })).rejects.toThrow(
      /^1 tensor\(s\) of .*copy\.gguf do not decode to within their quantization step of .*: layers\.0\.self_attn\.in_proj_weight \(\d+\.\d\d× its step\); the GGUF was not made from this model — quantize it again$/,
    );
  });

  test('a block whose scale is not a number is named in words', async () => {
    const { output } = await quantizeModel({ model: modelDir, outDir: await makeTempDir() });
    const copy = join(await makeTempDir(), 'copy.gguf');
    await copyFile(output!.files[0]!, copy);
    // The fp16 scale of the first Q4_0 block becomes a NaN, so every value of the block decodes to NaN.
    await editFirstBlock(
      copy,
      'layers.0.self_attn.in_proj_weight',
      0,
      2,
      (bytes) => void bytes.writeUInt16LE(0x7e00, 0),
    );
    await expect(verifyQuantized({ path: copy, model: modelDir })).rejects.toThrow(
      /: layers\.0\.self_attn\.in_proj_weight \(a value that is infinite or not a number\); the GGUF was not made from this model — quantize it again$/,
    );
  });

  test('another model as the source fails', async () => {
    const { output } = await quantizeModel({ model: modelDir, outDir: await makeTempDir() });
    const other = await writeTestModel(
      join(await makeTempDir(), 'other'),
      tensors.map((tensor, i) => ({ ...tensor, values: weights(tensor.values.length, 100 + i) })),
    );
    await expect(verifyQuantized({ path: output!.files[0]!, model: other })).rejects.toThrow(
      /do not decode to within their quantization step/,
    );
  });

  test('the command prints what it checked, and fails with one line', async () => {
    const { output } = await quantizeModel({ model: modelDir, outDir: await makeTempDir() });
    const ok = await runCli(['verify', output!.files[0]!, '--model', modelDir]);
    expect(ok.code).toBe(EXIT_OK);
    expect(ok.stdout).toMatch(
      /^structure: OK, 8 tensors in .*\nmanifest: OK, 1 single file\(s\), .*\nvalues: OK, every tensor within its quantization step of the source; worst per type: Q4_0 0\.\d\d× of the allowed error/,
    );
    const missing = await runCli(['verify', join(await makeTempDir(), 'absent.gguf')]);
    expect(missing.code).toBe(EXIT_ERROR);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const none = await runCli(['verify']);
    expect(none.stderr).toBe(
      'quantgate verify: verify takes one path: the .gguf, the shard folder, a split part or the manifest; see --help\n',
    );
  });
});
