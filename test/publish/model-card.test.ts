import { parse } from 'yaml';
import type { Manifest } from '../../src/formats/gguf/manifest.js';
import { renderModelCard, type ModelCardInput } from '../../src/publish/model-card.js';
import type { KldFigures } from '../../src/scoring/types.js';
import { sampleComparison } from '../report/comparison.js';

const SHA = (digit: string) => digit.repeat(64);
const MANIFEST: Manifest = {
  manifestVersion: 1,
  format: 'bytes',
  files: [
    { path: 'stt-1b-en_fr-q4_0-shards/shard-aa', size: 536870912, sha256: SHA('a') },
    { path: 'stt-1b-en_fr-q4_0-shards/shard-ab', size: 100, sha256: SHA('b') },
    { path: 'stt-1b-en_fr-q4_0.gguf', size: 536871012, sha256: SHA('c') },
  ],
  totalSize: 1073742024,
  tensorCount: 400,
  source: { repoId: 'kyutai/stt-1b-en_fr', revision: '0123456789abcdef0123456789abcdef01234567' },
  tool: { name: 'quantgate', version: '0.1.0' },
};
const KLD: KldFigures = {
  available: true,
  mean: 0.0123,
  interval: [0.011, 0.0135],
  median: 0.004,
  p99: 0.2,
  max: 1.5,
  top1Agreement: 0.9812,
  perplexityRatio: 1.0123,
  steps: 19000,
};

function input(overrides: Partial<ModelCardInput> = {}): ModelCardInput {
  return {
    repoId: 'org/stt-1b-en_fr-q4_0-gguf',
    manifest: MANIFEST,
    comparison: { ...sampleComparison(), kld: KLD },
    license: 'cc-by-4.0',
    tensorTypes: [
      { type: 'Q4_0', tensors: 300, bytes: 900_000_000 },
      { type: 'F32', tensors: 100, bytes: 1_000_000 },
    ],
    quantgateVersion: '0.1.0',
    provenance: { runUrl: 'https://github.com/org/repo/actions/runs/42' },
    ...overrides,
  };
}

function split(card: string): { matter: Record<string, unknown>; body: string } {
  const match = /^---\n([\s\S]*?)\n---\n\n([\s\S]*)$/.exec(card);
  expect(match).not.toBeNull();
  return { matter: parse(match![1]!) as Record<string, unknown>, body: match![2]! };
}

test('the front matter links the source model, copies its license, tags the repo and holds the model-index', () => {
  const comparison = sampleComparison();
  const { matter } = split(renderModelCard(input()));
  expect(matter).toEqual({
    base_model: 'kyutai/stt-1b-en_fr',
    base_model_relation: 'quantized',
    license: 'cc-by-4.0',
    tags: ['gguf', 'quantgate', 'automatic-speech-recognition', 'speech-to-text', 'q4_0'],
    pipeline_tag: 'automatic-speech-recognition',
    'model-index': [
      {
        name: 'stt-1b-en_fr-q4_0-gguf',
        results: [
          {
            task: { type: 'automatic-speech-recognition', name: 'Automatic Speech Recognition' },
            dataset: {
              name: 'LibriSpeech (clean)',
              type: 'openslr/librispeech_asr',
              config: 'clean',
              split: 'test',
              revision: comparison.dataset.revision,
            },
            metrics: [
              {
                type: 'wer',
                value: Math.round(comparison.reference.werPercent * 100) / 100,
                name: 'WER of the float model (reference)',
              },
              {
                type: 'wer',
                value: Math.round(comparison.candidate.werPercent * 100) / 100,
                name: 'WER of this quantized file',
              },
            ],
          },
        ],
      },
    ],
  });
});

