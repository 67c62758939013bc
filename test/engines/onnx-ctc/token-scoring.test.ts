// Token-level damage in the onnx-ctc engine, on the embedded demo model: the reference keeps each
// frame's distribution, the candidate is compared frame by frame. An F32 GGUF's candidate is the
// float model again, so its KLD is zero within float rounding and every argmax agrees.

import { isFailedUtterance, openDataset } from '../../../src/datasets/dataset.js';
import type { Utterance } from '../../../src/datasets/utterance.js';
import type { Engine, QuantizedModel, ReferenceTranscript, Variant } from '../../../src/engines/engine.js';
import { createOnnxCtcEngineFactory } from '../../../src/engines/onnx-ctc/engine.js';
import { demoPaths } from '../../../src/pipeline/demo.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { summarizeTokenDamage, type ReferenceStep } from '../../../src/scoring/token-damage.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';

const TIMEOUT_MS = 120_000;
let utterances: Utterance[];
let reference: ReferenceTranscript[];

async function withEngine<T>(variant: Variant, use: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await createOnnxCtcEngineFactory().open({ dir: demoPaths().model }, variant, { device: 'cpu' });
  try {
    return await use(engine);
  } finally {
    await engine.close();
  }
}

async function candidateDamage(type: 'q4_0' | 'f32') {
  const quantized: QuantizedModel = (
    await quantizeModel({ model: demoPaths().model, outDir: await makeTempDir(), type, threads: 1 })
  ).output!;
  const steps = new Map(reference.map(({ transcript, steps: each }) => [transcript.id, each]));
  return withEngine({ kind: 'candidate', quantized }, async (engine) => {
    const results = await engine.tokenScoring!.transcribeAgainst(utterances, (id) => steps.get(id)!);
    const plain = await engine.transcribe(utterances);
    return {
      results,
      plain,
      summary: summarizeTokenDamage(
        results.map(({ damage }) => damage),
        { resamples: 500 },
      )!,
    };
  });
}

beforeAll(async () => {
  const dataset = await openDataset(
    { kind: 'manifest', path: demoPaths().testset },
    { sampleRate: 16000, maxSamples: 12 },
  );
  utterances = [];
  try {
    for await (const item of dataset) if (!isFailedUtterance(item)) utterances.push(item);
  } finally {
    await dataset.close();
  }
  reference = await withEngine({ kind: 'reference' }, (engine) =>
    engine.tokenScoring!.transcribeReference(utterances, 32),
  );
}, TIMEOUT_MS);

afterAll(removeTempDirs);

test('the reference keeps every frame’s whole distribution, and transcribes as transcribe() does', async () => {
  const plain = await withEngine({ kind: 'reference' }, (engine) => engine.transcribe(utterances));
  expect(reference.map(({ transcript }) => transcript)).toEqual(plain);
  for (const { steps, vocabulary } of reference) {
    expect(steps.length).toBeGreaterThan(10);
    expect(vocabulary).toBeLessThanOrEqual(32);
    for (const step of steps) {
      expect(step.ids).toHaveLength(vocabulary);
      expect(step.logRest).toBe(-Infinity);
    }
  }
});

test(
  'an F32 candidate measures no damage: KLD ≤ 1e-6 at every frame, top-1 agreement 1',
  async () => {
    const { results, summary } = await candidateDamage('f32');
    expect(summary.max).toBeLessThanOrEqual(1e-6);
    expect(summary.top1Agreement).toBe(1);
    expect(summary.perplexityRatio).toBeCloseTo(1, 5);
    expect(results.map(({ transcript }) => transcript)).toEqual(reference.map(({ transcript }) => transcript));
  },
  TIMEOUT_MS,
);

test(
  'the Q4_0 candidate measures a positive KLD; its transcripts are those transcribe() gives',
  async () => {
    const { results, plain, summary } = await candidateDamage('q4_0');
    expect(results.map(({ transcript }) => transcript)).toEqual(plain);
    expect(summary.mean).toBeGreaterThan(1e-4);
    expect(summary.steps).toBe(reference.reduce((total, { steps }) => total + steps.length, 0));
    expect(summary.top1Agreement).toBeGreaterThan(0.8);
    expect(summary.top1Agreement).toBeLessThanOrEqual(1);
  },
  TIMEOUT_MS,
);

test(
  'a reference of other audio is refused: the frame counts differ',
  async () => {
    const quantized = (
      await quantizeModel({ model: demoPaths().model, outDir: await makeTempDir(), type: 'f32', threads: 1 })
    ).output!;
    const short: ReferenceStep[] = reference[0]!.steps.slice(1);
    await withEngine({ kind: 'candidate', quantized }, async (engine) => {
      await expect(engine.tokenScoring!.transcribeAgainst(utterances.slice(0, 1), () => short)).rejects.toThrow(
        `utterance ${utterances[0]!.id}: the candidate gives ${short.length + 1} frames but the reference ${short.length}; compare runs of the same audio and model`,
      );
    });
  },
  TIMEOUT_MS,
);
