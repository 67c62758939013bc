import { readFileSync } from 'node:fs';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { AudioDecoder } from '../../src/audio/decode.js';
import { resampledLength } from '../../src/audio/resample.js';
import { QuantgateError } from '../../src/common/errors.js';
import {
  isFailedUtterance,
  openDataset,
  type Dataset,
  type DatasetOptions,
  type DatasetSpec,
} from '../../src/datasets/dataset.js';
import { openParquetSource } from '../../src/datasets/parquet.js';
import type { DatasetSource } from '../../src/datasets/source.js';
import type { FailedUtterance, Utterance } from '../../src/datasets/utterance.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { startRangeServer, type RangeServer } from '../servers/range-server.js';
import { writeLibriSpeechParquet, type LibriSpeechRow } from './make-parquet.js';

const TEXTS = [
  'THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG',
  'SHE SELLS SEA SHELLS BY THE SEA SHORE',
  'A STITCH IN TIME SAVES NINE',
  'EVERY CLOUD HAS A SILVER LINING',
];
let dir: string;
let speech: Uint8Array[];
let decodedSpeech: Float32Array[];
let rows: LibriSpeechRow[];
const servers: RangeServer[] = [];

const utteranceId = (i: number) => `1089-134686-${String(i).padStart(4, '0')}`;

beforeAll(async () => {
  dir = await makeTempDir();
  speech = await Promise.all(
    [1, 2, 3, 4].map(async (n) => new Uint8Array(await readFile(fixture('audio', `speech-${n}.flac`)))),
  );
  const decoder = new AudioDecoder();
  decodedSpeech = [];
  for (const bytes of speech) decodedSpeech.push((await decoder.decode(bytes)).samples);
  decoder.close();
  rows = Array.from({ length: 12 }, (_, i) => ({ id: utteranceId(i), text: TEXTS[i % 4]!, audio: speech[i % 4]! }));
  await writeLibriSpeechParquet(join(dir, 'test.parquet'), rows, 2);
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await removeTempDirs();
});

async function readAll(
  spec: DatasetSpec,
  options: Partial<DatasetOptions> = {},
): Promise<{ dataset: Dataset; items: (Utterance | FailedUtterance)[] }> {
  const dataset = await openDataset(spec, { sampleRate: 16000, ...options });
  try {
    const items = [];
    for await (const item of dataset) items.push(item);
    return { dataset, items };
  } finally {
    await dataset.close();
  }
}

const utterances = (items: (Utterance | FailedUtterance)[]) =>
  items.filter((item): item is Utterance => !isFailedUtterance(item));

