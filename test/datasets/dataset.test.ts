import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  datasetSpecFromPath,
  isFailedUtterance,
  openDataset,
  type DatasetOptions,
  type DatasetSpec,
} from '../../src/datasets/dataset.js';
import type { FailedUtterance, Utterance } from '../../src/datasets/utterance.js';
import { pcm16Wav } from '../audio/make-wav.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { quantgateRejection } from '../helpers/rejection.js';

let dir: string;
let manifest: string;
const SECONDS = [0.5, 1.25, 0.75, 2, 0.25, 1, 0.5];

beforeAll(async () => {
  dir = await makeTempDir();
  await mkdir(join(dir, 'clips'));
  const lines = [];
  for (const [i, seconds] of SECONDS.entries()) {
    const samples = Array.from({ length: seconds * 8000 }, (_, t) => 0.2 * Math.sin((t * (i + 1)) / 7));
    await writeFile(join(dir, 'clips', `${i}.wav`), pcm16Wav(samples, 8000));
    lines.push(JSON.stringify({ id: `utt-${i}`, audio: `clips/${i}.wav`, text: `utterance ${i}` }));
  }
  manifest = join(dir, 'set.jsonl');
  await writeFile(manifest, lines.join('\n'));
});
afterAll(() => removeTempDirs());

async function collect(
  spec: DatasetSpec,
  options: Partial<DatasetOptions> = {},
): Promise<(Utterance | FailedUtterance)[]> {
  const dataset = await openDataset(spec, { sampleRate: 16000, ...options });
  try {
    const items = [];
    for await (const item of dataset) items.push(item);
    return items;
  } finally {
    await dataset.close();
  }
}

describe('openDataset', () => {
  it('merged shards equal the unsharded selection, utterance for utterance', async () => {
    const whole = await collect({ kind: 'manifest', path: manifest }, { maxSamples: 6 });
    expect(whole.map((item) => item.id)).toEqual(['utt-0', 'utt-1', 'utt-2', 'utt-3', 'utt-4', 'utt-5']);
    for (const count of [1, 2, 4, 6]) {
      const shards = [];
      for (let index = 0; index < count; index++)
        shards.push(
          ...(await collect({ kind: 'manifest', path: manifest }, { maxSamples: 6, shard: { index, count } })),
        );
      expect(shards).toEqual(whole);
    }
  });

  it('yields the same utterances on every pass', async () => {
    const dataset = await openDataset({ kind: 'manifest', path: manifest }, { sampleRate: 24000, maxSamples: 3 });
    const pass = async () => {
      const items = [];
      for await (const item of dataset) items.push(item);
      return items;
    };
    const first = await pass();
    expect(first.map((item) => (item as Utterance).audio.length)).toEqual(
      [0.5, 1.25, 0.75].map((seconds) => seconds * 24000),
    );
    expect(await pass()).toEqual(first);
    await dataset.close();
  });

  it('fails utterances longer than --max-duration, counting them toward --max-samples', async () => {
    const items = await collect(
      { kind: 'manifest', path: manifest },
      { maxSamples: 5, maxDurationSeconds: 1.25, maxFailedUtterances: 1 },
    );
    expect(items.map((item) => item.id)).toEqual(['utt-0', 'utt-1', 'utt-2', 'utt-3', 'utt-4']);
    expect(items.filter(isFailedUtterance)).toEqual([
      {
        id: 'utt-3',
        error: 'its audio lasts 2.0 s, over --max-duration 1.25 s; raise --max-duration or remove the utterance',
      },
    ]);
  });

  it('refuses an empty dataset, an empty shard and duplicate ids', async () => {
    await writeFile(join(dir, 'empty.jsonl'), '\n');
    expect(
      (
        await quantgateRejection(
          openDataset({ kind: 'manifest', path: join(dir, 'empty.jsonl') }, { sampleRate: 16000 }),
        )
      ).message,
    ).toBe(`the dataset ${join(dir, 'empty.jsonl')} has no utterances; check its path`);
    expect(
      (
        await quantgateRejection(
          openDataset(
            { kind: 'manifest', path: manifest },
            { sampleRate: 16000, maxSamples: 2, shard: { index: 0, count: 3 } },
          ),
        )
      ).message,
    ).toBe('shard 1/3 selects none of the 2 utterances; use at most 2 shards');
    await writeFile(
      join(dir, 'twice.jsonl'),
      ['a', 'b', 'a'].map((id, i) => JSON.stringify({ id, audio: `clips/${i}.wav`, text: 'x' })).join('\n'),
    );
    expect((await quantgateRejection(collect({ kind: 'manifest', path: join(dir, 'twice.jsonl') }))).message).toBe(
      `utterance id "a" occurs twice in ${join(dir, 'twice.jsonl')}; ids must be unique — fix the dataset`,
    );
  });

  it.each([
    [{ sampleRate: 0 }, 'the target sample rate 0 Hz is not an integer between 1 and 192000'],
    [{ maxDurationSeconds: 0 }, '--max-duration must be a number of seconds > 0, got 0'],
    [{ maxFailedUtterances: -1 }, '--max-failed-utterances must be a whole number ≥ 0, got -1'],
    [{ maxSamples: -2 }, '--max-samples must be a whole number ≥ 0 (0 for all), got -2'],
    [{ shard: { index: 2, count: 2 } }, '--shard 3/2 is not a shard'],
  ])('rejects bad options %j before opening the dataset', async (options, message) => {
    expect(
      (
        await quantgateRejection(
          openDataset({ kind: 'manifest', path: join(dir, 'absent.jsonl') }, { sampleRate: 16000, ...options }),
        )
      ).message,
    ).toContain(message);
  });
});

