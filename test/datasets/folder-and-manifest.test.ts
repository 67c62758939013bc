import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AudioDecoder } from '../../src/audio/decode.js';
import { isFailedUtterance, openDataset, type DatasetSpec } from '../../src/datasets/dataset.js';
import type { FailedUtterance, Utterance } from '../../src/datasets/utterance.js';
import { pcm16Wav } from '../audio/make-wav.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { quantgateRejection } from '../helpers/rejection.js';

let root: string;
let decodedSpeech: Float32Array[];

beforeAll(async () => {
  root = await makeTempDir();
  const decoder = new AudioDecoder();
  decodedSpeech = [];
  for (const n of [1, 2, 3, 4])
    decodedSpeech.push(
      (await decoder.decode(new Uint8Array(await readFile(fixture('audio', `speech-${n}.flac`))))).samples,
    );
  decoder.close();
});
afterAll(() => removeTempDirs());

async function collect(spec: DatasetSpec, maxFailedUtterances = 0): Promise<(Utterance | FailedUtterance)[]> {
  const dataset = await openDataset(spec, { sampleRate: 16000, maxSamples: 0, maxFailedUtterances });
  const items = [];
  for await (const item of dataset) items.push(item);
  await dataset.close();
  return items;
}

describe('LibriSpeech folders', () => {
  let split: string;
  beforeAll(async () => {
    split = join(root, 'LibriSpeech', 'test-clean');
    const chapters = {
      '1089/134686': ['1089-134686-0000', '1089-134686-0001', '1089-134686-0002'],
      '121/121726': ['121-121726-0000', '121-121726-0001'],
    };
    let n = 0;
    for (const [chapter, ids] of Object.entries(chapters)) {
      const folder = join(split, chapter);
      await mkdir(folder, { recursive: true });
      const lines = ids.map(
        (id, i) =>
          `${id} ${['HE HOPED THERE WOULD BE STEW FOR DINNER', 'STUFF IT INTO YOU', 'AFTER EARLY NIGHTFALL'][i % 3]}`,
      );
      await writeFile(join(folder, `${chapter.replace('/', '-')}.trans.txt`), `${lines.join('\n')}\n`);
      for (const id of ids)
        if (id !== '121-121726-0001')
          await copyFile(fixture('audio', `speech-${(n++ % 4) + 1}.flac`), join(folder, `${id}.flac`));
    }
  });

  it('reads transcripts in path order, lines in file order, audio beside them', async () => {
    const items = await collect({ kind: 'librispeech', dir: split }, 1);
    expect(items.map((item) => item.id)).toEqual([
      '1089-134686-0000',
      '1089-134686-0001',
      '1089-134686-0002',
      '121-121726-0000',
      '121-121726-0001',
    ]);
    const [first] = items as Utterance[];
    expect(first).toMatchObject({ text: 'HE HOPED THERE WOULD BE STEW FOR DINNER', sampleRate: 16000 });
    expect(first!.audio).toEqual(decodedSpeech[0]);
    expect(isFailedUtterance(items[4]!) && items[4].error).toMatch(
      /^cannot read its audio file .*121-121726-0001\.flac \(.*ENOENT.*\); restore the file or remove the utterance$/,
    );
  });

  it('reports its kind, folder and split name', async () => {
    const dataset = await openDataset({ kind: 'librispeech', dir: split }, { sampleRate: 16000, maxSamples: 4 });
    expect(dataset.info).toEqual({ kind: 'librispeech', name: split, split: 'test-clean', available: 5, selected: 4 });
    await dataset.close();
  });

  it('names a malformed transcript line, and a folder without transcripts', async () => {
    const bad = join(root, 'bad', '1', '2');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, '1-2.trans.txt'), '1-2-0000 FINE\n1-2-0001\n');
    expect(
      (await quantgateRejection(openDataset({ kind: 'librispeech', dir: join(root, 'bad') }, { sampleRate: 16000 })))
        .message,
    ).toBe(`${join(bad, '1-2.trans.txt')} line 2: expected "ID TRANSCRIPT"; fix that line`);
    await mkdir(join(root, 'empty'));
    expect(
      (await quantgateRejection(openDataset({ kind: 'librispeech', dir: join(root, 'empty') }, { sampleRate: 16000 })))
        .message,
    ).toMatch(/^no \*\.trans\.txt files under .*empty; point the dataset at a LibriSpeech split folder/);
    expect(
      (await quantgateRejection(openDataset({ kind: 'librispeech', dir: join(root, 'absent') }, { sampleRate: 16000 })))
        .message,
    ).toMatch(/^cannot list the dataset folder .*absent \(.*ENOENT/);
  });
});