describe('parquet datasets (openslr/librispeech_asr layout)', () => {
  it('yields the first N utterances in order with their transcripts and decoded audio', async () => {
    const spec: DatasetSpec = {
      kind: 'parquet',
      files: [join(dir, 'test.parquet')],
      name: 'openslr/librispeech_asr',
      split: 'test.clean',
      revision: '71cacbfb',
    };
    const { dataset, items } = await readAll(spec, { maxSamples: 5 });
    expect(dataset.info).toEqual({
      kind: 'parquet',
      name: 'openslr/librispeech_asr',
      split: 'test.clean',
      revision: '71cacbfb',
      available: 12,
      selected: 5,
    });
    expect(items.map((item) => item.id)).toEqual([0, 1, 2, 3, 4].map(utteranceId));
    const good = utterances(items);
    expect(good.map((item) => item.text)).toEqual([0, 1, 2, 3, 0].map((i) => TEXTS[i]));
    good.forEach((item, i) => {
      expect(item.sampleRate).toBe(16000);
      expect(item.audio).toEqual(decodedSpeech[i % 4]);
    });
  });

  it('resamples to the rate the engine asks for', async () => {
    const { items } = await readAll(
      { kind: 'parquet', files: [join(dir, 'test.parquet')] },
      { sampleRate: 24000, maxSamples: 2 },
    );
    expect(utterances(items).map((item) => [item.sampleRate, item.audio.length])).toEqual(
      [0, 1].map((i) => [24000, resampledLength(decodedSpeech[i]!.length, 16000, 24000)]),
    );
  });

  it('orders files by name and shards across a file boundary', async () => {
    await writeLibriSpeechParquet(join(dir, 'part-b.parquet'), rows.slice(6), 4);
    await writeLibriSpeechParquet(join(dir, 'part-a.parquet'), rows.slice(0, 6), 4);
    const spec: DatasetSpec = { kind: 'parquet', files: [join(dir, 'part-b.parquet'), join(dir, 'part-a.parquet')] };
    const all = await readAll(spec, { maxSamples: 0 });
    expect(all.items.map((item) => item.id)).toEqual(rows.map((row) => row.id));
    const shard = await readAll(spec, { maxSamples: 0, shard: { index: 1, count: 3 } });
    expect(shard.dataset.info.selected).toBe(4);
    expect(shard.items.map((item) => item.id)).toEqual([4, 5, 6, 7].map(utteranceId));
  });

  it('reads any parquet dataset with configured columns, ids falling back to row positions', async () => {
    const path = join(dir, 'generic.parquet');
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'sentence', data: ['first', 'second', 'third'] },
        { name: 'speech', data: [speech[0]!, speech[1]!, speech[2]!] },
      ],
      schema: [
        { name: 'schema', num_children: 2 },
        { name: 'sentence', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'speech', type: 'BYTE_ARRAY', repetition_type: 'REQUIRED' },
      ],
      rowGroupSize: 2,
    });
    await writeFile(path, new Uint8Array(buffer));
    const { items } = await readAll(
      { kind: 'parquet', files: [path], columns: { audio: 'speech', text: 'sentence' } },
      { maxSamples: 0 },
    );
    expect(utterances(items).map(({ id, text, audio }) => [id, text, audio.length])).toEqual([
      ['0', 'first', decodedSpeech[0]!.length],
      ['1', 'second', decodedSpeech[1]!.length],
      ['2', 'third', decodedSpeech[2]!.length],
    ]);
  });

  it.each([
    [
      { text: 'transcription' },
      `no column "transcription" (columns: file, audio, text, speaker_id, chapter_id, id); set --text-column to the column holding the transcripts`,
    ],
    [
      { audio: 'speaker_id' },
      `column "speaker_id" is INT64, not audio (a struct with a binary "bytes" field, or binary); set --audio-column`,
    ],
    [{ text: 'audio' }, `column "audio" is a struct of bytes, path, not text; set --text-column`],
    [{ id: 'utterance' }, `no column "utterance"`],
  ])('names a missing or mistyped column %j, the columns present and the option', async (columns, message) => {
    const error = await openDataset(
      { kind: 'parquet', files: [join(dir, 'test.parquet')], columns },
      { sampleRate: 16000 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QuantgateError);
    expect((error as Error).message).toContain(message);
  });

  it('refuses files that are not parquet, or missing', async () => {
    await writeFile(join(dir, 'not.parquet'), 'just text, no footer');
    await expect(
      openDataset({ kind: 'parquet', files: [join(dir, 'not.parquet')] }, { sampleRate: 16000 }),
    ).rejects.toThrow(/not\.parquet is not a readable parquet file \(.*\); download it again/);
    await expect(
      openDataset({ kind: 'parquet', files: [join(dir, 'absent.parquet')] }, { sampleRate: 16000 }),
    ).rejects.toThrow(
      /cannot read .*absent\.parquet \(.*ENOENT: no such file or directory.*\); check the dataset path$/,
    );
  });
});

describe('the reader process', () => {
  /** The reader processes this process started (Linux's /proc): node with the reader's heap limit. */
  function readers(): string[] {
    const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim();
    return children
      .split(' ')
      .filter((pid) => pid !== '')
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--max-old-space-size=512');
        } catch {
          return false; // gone meanwhile
        }
      });
  }

  async function ids(source: DatasetSource, start: number, end: number): Promise<string[]> {
    const read = [];
    for await (const record of source.records(start, end)) read.push(`${record.id} ${(await record.load()).text}`);
    return read;
  }

  it('serves sources one after another and side by side, and ends 2 s after the last one closes', async () => {
    const expected = (start: number, end: number) => rows.slice(start, end).map((row) => `${row.id} ${row.text}`);
    const first = await openParquetSource({ files: [join(dir, 'test.parquet')] });
    await writeLibriSpeechParquet(join(dir, 'beside-b.parquet'), rows.slice(6), 4);
    await writeLibriSpeechParquet(join(dir, 'beside-a.parquet'), rows.slice(0, 6), 4);
    const second = await openParquetSource({
      files: [join(dir, 'beside-b.parquet'), join(dir, 'beside-a.parquet')],
    });
    expect(await ids(first, 0, 3)).toEqual(expected(0, 3));
    expect(await ids(second, 5, 8)).toEqual(expected(5, 8));
    expect(await ids(first, 9, 12)).toEqual(expected(9, 12));
    const serving = readers();
    expect(serving).toHaveLength(1);
    await first.close();
    await second.close();
    const third = await openParquetSource({ files: [join(dir, 'test.parquet')] });
    expect(await ids(third, 11, 12)).toEqual(expected(11, 12));
    expect(readers()).toEqual(serving);
    await third.close();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(readers()).toEqual([]);
  });
});