describe('datasetSpecFromPath', () => {
  it('tells datasets apart by extension and folder contents', async () => {
    expect(await datasetSpecFromPath('data/test.parquet')).toEqual({ kind: 'parquet', files: ['data/test.parquet'] });
    expect(
      await datasetSpecFromPath('https://host/datasets/x/resolve/main/clean/test/0000.parquet?download=1'),
    ).toEqual({ kind: 'parquet', files: ['https://host/datasets/x/resolve/main/clean/test/0000.parquet?download=1'] });
    expect(await datasetSpecFromPath('set.jsonl')).toEqual({ kind: 'manifest', path: 'set.jsonl' });
    expect(await datasetSpecFromPath('set.CSV')).toEqual({ kind: 'manifest', path: 'set.CSV' });

    const parquetFolder = join(dir, 'parquet-folder');
    await mkdir(parquetFolder);
    await writeFile(join(parquetFolder, '0001.parquet'), '');
    await writeFile(join(parquetFolder, '0000.parquet'), '');
    await writeFile(join(parquetFolder, 'README.md'), '');
    const spec = await datasetSpecFromPath(parquetFolder);
    expect(spec).toEqual({
      kind: 'parquet',
      name: parquetFolder,
      files: expect.arrayContaining([join(parquetFolder, '0000.parquet'), join(parquetFolder, '0001.parquet')]),
    });
    expect(spec.kind === 'parquet' && spec.files).toHaveLength(2);

    const libri = join(dir, 'libri', '1', '2');
    await mkdir(libri, { recursive: true });
    await copyFile(fixture('audio', 'speech-1.flac'), join(libri, '1-2-0000.flac'));
    expect(await datasetSpecFromPath(join(dir, 'libri'))).toEqual({ kind: 'librispeech', dir: join(dir, 'libri') });
  });

  it('names what it cannot use', async () => {
    expect((await quantgateRejection(datasetSpecFromPath('https://host/set.jsonl'))).message).toBe(
      'https://host/set.jsonl: only parquet files can be read from a URL; download the dataset and pass its local path',
    );
    expect((await quantgateRejection(datasetSpecFromPath(join(dir, 'nothing-here')))).message).toMatch(
      /^cannot read the dataset .*nothing-here \(.*ENOENT.*\); check the path$/,
    );
    expect((await quantgateRejection(datasetSpecFromPath(join(dir, 'clips', '0.wav')))).message).toBe(
      `${join(dir, 'clips', '0.wav')} is not a dataset: pass a .parquet file, a .jsonl or .csv manifest, or a LibriSpeech folder`,
    );
  });
});
