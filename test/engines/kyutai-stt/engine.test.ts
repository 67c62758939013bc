// The kyutai-stt engine end to end on a model folder around the golden weights: audio in, Mimi,
// the LM, the tokenizer, text out — the tokens exactly those of moshi's STT run.

import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../../src/common/errors.js';
import type { Progress } from '../../../src/common/progress.js';
import type { Utterance } from '../../../src/datasets/utterance.js';
import type { Engine, EngineFactory } from '../../../src/engines/engine.js';
import { createKyutaiSttEngineFactory } from '../../../src/engines/kyutai-stt/engine.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { goldenFloats, goldenInts, goldenTokenizerPieces, sentencePieceModel, writeGoldenModel } from './golden.js';

const PADDING_ID = 3;

let factory: EngineFactory;
let modelDir: string;
let reference: Engine;
let audio: Float32Array;
let expectedTokens: number[];
const loaded: string[] = [];

const progress: Progress = {
  task: (label) => {
    loaded.push(label);
    return { advance: () => undefined, finish: () => undefined };
  },
  info: () => undefined,
};

function utterance(id: string, samples: Float32Array): Utterance {
  return { id, audio: samples, sampleRate: 24000, text: '' };
}

beforeAll(async () => {
  factory = createKyutaiSttEngineFactory({ progress });
  modelDir = await writeGoldenModel(await makeTempDir());
  reference = await factory.open({ dir: modelDir }, { kind: 'reference' }, { device: 'cpu' });
  audio = await goldenFloats('audio_24k.f32');
  expectedTokens = Array.from(await goldenInts('text_tokens.i32')).filter((token) => token > PADDING_ID);
});

afterAll(async () => {
  await reference?.close();
  await removeTempDirs();
});

