import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../../src/common/errors.js';
import { parseLmConfig, parseMimiConfig, readKyutaiConfig } from '../../../src/engines/kyutai-stt/config.js';
import { mimiFrameSize } from '../../../src/engines/kyutai-stt/mimi-graph.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { goldenJson } from './golden.js';

let goldenMimi: Record<string, unknown>;

beforeAll(async () => {
  goldenMimi = await goldenJson('mimi_config.json');
});

afterAll(removeTempDirs);

async function modelDir(config: Record<string, unknown>): Promise<string> {
  const dir = await makeTempDir();
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('LM config', () => {
  it('reads the golden config as moshi does', async () => {
    expect(parseLmConfig(await goldenJson('lm_config.json'), 'lm_config.json')).toEqual({
      dim: 64,
      numHeads: 4,
      numLayers: 2,
      nQ: 8,
      card: 64,
      textCard: 48,
      context: 64,
      maxPeriod: 100000,
      normEps: 1e-8,
      delays: Array(9).fill(0),
    });
  });

  it('takes eps 1e-5 for rms_norm and zero delays when none are given', async () => {
    const { delays: _, ...golden } = await goldenJson('lm_config.json');
    const config = parseLmConfig({ ...golden, norm: 'rms_norm' }, 'config.json');
    expect(config.normEps).toBe(1e-5);
    expect(config.delays).toEqual(Array(9).fill(0));
  });

  it.each([
    [
      'no dep_q (moshi’s default 8)',
      { dep_q: undefined },
      /^config\.json: dep_q 8 is not supported by the kyutai-stt engine \(it implements 0\); use the command engine/,
    ],
    ['no gating (moshi’s default none)', { gating: undefined }, /^config\.json: gating "none" is not supported/],
    [
      'a LayerNorm',
      { norm: 'layer_norm' },
      /^config\.json: norm "layer_norm" is not supported by the kyutai-stt engine \(it supports rms_norm, rms_norm_f32\)/,
    ],
    [
      'sinusoidal positions',
      { positional_embedding: 'sin' },
      /^config\.json: positional_embedding "sin" is not supported/,
    ],
    [
      'no dim',
      { dim: undefined },
      /^config\.json: "dim" is missing, not a non-negative integer; fix or download the config again$/,
    ],
    [
      'heads that do not divide dim',
      { num_heads: 3 },
      /^config\.json: dim 64 does not split into 3 heads of an even size/,
    ],
    ['too few delays', { delays: [0, 0] }, /^config\.json: "delays" has 2 entries but n_q 8 needs 9/],
    ['a one-step context', { context: 1 }, /^config\.json: context 1 is below 2 steps/],
  ])('refuses %s with a one-line error', async (_, change, message) => {
    const config = JSON.parse(JSON.stringify({ ...(await goldenJson('lm_config.json')), ...change })) as Record<
      string,
      unknown
    >;
    expect(() => parseLmConfig(config, 'config.json')).toThrow(QuantgateError);
    expect(() => parseLmConfig(config, 'config.json')).toThrow(message);
  });
});

describe('model config folder', () => {
  it('uses moshi’s built-in Mimi, with the real sizes, when config.json names no Mimi config', async () => {
    const config = await readKyutaiConfig(await modelDir({ ...(await goldenJson('lm_config.json')), card: 2048 }));
    expect(config.mimi).toEqual({
      sampleRate: 24000,
      frameRate: 12.5,
      seanet: {
        nFilters: 64,
        dimension: 512,
        ratios: [8, 6, 5, 4],
        kernelSize: 7,
        residualKernelSize: 3,
        lastKernelSize: 3,
        nResidualLayers: 1,
        dilationBase: 2,
        compress: 2,
      },
      transformer: { dModel: 512, numHeads: 8, numLayers: 8, dimFeedforward: 2048, context: 250, maxPeriod: 10000 },
      quantizer: { dimension: 256, bins: 2048, nQ: 32 },
      codebooks: 8,
    });
    expect(mimiFrameSize(config.mimi)).toBe(1920);
    expect(config.stt).toEqual({ silencePrefixSeconds: 0, audioDelaySeconds: 0.5, textPaddingTokenId: 3 });
    expect(config.names).toEqual({
      lm: 'lm.safetensors',
      mimi: 'mimi.safetensors',
      tokenizer: 'tokenizer_not_provided.model',
    });
  });

  it('reads the Mimi config config.json names, and the STT scripts’ defaults when stt_config is absent', async () => {
    const dir = await modelDir({
      ...(await goldenJson('lm_config.json')),
      stt_config: undefined,
      text_padding_token_id: 5,
      mimi_config_name: 'mimi.json',
    });
    await writeFile(join(dir, 'mimi.json'), JSON.stringify(await goldenJson('mimi_config.json')));
    const config = await readKyutaiConfig(dir);
    expect(config.mimi.seanet.nFilters).toBe(8);
    expect(config.mimi.transformer.numHeads).toBe(4);
    expect(config.stt).toEqual({ silencePrefixSeconds: 1, audioDelaySeconds: 5, textPaddingTokenId: 5 });
  });

  it('refuses an LM whose audio vocabulary is not Mimi’s codebook size', async () => {
    const dir = await modelDir(await goldenJson('lm_config.json'));
    await expect(readKyutaiConfig(dir)).rejects.toThrow(
      /config\.json: the LM reads audio tokens 0–63 \(card 64\) but Mimi \(moshi’s built-in Mimi config\) has codebooks of 2048; the LM and Mimi do not belong together/,
    );
  });

  it('names an unreadable or invalid config.json', async () => {
    const empty = await makeTempDir();
    await expect(readKyutaiConfig(empty)).rejects.toThrow(
      /^cannot read \S+config\.json \(.*ENOENT.*\); a Kyutai STT model folder needs it/,
    );
    const dir = await makeTempDir();
    await writeFile(join(dir, 'config.json'), '{"dim": ');
    await expect(readKyutaiConfig(dir)).rejects.toThrow(
      /^\S+config\.json is not valid JSON \(.*\); download the model again$/,
    );
  });
});

describe('Mimi config', () => {
  it('refuses a codec whose quantizer has fewer codebooks than the LM reads', async () => {
    expect(() => parseMimiConfig(goldenMimi, 'mimi.json', 33)).toThrow(
      /^the LM reads 33 audio codebooks but Mimi \(mimi\.json\) has 32; the LM and Mimi do not belong together/,
    );
  });

  it('refuses options the encoder graph does not implement', () => {
    const seanet = { ...(goldenMimi.seanet as Record<string, unknown>), pad_mode: undefined };
    expect(() =>
      parseMimiConfig({ ...goldenMimi, seanet: JSON.parse(JSON.stringify(seanet)) }, 'mimi.json', 8),
    ).toThrow(/^mimi\.json seanet: pad_mode "reflect" is not supported by the kyutai-stt engine/);
  });
});
