import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCtcModelFiles, readCtcModelSettings } from '../../../src/engines/onnx-ctc/model-folder.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { tokenIds, writeCtcModelFolder } from './ctc-test-model.js';

afterAll(removeTempDirs);

async function folder(): Promise<string> {
  return writeCtcModelFolder(join(await makeTempDir(), 'ctc'));
}

async function writeJson(dir: string, file: string, value: unknown): Promise<void> {
  await writeFile(join(dir, file), typeof value === 'string' ? value : JSON.stringify(value));
}

describe('readCtcModelSettings', () => {
  test('reads the rate, normalization, vocabulary and frame geometry of an export', async () => {
    const dir = await folder();
    const settings = await readCtcModelSettings(dir);
    expect(settings).toMatchObject({
      modelPath: join(dir, 'model.onnx'),
      sampleRate: 16000,
      normalize: true,
      frames: { kind: 'convolutions', layers: [{ kernel: 32, stride: 32 }] },
    });
    expect(settings.vocabulary.blank).toBe(0);
    expect(settings.vocabulary.text(tokenIds(['<s>', 'h', 'e', '|', 'w', 'o']))).toBe('he wo');
  });

  test('Hugging Face defaults fill keys left out; without config.json the blank is <pad>', async () => {
    const dir = await folder();
    await writeJson(dir, 'preprocessor_config.json', {});
    await rm(join(dir, 'config.json'));
    await writeJson(dir, 'vocab.json', { a: 0, '<pad>': 1, '|': 2 });
    const settings = await readCtcModelSettings(dir);
    expect(settings).toMatchObject({ sampleRate: 16000, normalize: true, frames: { kind: 'unknown' } });
    expect(settings.vocabulary.blank).toBe(1);
  });

  test('pad_token_id and word_delimiter_token in config.json win; [PAD] is a blank too; else id 0', async () => {
    const dir = await folder();
    await writeJson(dir, 'config.json', { pad_token_id: 5, word_delimiter_token: '_' });
    await writeJson(dir, 'vocab.json', { _: 0, x: 1 });
    const settings = await readCtcModelSettings(dir);
    expect(settings.vocabulary.blank).toBe(5);
    expect(settings.vocabulary.text([1, 0, 1])).toBe('x x');
    await writeJson(dir, 'config.json', {});
    await writeJson(dir, 'vocab.json', { x: 0, '[PAD]': 1, '[UNK]': 2 });
    expect((await readCtcModelSettings(dir)).vocabulary.blank).toBe(1);
    await writeJson(dir, 'vocab.json', { x: 3, y: 4 });
    expect((await readCtcModelSettings(dir)).vocabulary.blank).toBe(0);
  });

  test.each([
    [
      'model.onnx',
      /ctc has no model\.onnx; the onnx-ctc engine needs a Hugging Face wav2vec2\/HuBERT CTC export \(model\.onnx, vocab\.json, preprocessor_config\.json, config\.json\)$/,
    ],
    ['vocab.json', /ctc has no vocab\.json; the onnx-ctc engine needs/],
    ['preprocessor_config.json', /ctc has no preprocessor_config\.json; the onnx-ctc engine needs/],
  ])('a missing %s is a one-line error', async (file, message) => {
    const dir = await folder();
    await rm(join(dir, file));
    await expect(readCtcModelSettings(dir)).rejects.toThrow(message);
  });

  test.each([
    ['vocab.json', '{"a": 0,', /vocab\.json is not valid JSON \(.*\); download or export it again$/],
    ['vocab.json', '[1, 2]', /vocab\.json holds a list, not a JSON object/],
    [
      'vocab.json',
      { en: { a: 0 } },
      /vocab\.json: token "en" maps to \{"a":0\}, not a token id; the engine reads a flat \{"token": id\} vocabulary/,
    ],
    [
      'config.json',
      { pad_token_id: -1 },
      /config\.json: pad_token_id is -1, not a token id; use the config\.json exported with the model$/,
    ],
    [
      'config.json',
      { conv_kernel: [3], conv_stride: 'x' },
      /config\.json: conv_stride is "x", not a list of 1 positive integers/,
    ],
    [
      'preprocessor_config.json',
      { sampling_rate: 0 },
      /preprocessor_config\.json: sampling_rate is 0, not a positive integer/,
    ],
    [
      'preprocessor_config.json',
      { do_normalize: 'yes' },
      /preprocessor_config\.json: do_normalize is "yes", not true or false/,
    ],
  ])('a malformed %s (%j) is a one-line error', async (file, content, message) => {
    const dir = await folder();
    await writeJson(dir, file, content);
    await expect(readCtcModelSettings(dir)).rejects.toThrow(message);
  });
});

describe('hasCtcModelFiles', () => {
  test('needs model.onnx and vocab.json', async () => {
    const dir = await folder();
    expect(await hasCtcModelFiles(dir)).toBe(true);
    await rm(join(dir, 'model.onnx'));
    expect(await hasCtcModelFiles(dir)).toBe(false);
  });
});
