// Seed inputs for every target, made by the tests' own fixture builders (and a few committed
// fixtures), small so that each parse is quick. Mutants of these are what the fuzzer tries.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufValueType } from '../src/formats/gguf/constants.js';
import { writeByteShards } from '../src/formats/gguf/byte-shards.js';
import { writeManifest } from '../src/formats/gguf/manifest.js';
import { planGguf, type GgufTensorSpec } from '../src/formats/gguf/layout.js';
import type { GgufMetadataEntry } from '../src/formats/gguf/metadata.js';
import { planGgufSplit, writeGgufSplit } from '../src/formats/gguf/split.js';
import { writeGgufFile, type GgufDataWriter } from '../src/formats/gguf/writer.js';
import { encodeWav } from '../src/audio/wav-writer.js';
import { AudioSpool } from '../src/pipeline/audio-spool.js';
import { writeVariantRecord } from '../src/reuse/variant-record.js';
import { ReferenceBaseWriter } from '../src/scoring/reference-base.js';
import { referenceStep } from '../src/scoring/token-damage.js';
import { tarArchive } from '../test/runtime/tarball.js';
import { chunk, fmtBody, float32Wav, pcm16Wav, riffWave } from '../test/audio/make-wav.js';
import { writeLibriSpeechParquet } from '../test/datasets/make-parquet.js';
import { writeRawSafetensors } from '../test/formats/safetensors-helpers.js';
import { tinyModelTensors, weights, writeTestModel } from '../test/helpers/model.js';
import { buildZip } from '../test/helpers/zip.js';
import { FakeHub } from '../test/servers/fake-hub.js';
import { packParts } from './mutators.js';

const fixture = (...parts: string[]) => join(process.cwd(), 'test', 'fixtures', ...parts);
const text = (value: string) => new TextEncoder().encode(value);

async function inTempDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'quantgate-fuzz-corpus-'));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function bytesOf(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

export async function safetensorsSeeds(): Promise<Uint8Array[]> {
  return inTempDir(async (dir) => {
    const tiny = tinyModelTensors().map((tensor) => ({
      ...tensor,
      shape: tensor.shape.map((size) => Math.min(size, 4)),
      values: weights(
        tensor.shape.map((size) => Math.min(size, 4)).reduce((a, b) => a * b, 1),
        3,
      ),
    }));
    await writeTestModel(join(dir, 'tiny'), tiny);
    await writeRawSafetensors(
      dir,
      'meta.safetensors',
      {
        __metadata__: { format: 'pt' },
        a: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] },
        b: { dtype: 'I64', shape: [1], data_offsets: [12, 20] },
      },
      20,
    );
    await writeRawSafetensors(dir, 'empty.safetensors', {});
    return [
      await bytesOf(join(dir, 'tiny', 'model.safetensors')),
      await bytesOf(join(dir, 'meta.safetensors')),
      await bytesOf(join(dir, 'empty.safetensors')),
    ];
  });
}

export function configSeeds(): Uint8Array[] {
  return [
    {
      model_type: 'whisper',
      hidden_size: 64,
      num_hidden_layers: 2,
      vocab_size: 51865,
      architectures: ['WhisperForConditionalGeneration'],
      rope_theta: 10000.5,
      suppress_tokens: [1, 2, 7],
      forced_decoder_ids: [
        [1, 50259],
        [2, 50359],
      ],
    },
    {
      model_type: 'stt',
      dim: 64,
      num_heads: 4,
      num_layers: 2,
      card: 2048,
      n_q: 32,
      dep_q: 0,
      context: 750,
      max_period: 10000,
      text_card: 8000,
      existing_text_padding_id: 3,
      mimi_name: 'mimi.safetensors',
      tokenizer_name: 'tokenizer.model',
      stt_config: { audio_delay_seconds: 2.5, audio_silence_prefix_seconds: 1 },
      lm_gen_config: { temp: 0, top_k: 250 },
    },
    {
      architectures: ['Wav2Vec2ForCTC'],
      conv_dim: [512, 512],
      feat_extract_norm: 'group',
      hidden_act: 'gelu',
      layer_norm_eps: 1e-5,
      do_stable_layer_norm: false,
      task_specific_params: { asr: { lang: 'en' } },
    },
  ].map((config) => text(JSON.stringify(config, null, 1)));
}