describe('failed utterances in parquet rows', () => {
  let path: string;
  beforeAll(async () => {
    const corrupt = speech[1]!.slice();
    corrupt[Math.floor(corrupt.length / 2)]! ^= 0x40;
    path = join(dir, 'damaged.parquet');
    await writeLibriSpeechParquet(
      path,
      [
        rows[0]!,
        { ...rows[1]!, audio: corrupt },
        rows[2]!,
        { ...rows[3]!, audio: null },
        { ...rows[4]!, text: null },
        rows[5]!,
      ],
      2,
    );
  });

  it('with --max-failed-utterances 0, stops at the first and names it', async () => {
    const dataset = await openDataset({ kind: 'parquet', files: [path] }, { sampleRate: 16000, maxSamples: 0 });
    const seen: string[] = [];
    const run = async () => {
      for await (const item of dataset) seen.push(item.id);
    };
    await expect(run()).rejects.toThrow(
      `1 utterance failed, more than --max-failed-utterances 0 allows: ${utteranceId(1)} (FLAC: decoded`,
    );
    expect(seen).toEqual([utteranceId(0)]);
    await dataset.close();
  });

  it('within the limit, yields each failure in place and carries on', async () => {
    const { items } = await readAll({ kind: 'parquet', files: [path] }, { maxSamples: 0, maxFailedUtterances: 3 });
    expect(items.map((item) => [item.id, isFailedUtterance(item)])).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => [utteranceId(i), [1, 3, 4].includes(i)]),
    );
    const failures = items.filter(isFailedUtterance).map((item) => item.error);
    expect(failures[0]).toMatch(/^FLAC: decoded \d+ of the \d+ samples STREAMINFO declares/);
    expect(failures[1]).toBe(
      `row 3 has no audio bytes in column "audio" (only a path, ${utteranceId(3)}.flac); use a dataset revision that embeds the audio, such as refs/convert/parquet`,
    );
    expect(failures[2]).toBe('row 4 has no transcript in column "text"; fix the dataset or remove the row');
  });

  it('one past the limit throws, naming every failure so far', async () => {
    await expect(
      readAll({ kind: 'parquet', files: [path] }, { maxSamples: 0, maxFailedUtterances: 2 }),
    ).rejects.toThrow(
      new RegExp(
        `^3 utterances failed, more than --max-failed-utterances 2 allows: ${utteranceId(1)} \\(FLAC: .*\\), ${utteranceId(3)} \\(row 3 has no audio bytes.*\\), ${utteranceId(4)} \\(row 4 has no transcript.*\\); fix or remove them, or raise --max-failed-utterances$`,
      ),
    );
  });
});