describe('kyutai-stt engine', () => {
  it('asks for 24 kHz audio and reports its loading', () => {
    expect(reference.name).toBe('kyutai-stt');
    expect(reference.sampleRate).toBe(24000);
    expect(reference.device).toBe('cpu');
    expect(loaded).toEqual([
      expect.stringMatching(/^Loading the Mimi encoder \(.*mimi-test\.safetensors\)$/),
      expect.stringMatching(/^Loading the reference LM \(.*model\.safetensors\)$/),
    ]);
  });

  it('transcribes the golden clip into the tokens of moshi’s STT run, decoded by the tokenizer', async () => {
    const [transcript] = await reference.transcribe([utterance('clip', audio)]);
    expect(transcript!.id).toBe('clip');
    expect(transcript!.tokens).toEqual(expectedTokens);
    // Even ids are pieces "▁wN" (a word start), odd ones "xN" (a word continuation).
    expect(transcript!.text).toBe(
      'w38 w38 w40 w4x35 w40x35 w10 w10x21 w4x27x27 w40 w14x45 w38 w14 w14x21x21 w4x11 w8 w32x7',
    );
  });

  it('transcribes a batch in parallel, each utterance as it would alone', async () => {
    const short = audio.slice(0, 30000);
    const [alone] = await reference.transcribe([utterance('short', short)]);
    const batch = await reference.transcribe([
      utterance('short', short),
      utterance('clip', audio),
      utterance('silence', new Float32Array(0)),
    ]);
    expect(batch.map(({ id }) => id)).toEqual(['short', 'clip', 'silence']);
    expect(batch[0]).toEqual(alone);
    expect(batch[1]!.tokens).toEqual(expectedTokens);
  });

  it('pads audio that is not a whole number of frames, as Kyutai’s script does', async () => {
    const padded = new Float32Array(30000 + (1920 - (30000 % 1920)));
    padded.set(audio.subarray(0, 30000));
    const [cut, whole] = await reference.transcribe([
      utterance('cut', audio.slice(0, 30000)),
      utterance('whole', padded),
    ]);
    expect(cut!.tokens).toEqual(whole!.tokens);
  });

  it('refuses audio at another rate: the datasets stage must resample it', async () => {
    await expect(reference.transcribe([{ ...utterance('a', audio), sampleRate: 16000 }])).rejects.toThrow(
      'utterance a is at 16000 Hz but the kyutai-stt engine asked for 24000 Hz',
    );
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(reference.transcribe([utterance('a', audio)], controller.signal)).rejects.toThrow('cancelled');
  });

  it('keeps its graphs’ weight files in tempDir while open, and removes them on close', async () => {
    const tempDir = await makeTempDir();
    const engine = await createKyutaiSttEngineFactory({ tempDir }).open(
      { dir: modelDir },
      { kind: 'reference' },
      { device: 'cpu' },
    );
    const folders = await readdir(tempDir);
    expect(folders).toHaveLength(2);
    expect(
      (await Promise.all(folders.map((folder) => readdir(join(tempDir, folder))))).map((files) => files.sort()),
    ).toEqual([
      ['model.onnx', 'weights.bin'],
      ['model.onnx', 'weights.bin'],
    ]);
    await engine.close();
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('runs the candidate from the quantized GGUF through the same pipeline', async () => {
    const { output } = await quantizeModel({ model: modelDir, outDir: join(await makeTempDir(), 'out'), threads: 1 });
    const transcripts: string[][] = [];
    for (const candidateMode of ['matmulnbits', 'dequant'] as const) {
      const candidate = await createKyutaiSttEngineFactory({ candidateMode }).open(
        { dir: modelDir },
        { kind: 'candidate', quantized: output! },
        { device: 'cpu' },
      );
      try {
        const [transcript] = await candidate.transcribe([utterance('clip', audio)]);
        transcripts.push([transcript!.text]);
        expect(transcript!.tokens!.every((token) => token > PADDING_ID)).toBe(true);
      } finally {
        await candidate.close();
      }
    }
    expect(transcripts[0]).toEqual(transcripts[1]);
  });
});

describe('kyutai-stt token scoring', () => {
  it('keeps each LM step’s top-k distribution, the reference’s tokens first, and transcribes as transcribe() does', async () => {
    const clips = [utterance('clip', audio), utterance('half', audio.subarray(0, 24000))];
    const [plain, scored] = [
      await reference.transcribe(clips),
      await reference.tokenScoring!.transcribeReference(clips, 8),
    ];
    expect(scored.map(({ transcript }) => transcript)).toEqual(plain);
    expect(scored[0]!.vocabulary).toBe(48);
    expect(scored[0]!.steps.map((step) => step.token)).toEqual(Array.from(await goldenInts('text_tokens.i32')));
    for (const step of scored[1]!.steps) {
      expect(step.ids).toHaveLength(8);
      expect(step.ids[0]).toBe(step.token);
      expect(step.logRest).toBeLessThan(0);
    }
  });

  it('compares the candidate, forced on the reference’s tokens, step by step; its transcript is its own free run', async () => {
    const clips = [utterance('clip', audio), utterance('half', audio.subarray(0, 24000))];
    const base = await reference.tokenScoring!.transcribeReference(clips, 48);
    const steps = new Map(base.map(({ transcript, steps: each }) => [transcript.id, each]));
    const { output } = await quantizeModel({ model: modelDir, outDir: join(await makeTempDir(), 'out'), threads: 1 });
    const candidate = await factory.open(
      { dir: modelDir },
      { kind: 'candidate', quantized: output! },
      { device: 'cpu' },
    );
    try {
      const scored = await candidate.tokenScoring!.transcribeAgainst(clips, (id) => steps.get(id)!);
      expect(scored.map(({ transcript }) => transcript)).toEqual(await candidate.transcribe(clips));
      for (const [index, { damage }] of scored.entries()) {
        expect(damage.klds).toHaveLength(base[index]!.steps.length);
        expect(Math.max(...damage.klds)).toBeGreaterThan(0);
      }
      await expect(candidate.tokenScoring!.transcribeAgainst(clips.slice(0, 1), () => base[1]!.steps)).rejects.toThrow(
        /^utterance clip: the candidate runs \d+ steps but the reference \d+; compare runs of the same audio and model$/,
      );
    } finally {
      await candidate.close();
    }
  });
});

describe('kyutai-stt model folders', () => {
  it('accepts a complete folder, and any kyutai/stt-* repo', async () => {
    expect(await factory.accepts({ dir: modelDir })).toBe(true);
    const empty = await makeTempDir();
    expect(await factory.accepts({ dir: empty })).toBe(false);
    expect(await factory.accepts({ dir: empty, repoId: 'kyutai/stt-1b-en_fr' })).toBe(true);
  });

  it('finds the files by the Hub’s names when config.json names none', async () => {
    const dir = await writeGoldenModel(await makeTempDir(), {
      moshi_name: undefined,
      mimi_name: undefined,
      tokenizer_name: undefined,
    });
    expect(await factory.accepts({ dir })).toBe(true);
    await writeFile(join(dir, 'other.model'), '');
    expect(await factory.accepts({ dir })).toBe(false);
  });

  it('names the missing file when opening an incomplete folder', async () => {
    const dir = await writeGoldenModel(await makeTempDir());
    await rm(join(dir, 'tokenizer.model'));
    const open = factory.open({ dir }, { kind: 'reference' }, { device: 'cpu' });
    await expect(open).rejects.toThrow(QuantgateError);
    await expect(open).rejects.toThrow(
      /is not a complete Kyutai STT model folder: it has no tokenizer\.model, which config\.json names as tokenizer_name; download the whole model repo/,
    );
  });

  it('refuses a tokenizer smaller than the LM’s text vocabulary', async () => {
    const dir = await writeGoldenModel(await makeTempDir());
    await writeFile(join(dir, 'tokenizer.model'), sentencePieceModel(goldenTokenizerPieces().slice(0, 40)));
    await expect(factory.open({ dir }, { kind: 'reference' }, { device: 'cpu' })).rejects.toThrow(
      /tokenizer\.model has 40 pieces but the LM predicts 48 text tokens/,
    );
  });

  it('refuses a config the graphs do not implement, naming the key', async () => {
    const dir = await writeGoldenModel(await makeTempDir(), { norm: 'layer_norm' });
    await expect(factory.open({ dir }, { kind: 'reference' }, { device: 'cpu' })).rejects.toThrow(
      /config\.json: norm "layer_norm" is not supported by the kyutai-stt engine/,
    );
  });
});