/** The metadata and tensors of a small GGUF, and how to fill its tensors. */
function tinyGguf(): {
  metadata: GgufMetadataEntry[];
  tensors: GgufTensorSpec[];
  fill: (writer: GgufDataWriter) => Promise<void>;
} {
  const metadata: GgufMetadataEntry[] = [
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'tiny' },
    { key: 'general.alignment', type: GgufValueType.UINT32, value: 32 },
    { key: 'tiny.block_count', type: GgufValueType.UINT64, value: 2n },
    { key: 'tiny.ids', type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: [1, -2, 3] },
    { key: 'tiny.names', type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: ['a', 'bc'] },
  ];
  const tensors: GgufTensorSpec[] = [
    { name: 'a.weight', type: 'F32', ne: [8, 2] },
    { name: 'b.weight', type: 'Q4_0', ne: [32, 2] },
    { name: 'c.weight', type: 'Q8_0', ne: [32] },
    { name: 'd.weight', type: 'F16', ne: [4, 1, 2] },
  ];
  const fill = async (writer: GgufDataWriter) => {
    for (const tensor of planGguf(metadata, tensors).tensors)
      await writer.writeTensor(tensor.name, [new Uint8Array(tensor.size).fill(0x3c)]);
  };
  return { metadata, tensors, fill };
}

export async function ggufSeeds(): Promise<Uint8Array[]> {
  return inTempDir(async (dir) => {
    const { metadata, tensors, fill } = tinyGguf();
    await writeGgufFile(join(dir, 'tiny.gguf'), planGguf(metadata, tensors), fill);
    return [await bytesOf(join(dir, 'tiny.gguf')), await bytesOf(fixture('gguf', 'reference.gguf'))];
  });
}

/** gguf-split sets as packed parts, in order. */
export async function ggufSplitSeeds(): Promise<Uint8Array[]> {
  return inTempDir(async (dir) => {
    const { metadata, tensors, fill } = tinyGguf();
    const seeds: Uint8Array[] = [];
    for (const maxFileBytes of [600, 1200]) {
      const out = join(dir, `split-${maxFileBytes}`);
      await writeGgufSplit(out, 'model', planGgufSplit(metadata, tensors, { maxFileBytes }), fill);
      seeds.push(packParts(await Promise.all((await readdir(out)).sort().map((name) => bytesOf(join(out, name))))));
    }
    return seeds;
  });
}

/** Byte-shard folders as packed shards, in order. */
export async function byteShardSeeds(): Promise<Uint8Array[]> {
  return inTempDir(async (dir) => {
    const { metadata, tensors, fill } = tinyGguf();
    const seeds: Uint8Array[] = [];
    for (const shardBytes of [256, 700]) {
      const out = join(dir, `shards-${shardBytes}`);
      await writeByteShards(out, planGguf(metadata, tensors), shardBytes, fill);
      seeds.push(packParts(await Promise.all((await readdir(out)).sort().map((name) => bytesOf(join(out, name))))));
    }
    return seeds;
  });
}

/** The single file `model.gguf` that a manifest seed lists; the manifest target writes it beside each input. */
export async function manifestCompanion(): Promise<Uint8Array> {
  return (await ggufSeeds())[0]!;
}

export async function manifestSeeds(): Promise<Uint8Array[]> {
  const companion = await manifestCompanion();
  return inTempDir(async (dir) => {
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(companion).digest('hex');
    const manifest = await writeManifest(join(dir, 'model.manifest.json'), {
      format: 'single',
      files: [{ path: join(dir, 'model.gguf'), size: companion.length, sha256 }],
      tensorCount: 4,
      source: { repoId: 'org/tiny', revision: 'a'.repeat(40) },
      tool: { name: 'quantgate', version: '0.1.0' },
      createdAt: '2026-01-01T00:00:00.000Z',
    } as Parameters<typeof writeManifest>[1]);
    return [text(JSON.stringify(manifest, null, 2))];
  });
}

