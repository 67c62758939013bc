import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, hashResultKey, weightDigests, type ResultKey } from '../../src/reuse/result-key.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

const BASE: ResultKey = {
  variant: 'candidate',
  engine: 'onnx-ctc',
  quantgateVersion: '0.1.0',
  device: 'cpu',
  engineOptions: { batchSize: 8, candidateMode: 'matmulnbits', baseTopK: 32 },
  weights: ['model.gguf:aa'],
  dataset: {
    name: 'openslr/librispeech_asr',
    revision: '71cacbf',
    config: 'clean',
    split: 'test',
    maxSamples: 100,
    maxDurationSeconds: 20,
    shard: '1/4',
    ids: ['a', 'b'],
  },
  reference: 'f'.repeat(64),
};

describe('the result key', () => {
  const base = hashResultKey(BASE);

  test.each<[string, (key: ResultKey) => ResultKey]>([
    ['variant', (key) => ({ ...key, variant: 'reference' })],
    ['engine', (key) => ({ ...key, engine: 'kyutai-stt' })],
    ['quantgate version', (key) => ({ ...key, quantgateVersion: '0.2.0' })],
    ['device', (key) => ({ ...key, device: 'cuda' })],
    ['batch size', (key) => ({ ...key, engineOptions: { ...key.engineOptions, batchSize: 4 } })],
    ['candidate mode', (key) => ({ ...key, engineOptions: { ...key.engineOptions, candidateMode: 'dequant' } })],
    ['base top-k', (key) => ({ ...key, engineOptions: { ...key.engineOptions, baseTopK: 16 } })],
    ['weights', (key) => ({ ...key, weights: ['model.gguf:ab'] })],
    ['weights file name', (key) => ({ ...key, weights: ['other.gguf:aa'] })],
    ['dataset', (key) => ({ ...key, dataset: { ...key.dataset, name: 'other/set' } })],
    ['dataset commit', (key) => ({ ...key, dataset: { ...key.dataset, revision: '0000000' } })],
    ['config', (key) => ({ ...key, dataset: { ...key.dataset, config: 'other' } })],
    ['split', (key) => ({ ...key, dataset: { ...key.dataset, split: 'validation' } })],
    ['max samples', (key) => ({ ...key, dataset: { ...key.dataset, maxSamples: 0 } })],
    ['max duration', (key) => ({ ...key, dataset: { ...key.dataset, maxDurationSeconds: 30 } })],
    ['shard', (key) => ({ ...key, dataset: { ...key.dataset, shard: '2/4' } })],
    ['ids', (key) => ({ ...key, dataset: { ...key.dataset, ids: ['a', 'c'] } })],
    ['id order', (key) => ({ ...key, dataset: { ...key.dataset, ids: ['b', 'a'] } })],
    ['reference', (key) => ({ ...key, reference: 'e'.repeat(64) })],
  ])('changing the %s alone changes the key', (_field, change) => {
    expect(hashResultKey(change(BASE))).not.toBe(base);
  });

  test('nothing else does: member order and absent members', () => {
    const reordered: ResultKey = {
      reference: BASE.reference,
      dataset: {
        ids: ['a', 'b'],
        shard: '1/4',
        maxDurationSeconds: 20,
        maxSamples: 100,
        split: 'test',
        config: 'clean',
        revision: '71cacbf',
        name: 'openslr/librispeech_asr',
      },
      weights: ['model.gguf:aa'],
      engineOptions: { baseTopK: 32, candidateMode: 'matmulnbits', batchSize: 8, unused: undefined },
      device: 'cpu',
      quantgateVersion: '0.1.0',
      engine: 'onnx-ctc',
      variant: 'candidate',
    };
    expect(hashResultKey(reordered)).toBe(base);
    expect(hashResultKey(BASE)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('canonical JSON sorts members at every depth', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: 'x', e: undefined })).toBe('{"a":"x","b":[{"c":2,"d":1}]}');
  });

  test('weight digests are the files’ sha256 under the names given', async () => {
    const dir = await makeTempDir();
    await writeFile(join(dir, 'w'), 'abc');
    expect(await weightDigests([{ name: 'model.safetensors', path: join(dir, 'w') }])).toEqual([
      'model.safetensors:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    ]);
  });
});
