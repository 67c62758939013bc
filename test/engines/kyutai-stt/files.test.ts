import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findKyutaiFiles, requireKyutaiFiles } from '../../../src/engines/kyutai-stt/files.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

async function folder(...names: string[]): Promise<string> {
  const dir = await makeTempDir();
  await Promise.all(names.map((name) => writeFile(join(dir, name), '')));
  return dir;
}

const HUB_FILES = [
  'config.json',
  'model.safetensors',
  'mimi-pytorch-e351c8d8@125.safetensors',
  'tokenizer_en_fr_audio_8000.model',
];

describe('Kyutai model files', () => {
  it('finds the files of a Hub repo by their usual names', async () => {
    const dir = await folder(...HUB_FILES, 'README.md');
    expect(await findKyutaiFiles(dir)).toEqual({
      lm: join(dir, 'model.safetensors'),
      mimi: join(dir, 'mimi-pytorch-e351c8d8@125.safetensors'),
      tokenizer: join(dir, 'tokenizer_en_fr_audio_8000.model'),
    });
  });

  it('takes the names config.json gives over the usual ones', async () => {
    const dir = await folder(...HUB_FILES, 'lm.safetensors', 'codec.safetensors', 'other.model');
    expect(
      await findKyutaiFiles(dir, { lm: 'lm.safetensors', mimi: 'codec.safetensors', tokenizer: 'other.model' }),
    ).toEqual({
      lm: join(dir, 'lm.safetensors'),
      mimi: join(dir, 'codec.safetensors'),
      tokenizer: join(dir, 'other.model'),
    });
  });

  it.each([
    ['no config.json', HUB_FILES.slice(1), {}, 'it has no config.json'],
    ['no Mimi', HUB_FILES.filter((name) => !name.startsWith('mimi')), {}, 'it has no Mimi weights (mimi*.safetensors)'],
    [
      'two tokenizers',
      [...HUB_FILES, 'b.model'],
      {},
      'it has several tokenizer files (b.model, tokenizer_en_fr_audio_8000.model) and config.json names none as tokenizer_name',
    ],
    [
      'a named file absent',
      HUB_FILES,
      { lm: 'lm.safetensors' },
      'it has no lm.safetensors, which config.json names as moshi_name',
    ],
  ])('says what is wrong with a folder with %s', async (_, names, configured, problem) => {
    const dir = await folder(...names);
    expect(await findKyutaiFiles(dir, configured)).toEqual({ problem });
    await expect(requireKyutaiFiles(dir, configured)).rejects.toThrow(
      `${dir} is not a complete Kyutai STT model folder: ${problem}; download the whole model repo`,
    );
  });
});