describe('parquet over HTTP range requests', () => {
  let big: string;
  let size: number;
  beforeAll(async () => {
    big = join(dir, 'remote.parquet');
    await writeLibriSpeechParquet(
      big,
      Array.from({ length: 80 }, (_, i) => ({ id: utteranceId(i), text: TEXTS[i % 4]!, audio: speech[i % 4]! })),
      2,
    );
    size = (await stat(big)).size;
  });
  const serve = async (options: Omit<Parameters<typeof startRangeServer>[0], 'files'> = {}) => {
    const server = await startRangeServer({ files: { '/datasets/test.parquet': big }, ...options });
    servers.push(server);
    return server;
  };

  it('reads the first N utterances with range requests, fetching a small part of the file', async () => {
    const server = await serve({ etag: true });
    const { items } = await readAll(
      { kind: 'parquet', files: [server.urlFor('/datasets/test.parquet')] },
      { maxSamples: 3 },
    );
    expect(utterances(items).map(({ id, audio }) => [id, audio])).toEqual(
      [0, 1, 2].map((i) => [utteranceId(i), decodedSpeech[i]]),
    );
    const gets = server.requests.filter((request) => request.method === 'GET');
    expect(gets.length).toBeGreaterThan(1);
    expect(gets.every((request) => request.range !== undefined && request.status === 206)).toBe(true);
    expect(server.bytesSent()).toBeLessThan(size * 0.1);
  });

  it('reads only the shard it is asked for', async () => {
    const server = await serve();
    const { items } = await readAll(
      { kind: 'parquet', files: [server.urlFor('/datasets/test.parquet')] },
      { maxSamples: 0, shard: { index: 3, count: 4 } },
    );
    expect(items.map((item) => item.id)).toEqual(Array.from({ length: 20 }, (_, i) => utteranceId(60 + i)));
    expect(server.bytesSent()).toBeLessThan(size * 0.3);
  });

  it('sizes the file with a one-byte range where HEAD is refused', async () => {
    const server = await serve({ fault: (request) => (request.method === 'HEAD' ? 403 : undefined) });
    const { items } = await readAll(
      { kind: 'parquet', files: [server.urlFor('/datasets/test.parquet')] },
      { maxSamples: 1 },
    );
    expect(items.map((item) => item.id)).toEqual([utteranceId(0)]);
    expect(server.requests[1]).toMatchObject({ method: 'GET', range: 'bytes=0-0', status: 206, bytes: 1 });
  });

  it('refuses a server that ignores ranges rather than downloading everything', async () => {
    const server = await serve({ ranges: false });
    await expect(
      openDataset({ kind: 'parquet', files: [server.urlFor('/datasets/test.parquet')] }, { sampleRate: 16000 }),
    ).rejects.toThrow(
      /test\.parquet: the server ignores HTTP Range requests, so the file cannot be streamed; download it and pass the local path$/,
    );
  });

  it('retries transient server errors, timeouts and dropped connections, logging each retry', async () => {
    const faults: (503 | 408 | 'drop')[] = [503, 'drop', 408];
    const server = await serve({ fault: (request) => (request.method === 'GET' ? faults.shift() : undefined) });
    const lines: string[] = [];
    const { items } = await readAll(
      {
        kind: 'parquet',
        files: [server.urlFor('/datasets/test.parquet')],
        http: { retry: { baseDelayMs: 1 }, log: (line) => lines.push(line) },
      },
      { maxSamples: 1 },
    );
    expect(items.map((item) => item.id)).toEqual([utteranceId(0)]);
    expect(server.requests.slice(1, 5).map(({ status }) => status)).toEqual([503, 0, 408, 206]);
    const url = server.urlFor('/datasets/test.parquet');
    expect(lines).toEqual([
      `reading ${url}: HTTP 503 Service Unavailable; try 2 of 5 in 0.0 s`,
      `reading ${url}: UND_ERR_SOCKET: other side closed; try 3 of 5 in 0.0 s`,
      `reading ${url}: HTTP 408 Request Timeout; try 4 of 5 in 0.0 s`,
    ]);
  });

  it('gives up after the last attempt, and names HTTP errors', async () => {
    const down = await serve({ fault: () => 503 });
    await expect(
      openDataset(
        {
          kind: 'parquet',
          files: [down.urlFor('/datasets/test.parquet')],
          http: { retry: { baseDelayMs: 1, attempts: 2 } },
        },
        { sampleRate: 16000 },
      ),
    ).rejects.toThrow(
      /test\.parquet: HTTP 503 Service Unavailable after 2 attempts; check the network or the server, then run again$/,
    );
    const unreachable = await serve({ fault: () => 'drop' });
    await expect(
      openDataset(
        {
          kind: 'parquet',
          files: [unreachable.urlFor('/datasets/test.parquet')],
          http: { retry: { baseDelayMs: 1, attempts: 2 } },
        },
        { sampleRate: 16000 },
      ),
    ).rejects.toThrow(
      /test\.parquet: UND_ERR_SOCKET: other side closed after 2 attempts; check the network or the server, then run again$/,
    );
    const server = await serve();
    await expect(
      openDataset({ kind: 'parquet', files: [server.urlFor('/datasets/missing.parquet')] }, { sampleRate: 16000 }),
    ).rejects.toThrow(/missing\.parquet: HTTP 404 Not Found; check the URL, the dataset name and its revision$/);
  });

  it('refuses a file that changes on the server while being read', async () => {
    const server = await serve({ etag: true });
    const dataset = await openDataset(
      { kind: 'parquet', files: [server.urlFor('/datasets/test.parquet')] },
      { sampleRate: 16000, maxSamples: 1 },
    );
    const later = new Date(Date.now() + 60_000);
    await utimes(big, later, later);
    const run = async () => {
      for await (const item of dataset) expect(item).toBeDefined();
    };
    await expect(run()).rejects.toThrow(
      /changed on the server while being read \(ETag ".*" became ".*"\); pin the dataset revision and run again$/,
    );
    await dataset.close();
  });
});
