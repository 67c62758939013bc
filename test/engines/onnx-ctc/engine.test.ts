import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Utterance } from '../../../src/datasets/utterance.js';
import type { QuantizedModel, Variant } from '../../../src/engines/engine.js';
import { ModelBuilder } from '../../../src/engines/onnx/builder.js';
import { writeModel } from '../../../src/engines/onnx/model.js';
import { createOnnxCtcEngineFactory, type OnnxCtcEngine } from '../../../src/engines/onnx-ctc/engine.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { writeTestModel } from '../../helpers/model.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { recordingProgress } from '../../helpers/progress.js';
import {
  CONV_WEIGHT,
  HEAD_WEIGHT,
  ONNX_HEAD_WEIGHT,
  SAMPLE_RATE,
  speak,
  tokenIds,
  writeCtcModelFolder,
  type FrameConfig,
  type Token,
} from './ctc-test-model.js';

afterAll(removeTempDirs);

interface Case {
  id: string;
  frames: Token[];
  tail?: number;
  text: string;
  tokens: Token[];
}

const CASES: Case[] = [
  {
    id: 'hello',
    frames: ['h', 'h', 'e', 'l', 'l', '<pad>', 'l', 'o', 'o', '|', 'w', 'o', 'r', 'l', 'd', 'd'],
    text: 'hello world',
    tokens: ['h', 'e', 'l', 'l', 'o', '|', 'w', 'o', 'r', 'l', 'd'],
  },
  {
    id: 'specials',
    frames: ['<s>', 'o', '<pad>', 'l', 'd', '</s>'],
    tail: 7,
    text: 'old',
    tokens: ['<s>', 'o', 'l', 'd', '</s>'],
  },
  {
    id: 'unknown',
    frames: ['|', 'h', 'e', 'r', 'o', '<unk>', '<unk>'],
    text: 'hero',
    tokens: ['|', 'h', 'e', 'r', 'o', '<unk>'],
  },
  { id: 'short', frames: ['w', 'e'], tail: 31, text: 'we', tokens: ['w', 'e'] },
];

function utterance({ id, frames, tail }: Case): Utterance {
  return { id, audio: speak(frames, { tail: tail ?? 0 }), sampleRate: SAMPLE_RATE, text: '' };
}

const expected = CASES.map(({ id, text, tokens }) => ({ id, text, tokens: tokenIds(tokens) }));
const reference: Variant = { kind: 'reference' };

async function withEngine<T>(
  dir: string,
  variant: Variant,
  use: (engine: OnnxCtcEngine) => Promise<T>,
  options: Parameters<typeof createOnnxCtcEngineFactory>[0] = {},
): Promise<T> {
  const engine = await createOnnxCtcEngineFactory(options).open({ dir }, variant, { device: 'cpu' });
  try {
    return await use(engine);
  } finally {
    await engine.close();
  }
}

async function oneAtATime(engine: OnnxCtcEngine) {
  const transcripts = [];
  for (const each of CASES) transcripts.push(...(await engine.transcribe([utterance(each)])));
  return transcripts;
}

describe('onnx-ctc reference', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'));
  });

  test('decodes known waveforms to known text and token ids, batched with padding as one at a time', async () => {
    await withEngine(dir, reference, async (engine) => {
      expect(engine).toMatchObject({ name: 'onnx-ctc', sampleRate: SAMPLE_RATE, device: 'cpu', coverage: undefined });
      expect(await engine.transcribe(CASES.map(utterance))).toEqual(expected);
      expect(await oneAtATime(engine)).toEqual(expected);
      expect(await engine.transcribe([])).toEqual([]);
    });
  });

  test('frames of padding would show: silence decodes to "q"', async () => {
    await withEngine(dir, reference, async (engine) => {
      const silence = { id: 'silence', audio: new Float32Array(4 * 32), sampleRate: SAMPLE_RATE, text: '' };
      expect((await engine.transcribe([silence]))[0].text).toBe('q');
    });
  });

  test.each<FrameConfig>(['ratio', 'none'])(
    'with frame geometry "%s" in config.json the batch decodes the same',
    async (frames) => {
      const folder = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'), { frames });
      await withEngine(folder, reference, async (engine) => {
        expect(await engine.transcribe([...CASES.map(utterance), utterance(CASES[0])])).toEqual([
          ...expected,
          expected[0],
        ]);
      });
    },
  );

  test('a graph that takes attention_mask receives it', async () => {
    const folder = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'), { mask: true });
    await withEngine(folder, reference, async (engine) => {
      expect(await engine.transcribe(CASES.map(utterance))).toEqual(expected);
    });
  });

  test('audio at another rate is a bug of the caller, and an aborted signal stops the work', async () => {
    await withEngine(dir, reference, async (engine) => {
      await expect(engine.transcribe([{ ...utterance(CASES[0]), sampleRate: 8000 }])).rejects.toThrow(
        'utterance hello is at 8000 Hz but the onnx-ctc engine needs 16000 Hz',
      );
      await expect(engine.transcribe(CASES.map(utterance), AbortSignal.abort())).rejects.toThrow(/abort/i);
      await engine.close();
    });
  });

  test('config.json geometry that does not fit the graph is refused', async () => {
    const folder = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'), {
      config: { conv_kernel: [16], conv_stride: [16] },
    });
    await withEngine(folder, reference, async (engine) => {
      await expect(engine.transcribe([utterance(CASES[0])])).rejects.toThrow(
        'model.onnx returned 16 frames for 512 samples, but conv_kernel and conv_stride in config.json give 32; use the config.json exported with the model',
      );
    });
  });
});