test('LibriSpeech’s parquet split name becomes the Hub’s config and split', () => {
  const comparison = sampleComparison();
  const dotted = { ...comparison, dataset: { name: 'openslr/librispeech_asr', split: 'test.clean', revision: 'r' } };
  const { matter } = split(renderModelCard(input({ comparison: dotted })));
  const [result] = (matter['model-index'] as { results: { dataset: unknown }[] }[])[0]!.results;
  expect(result!.dataset).toEqual({
    name: 'LibriSpeech (clean)',
    type: 'openslr/librispeech_asr',
    config: 'clean',
    split: 'test',
    revision: 'r',
  });
});

test('the body lists the shard URLs in order, the cat command, the results with KLD, the tensor types and every sha256', () => {
  const { body } = split(renderModelCard(input()));
  const urls = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(body)![1]!) as string[];
  expect(urls).toEqual([
    'https://huggingface.co/org/stt-1b-en_fr-q4_0-gguf/resolve/main/stt-1b-en_fr-q4_0-shards/shard-aa',
    'https://huggingface.co/org/stt-1b-en_fr-q4_0-gguf/resolve/main/stt-1b-en_fr-q4_0-shards/shard-ab',
  ]);
  expect(body).toContain('byte shards of at most 512.0 MiB');
  expect(body).toContain('cat stt-1b-en_fr-q4_0-shards/shard-aa stt-1b-en_fr-q4_0-shards/shard-ab > model.gguf');
  expect(body).toContain('`stt-1b-en_fr-q4_0.gguf`');
  expect(body).toMatch(/\| ΔWER \| \+\d+\.\d\d points, 95% interval \\\[/);
  expect(body).toContain('| mean KL divergence | 0.0123 nats, 95% interval \\[0.011, 0.0135\\] |');
  expect(body).toContain('| top-1 agreement | 98.12% |');
  expect(body).toContain('| Q4\\_0 | 300 |');
  for (const file of MANIFEST.files) expect(body).toContain(file.sha256);
  expect(body).toContain('- source: kyutai/stt-1b-en_fr at commit 0123456789abcdef0123456789abcdef01234567');
  expect(body).toContain('- workflow run: https://github.com/org/repo/actions/runs/42');
});

test('without an evaluation or a source repo the card says so and keeps no model-index', () => {
  const local: Manifest = { ...MANIFEST, format: 'single', files: [MANIFEST.files[2]!], source: { path: '/models/m' } };
  const { matter, body } = split(
    renderModelCard(input({ manifest: local, comparison: undefined, license: undefined })),
  );
  expect(matter).toEqual({
    tags: ['gguf', 'quantgate', 'automatic-speech-recognition', 'speech-to-text', 'q4_0'],
    pipeline_tag: 'automatic-speech-recognition',
  });
  expect(body).toContain('This file was not evaluated.');
  expect(body).toContain('One file, `stt-1b-en_fr-q4_0.gguf`');
  expect(body).toContain('- source: a local folder (/models/m)');
});

test('token gates show their own verdicts and the verdict over every gate; a merge without percentiles shows dashes', () => {
  const comparison = {
    ...sampleComparison(),
    kld: { ...KLD, median: null, p99: null },
    tokenGates: [
      {
        gate: 'max-kld' as const,
        limit: 0.01,
        value: 0.0123,
        verdict: 'fail' as const,
        reason: 'the mean KLD, 0.0123 nats, exceeds the 0.01-nat limit',
      },
    ],
  };
  const { body } = split(renderModelCard(input({ comparison })));
  expect(body).toContain('| KLD median / p99 / max | — / — / 1.5 nats |');
  expect(body).toContain('Gate max-kld: FAIL: the mean KLD, 0.0123 nats, exceeds the 0.01-nat limit.');
  expect(body).toContain('Verdict: **FAIL: the WER and max-kld gates fail**.');
});

test('a run without token metrics says why on the card', () => {
  const comparison = {
    ...sampleComparison(),
    kld: { available: false as const, reason: 'the command engine sees text only' },
  };
  const { body } = split(renderModelCard(input({ comparison })));
  expect(body).toContain('| token metrics | not available (the command engine sees text only) |');
});