describe('manifests', () => {
  let dir: string;
  const tone = (seconds: number, rate: number) =>
    pcm16Wav(
      Array.from({ length: Math.round(seconds * rate) }, (_, i) => 0.3 * Math.sin(i / 3)),
      rate,
    );
  beforeAll(async () => {
    dir = join(root, 'manifest');
    await mkdir(join(dir, 'clips'), { recursive: true });
    await writeFile(join(dir, 'clips', 'a.wav'), tone(0.5, 8000));
    await copyFile(fixture('audio', 'speech-3.flac'), join(dir, 'clips', 'b.flac'));
  });

  it('reads JSON Lines over WAV and FLAC, paths relative to the manifest, absolute ones too', async () => {
    const path = join(dir, 'set.jsonl');
    const lines = [
      { id: 'a', audio: 'clips/a.wav', text: 'first clip' },
      { id: 'b', audio: join(dir, 'clips', 'b.flac'), text: 'a stitch in time' },
    ];
    await writeFile(path, `${JSON.stringify(lines[0])}\n\n${JSON.stringify(lines[1])}\n`);
    const items = (await collect({ kind: 'manifest', path })) as Utterance[];
    expect(items.map(({ id, text, sampleRate }) => [id, text, sampleRate])).toEqual([
      ['a', 'first clip', 16000],
      ['b', 'a stitch in time', 16000],
    ]);
    expect(items[0]!.audio.length).toBe(8000); // 0.5 s of 8 kHz audio, resampled
    expect(items[1]!.audio).toEqual(decodedSpeech[2]);
  });

  it('reads CSV with quoting, columns in any order and extra columns', async () => {
    const path = join(dir, 'set.csv');
    await writeFile(
      path,
      'text,speaker,audio,id\r\n"hello, ""world""",s1,clips/a.wav,a\r\nplain,s2,clips/b.flac,b\r\n',
    );
    const items = await collect({ kind: 'manifest', path });
    expect(items.map((item) => [item.id, (item as Utterance).text])).toEqual([
      ['a', 'hello, "world"'],
      ['b', 'plain'],
    ]);
  });

  it('fails an utterance whose audio file is missing or not audio', async () => {
    const path = join(dir, 'gaps.jsonl');
    await writeFile(join(dir, 'clips', 'notes.txt'), 'not audio');
    await writeFile(
      path,
      ['clips/a.wav', 'clips/gone.wav', 'clips/notes.txt']
        .map((audio, i) => JSON.stringify({ id: `u${i}`, audio, text: 'x' }))
        .join('\n'),
    );
    const items = await collect({ kind: 'manifest', path }, 2);
    expect(items.map((item) => (isFailedUtterance(item) ? item.error : 'ok'))).toEqual([
      'ok',
      expect.stringMatching(/^cannot read its audio file .*gone\.wav/),
      'the file starts with bytes 6e 6f 74 20, not WAV or FLAC; convert the audio to WAV or FLAC',
    ]);
  });

  it.each([
    [
      'bad.jsonl',
      '{"id":"a","audio":"a.wav","text":"x"}\n\n{"id": "b", audio}\n',
      /^.*bad\.jsonl line 3: not valid JSON \(.*\); fix that line$/,
    ],
    [
      'array.jsonl',
      '["a", "a.wav", "x"]\n',
      /array\.jsonl line 1: expected an object with "id", "audio" and "text"; fix that line$/,
    ],
    [
      'field.jsonl',
      '{"id":"a","audio":"a.wav","text":"x"}\n{"id":"b","audio":"b.wav"}\n',
      /field\.jsonl line 2: "text" must be a string; fix that line$/,
    ],
    [
      'empty-id.jsonl',
      '{"id":"","audio":"a.wav","text":"x"}\n',
      /empty-id\.jsonl line 1: "id" must be a non-empty string/,
    ],
    [
      'header.csv',
      'id,path,text\na,a.wav,x\n',
      /header\.csv line 1: the header lacks audio \(it has id, path, text\); the header must name id, audio and text$/,
    ],
    [
      'fields.csv',
      'id,audio,text\na,a.wav,x\nb,b.wav,one, two\n',
      /fields\.csv line 3: 4 fields where the header has 3; quote fields that contain commas$/,
    ],
    ['quote.csv', 'id,audio,text\na,a.wav,"open\n', /quote\.csv line 2: a quoted field is never closed/],
    [
      'list.txt',
      'a a.wav x\n',
      /list\.txt: a manifest must be JSON Lines \(\.jsonl, \.ndjson\) or CSV \(\.csv\); rename or convert it$/,
    ],
  ])('names the line of a malformed manifest: %s', async (name, content, message) => {
    const path = join(dir, name);
    await writeFile(path, content);
    expect((await quantgateRejection(openDataset({ kind: 'manifest', path }, { sampleRate: 16000 }))).message).toMatch(
      message,
    );
  });
});