export async function parquetSeeds(): Promise<Uint8Array[]> {
  const flac = await bytesOf(fixture('audio', 'tone-s16.flac'));
  const wav = pcm16Wav([0, 0.25, -0.25, 0.5], 16000);
  return inTempDir(async (dir) => {
    const path = join(dir, 'data.parquet');
    const seeds: Uint8Array[] = [];
    await writeLibriSpeechParquet(
      path,
      [
        { id: '84-121123-0000', text: 'GO DO YOU HEAR', audio: wav },
        { id: '84-121123-0001', text: 'BUT IN LESS THAN FIVE MINUTES', audio: flac },
      ],
      1,
    );
    seeds.push(await bytesOf(path));
    await writeLibriSpeechParquet(
      path,
      [
        { id: '1-2-3', text: 'A', audio: flac },
        { id: '1-2-4', text: null, audio: wav },
        { id: '1-2-5', text: 'B C', audio: null },
      ],
      2,
    );
    seeds.push(await bytesOf(path));
    return seeds;
  });
}

export async function flacSeeds(): Promise<Uint8Array[]> {
  return [await bytesOf(fixture('audio', 'tone-s16.flac'))];
}

export function wavSeeds(): Uint8Array[] {
  const tone = Array.from({ length: 64 }, (_, i) => Math.sin(i / 3) / 2);
  return [
    pcm16Wav(tone, 16000),
    float32Wav(tone, 24000, 2),
    encodeWav(new Float32Array(tone), 8000, 'pcm16'),
    riffWave([
      chunk('fmt ', fmtBody({ tag: 1, channels: 1, sampleRate: 16000, bitsPerSample: 8 })),
      chunk('LIST', text('INFOISFT')),
      chunk('data', new Uint8Array(tone.map((x) => 128 + x * 100))),
    ]),
    riffWave([
      chunk('fmt ', fmtBody({ tag: 1, channels: 2, sampleRate: 44100, bitsPerSample: 24 })),
      chunk('data', new Uint8Array(60).fill(7)),
    ]),
  ];
}

export function jsonlSeeds(): Uint8Array[] {
  return [
    text('{"id": "a", "audio": "a.wav", "text": "hello world"}\n{"id": "b", "audio": "sub/b.flac", "text": ""}\n'),
    text('\n{"id":"1","audio":"x.wav","text":"ÄÖ 😀","extra":[1,2]}\r\n'),
  ];
}

export function csvSeeds(): Uint8Array[] {
  return [
    text('id,audio,text\na,a.wav,hello world\nb,"b,1.wav","she said ""hi"""\n'),
    text('speaker,text,audio,id\r\n1,"multi\nline",x.flac,u1\r\n'),
  ];
}

/** Reference and hypothesis transcripts as two packed parts. */
export function transcriptSeeds(): Uint8Array[] {
  return [
    packParts([text('the cat sat on the mat\nhello there\n'), text('the cat sat on mat\nhello their\n')]),
    packParts([
      text('{"id": "u1", "text": "Mr. Smith paid $5.50 at 10:30"}\n{"id": 2, "text": "colour"}\n'),
      text('{"id": 2, "text": "color"}\n{"id": "u1", "text": "mister smith paid five dollars fifty"}\n'),
    ]),
    packParts([text('\ufeffone\n\ntwo three\n'), text('one\n\ntwo\n')]),
  ];
}

export function tarSeeds(): Uint8Array[] {
  return [
    tarArchive([
      { path: 'package/package.json', content: '{"name":"x"}' },
      { path: 'package/lib', type: 'directory' },
      { path: 'package/lib/a.node', content: 'abc' },
    ]),
    tarArchive([
      { path: `package/${'long/'.repeat(30)}file.txt`, content: 'pax' },
      { path: `package/${'gnu/'.repeat(30)}f`, content: 'gnu', longPath: 'gnu' },
      { path: 'package/link', type: 'symlink' },
    ]),
  ].map((archive) => new Uint8Array(archive));
}

export function zipSeeds(): Uint8Array[] {
  const files = [
    { name: 'lib/native/a.so', data: text('so bytes '.repeat(20)) },
    { name: 'readme.txt', data: text('hi'), method: 'store' as const },
  ];
  return [buildZip(files), buildZip(files, { zip64: true, comment: 'made by the tests' })].map(
    (zip) => new Uint8Array(zip),
  );
}

/**
 * The fake Hub's answers to the three requests of a snapshot download (the revision, the file
 * listing, one file), recorded off the wire and packed as three parts.
 */