describe('onnx-ctc candidate from a quantized GGUF', () => {
  let dir: string;
  let quantized: QuantizedModel;
  beforeAll(async () => {
    dir = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'));
    quantized = (await quantizeModel({ model: dir, outDir: await makeTempDir(), threads: 1 })).output!;
  });

  test.each(['matmulnbits', 'dequant'] as const)(
    '%s mode transcribes like the reference, with every tensor of the GGUF substituted',
    async (candidateMode) => {
      const progress = recordingProgress();
      await withEngine(
        dir,
        { kind: 'candidate', quantized },
        async (engine) => {
          expect(await engine.transcribe(CASES.map(utterance))).toEqual(expected);
          const { mode, substituted, missing } = engine.coverage!;
          expect(mode).toBe(candidateMode);
          expect(missing).toEqual([]);
          const byName = Object.fromEntries(substituted.map((entry) => [entry.name, entry]));
          expect(Object.keys(byName).sort()).toEqual([HEAD_WEIGHT, CONV_WEIGHT, 'ctc_head.bias'].sort());
          expect(byName['ctc_head.bias']).toMatchObject({ type: 'F32', substitution: 'dense' });
          expect(byName[CONV_WEIGHT]).toMatchObject({
            type: 'Q4_0',
            initializer: CONV_WEIGHT,
            matchedBy: 'name',
            substitution: 'dequant',
          });
          expect(byName[HEAD_WEIGHT]).toMatchObject({
            type: 'Q4_0',
            initializer: ONNX_HEAD_WEIGHT,
            matchedBy: 'content',
            layout: 'transposed',
            substitution: candidateMode === 'matmulnbits' ? 'matmulnbits' : 'dequant',
          });
        },
        { candidateMode, progress },
      );
      expect(progress.lines).toEqual([
        expect.stringMatching(
          new RegExp(
            `^onnx-ctc candidate \\(${candidateMode}\\): 3 GGUF tensors \\(1\\.5k parameters\\) substituted into the ONNX graph: .*, 1 \\(13\\) F16/F32 as dense weights; none missing$`,
          ),
        ),
      ]);
    },
  );

  test('the matmulnbits mode is the default', async () => {
    await withEngine(dir, { kind: 'candidate', quantized }, async (engine) =>
      expect(engine.coverage!.mode).toBe('matmulnbits'),
    );
  });

  test('the renamed weights need the safetensors they were quantized from', async () => {
    const bare = await writeCtcModelFolder(join(await makeTempDir(), 'bare'));
    await rm(join(bare, 'model.safetensors'));
    const open = (dir: string) =>
      createOnnxCtcEngineFactory().open({ dir }, { kind: 'candidate', quantized }, { device: 'cpu' });
    await expect(open(bare)).rejects.toThrow(/bare holds no \.safetensors weights/);

    const other = await writeCtcModelFolder(join(await makeTempDir(), 'other'));
    await writeTestModel(other, [{ name: 'unrelated.weight', dtype: 'F32', shape: [2], values: new Float32Array(2) }]);
    await expect(open(other)).rejects.toThrow(
      /^GGUF tensor "ctc_head\.weight" is not in .*model\.safetensors, so the GGUF was not quantized from these weights; quantize this model folder again$/,
    );
  });
});

describe('onnx-ctc model folders', () => {
  test('accepts a folder with model.onnx and vocab.json, and nothing less', async () => {
    const dir = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'));
    const factory = createOnnxCtcEngineFactory();
    expect(await factory.accepts({ dir })).toBe(true);
    await rm(join(dir, 'vocab.json'));
    expect(await factory.accepts({ dir })).toBe(false);
    expect(await factory.accepts({ dir: join(dir, 'absent') })).toBe(false);
  });

  test('a graph without input_values is refused in one line', async () => {
    const dir = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'));
    await writeModel(
      join(dir, 'model.onnx'),
      new ModelBuilder()
        .input('features', 'float32', ['b', 't'])
        .node('Identity', ['features'], ['logits'])
        .output('logits', 'float32')
        .build(),
    );
    await expect(createOnnxCtcEngineFactory().open({ dir }, reference, { device: 'cpu' })).rejects.toThrow(
      'model.onnx: it has no "input_values" input; the onnx-ctc engine runs CTC exports that take "input_values" [batch, samples] (and optionally "attention_mask") and return "logits" [batch, frames, vocab]',
    );
  });

  test('a model.onnx that is not ONNX is refused in one line', async () => {
    const dir = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'));
    await writeFile(join(dir, 'model.onnx'), 'not a model');
    await expect(createOnnxCtcEngineFactory().open({ dir }, reference, { device: 'cpu' })).rejects.toThrow(
      /^onnxruntime cannot load model\.onnx \(.+\); export the model again/,
    );
  });
});