export async function hubSeeds(): Promise<Uint8Array[]> {
  const hub = await FakeHub.start();
  try {
    hub.createRepo('org/tiny');
    const sha = await hub.commit('org/tiny', [{ path: 'config.json', content: '{"model_type":"tiny"}' }]);
    const revision = await rawGet(hub.url, '/api/models/org/tiny/revision/main?expand%5B%5D=sha');
    const tree = await rawGet(hub.url, `/api/models/org/tiny/tree/${sha}?recursive=true&expand=true`);
    const file = await rawGet(hub.url, `/org/tiny/resolve/${sha}/config.json`);
    return [packParts([revision, tree, file])];
  } finally {
    await hub.close();
  }
}

/** One HTTP/1.1 GET's answer, as the bytes that came over the socket. */
async function rawGet(origin: string, path: string): Promise<Uint8Array> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) }, () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`),
    );
    socket.on('data', (data: Buffer) => chunks.push(data));
    socket.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    socket.on('error', reject);
  });
}

/**
 * Reference base files without their trailing checksum (the target reseals each mutated body, so
 * mutations reach the record parser instead of stopping at the checksum): a top-k base and a full one.
 */
export async function referenceBaseSeeds(): Promise<Uint8Array[]> {
  return inTempDir(async (dir) => {
    const seeds: Uint8Array[] = [];
    for (const [distribution, k, vocabulary] of [
      ['top-k', 4, 12],
      ['full', 6, 6],
    ] as const) {
      const path = join(dir, `${distribution}.bin`);
      const writer = await ReferenceBaseWriter.create(path, {
        identity: { model: 'org/model@abc', engine: 'onnx-ctc', device: 'cpu', dataset: 'demo, 2 utterances' },
        distribution,
        k,
        vocabulary,
      });
      for (const [id, text, count] of [
        ['u-1', 'a short text', 3],
        ['u-2', '', 2],
      ] as const) {
        const steps = Array.from({ length: count }, (_, step) => {
          const logits = Array.from({ length: vocabulary }, (_, token) => Math.sin(token * 7 + step * 3) * 4);
          return referenceStep(logits, 0, vocabulary, k)!;
        });
        await writer.append(id, text, steps);
      }
      await writer.commit();
      const bytes = await bytesOf(path);
      seeds.push(bytes.subarray(0, bytes.length - 32));
    }
    return seeds;
  });
}

/** A stored reference's and a stored candidate's results.json, and a stored spool's audio.json. */
export async function storedResultsSeeds(): Promise<Uint8Array[]> {
  return inTempDir(async (dir) => {
    const seeds: Uint8Array[] = [];
    const utterances = [
      { id: 'u-1', text: 'a short text' },
      { id: 'u-2', text: '' },
    ];
    const common = { device: 'cpu' as const, sampleRate: 16000, batchSize: 2, utterances };
    const transcripts = [
      { id: 'u-1', text: 'a short text', tokens: [3, 1, 4], ms: 12.5 },
      { id: 'u-2', text: '', tokens: [], ms: 3 },
    ];
    const failed = [{ id: 'u-3', error: 'FLAC: no fLaC marker' }];
    for (const record of [
      { ...common, transcripts, failed },
      {
        ...common,
        transcripts,
        failed: [],
        damages: [
          {
            id: 'u-1',
            klds: Float64Array.from([0.01, 0, 0.2]),
            top1: Uint8Array.from([1, 1, 0]),
            candidateLogProbs: Float64Array.from([-0.1, -Infinity, -2]),
            referenceLogProbs: Float64Array.from([-0.05, -0.5, -1.5]),
          },
        ],
      },
    ]) {
      const { path } = await writeVariantRecord(dir, record);
      seeds.push(await bytesOf(path));
    }
    const spool = await AudioSpool.create(dir);
    await spool.append([
      { id: 'u-1', text: 'a short text', sampleRate: 16000, audio: new Float32Array(40) },
      { id: 'u-2', text: '', sampleRate: 16000, audio: new Float32Array(60) },
    ]);
    const index = (await spool.storedFiles()).find(({ name }) => name === 'audio.json')!;
    seeds.push(await bytesOf(index.path));
    await spool.close();
    return seeds;
  });
}
