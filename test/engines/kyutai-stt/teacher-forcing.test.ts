// Token-level damage of the Kyutai candidate: the quantized LM decodes teacher-forced on the float
// LM's own tokens, so both see the same inputs at every step, and each step's text distribution is
// compared with the reference's (moshi's golden random-weight LM, quantized to Q4_0 by quantgate).

import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LmConfig } from '../../../src/engines/kyutai-stt/config.js';
import { decodeGreedy, type AudioCodes } from '../../../src/engines/kyutai-stt/decoder.js';
import { buildLmStepGraph } from '../../../src/engines/kyutai-stt/lm-graph.js';
import { startSession, type GraphSession } from '../../../src/engines/kyutai-stt/session.js';
import { openGgufWeights, openSafetensorsWeights, type WeightSource } from '../../../src/engines/kyutai-stt/weights.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import {
  compareStep,
  referenceStep,
  summarizeTokenDamage,
  type ReferenceStep,
  type UtteranceDamage,
} from '../../../src/scoring/token-damage.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { goldenInts, goldenJson, goldenLmConfig } from './golden.js';

let config: LmConfig;
let reference: GraphSession;
let candidate: GraphSession;
let streams: AudioCodes[];

async function session(weights: WeightSource): Promise<GraphSession> {
  try {
    return await startSession(await buildLmStepGraph(config, weights, { compute: 'F32' }), 'cpu', 'LM');
  } finally {
    await weights.close();
  }
}

/** Decodes `streams`, optionally forced, keeping every row's logits per stream. */
async function run(lm: GraphSession, forcedText?: Int32Array[]) {
  const logits: number[][][] = streams.map(() => []);
  const tokens = await decodeGreedy(lm, config, streams, {
    ...(forcedText && { forcedText }),
    onStep: (step) =>
      step.streams.forEach((stream, row) =>
        logits[stream]!.push(Array.from(step.logits.subarray(row * config.textCard, (row + 1) * config.textCard))),
      ),
  });
  return { tokens, logits };
}

beforeAll(async () => {
  config = await goldenLmConfig();
  const dir = await makeTempDir();
  await copyFile(fixture('safetensors', 'lm.safetensors'), join(dir, 'model.safetensors'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(await goldenJson('lm_config.json')));
  const { output } = await quantizeModel({ model: dir, outDir: join(dir, 'out'), threads: 1 });
  reference = await session(await openSafetensorsWeights(fixture('safetensors', 'lm.safetensors')));
  candidate = await session(await openGgufWeights(output!, 'matmulnbits', 'golden-q4.gguf'));
  streams = [
    { frames: 32, data: await goldenInts('mimi_codes_streaming.i32') },
    { frames: 100, data: await goldenInts('lm_long_input_codes.i32') },
  ];
});

afterAll(async () => {
  await Promise.all([reference?.close(), candidate?.close()]);
  await removeTempDirs();
});

test('forced on its own tokens, the reference reproduces its tokens and logits exactly', async () => {
  const free = await run(reference);
  expect(Array.from(free.tokens[0]!)).toEqual(Array.from(await goldenInts('text_tokens.i32')));
  const forced = await run(reference, free.tokens);
  expect(forced.tokens.map((each) => Array.from(each))).toEqual(free.tokens.map((each) => Array.from(each)));
  expect(forced.logits).toEqual(free.logits);
});

test('forcing needs one sequence per stream, each long enough', async () => {
  await expect(decodeGreedy(reference, config, streams, { forcedText: [new Int32Array(32)] })).rejects.toThrow(
    RangeError,
  );
  await expect(
    decodeGreedy(reference, config, streams, { forcedText: [new Int32Array(32), new Int32Array(99)] }),
  ).rejects.toThrow(RangeError);
});

test('the Q4_0 candidate, forced on the reference’s tokens, has a positive KLD that is the same on every run', async () => {
  const free = await run(reference);
  const base: ReferenceStep[][] = free.logits.map((rows) =>
    rows.map((row) => referenceStep(row, 0, config.textCard, 32)!),
  );
  base.forEach((steps, stream) => expect(steps.map((step) => step.token)).toEqual(Array.from(free.tokens[stream]!)));

  const damage = async (): Promise<UtteranceDamage[]> => {
    const forced = await run(candidate, free.tokens);
    return forced.logits.map((rows, stream) => {
      const steps = rows.map((row, t) => compareStep(base[stream]![t]!, row, 0, config.textCard)!);
      return {
        id: `stream ${stream}`,
        klds: Float64Array.from(steps, (step) => step.kld),
        top1: Uint8Array.from(steps, (step) => Number(step.top1)),
        candidateLogProbs: Float64Array.from(steps, (step) => step.logProb),
        referenceLogProbs: Float64Array.from(base[stream]!, (step) => step.logProbs[step.ids.indexOf(step.token)]!),
      };
    });
  };
  const first = summarizeTokenDamage(await damage(), { resamples: 200 })!;
  expect(first.steps).toBe(132);
  expect(first.mean).toBeGreaterThan(0);
  expect(first.top1Agreement).toBeGreaterThan(0.5);
  expect(first.top1Agreement).toBeLessThanOrEqual(1);
  expect(first.perplexityRatio).toBeGreaterThan(0.5);
  expect(summarizeTokenDamage(await damage(), { resamples: 200 })).toEqual(first);
});

test('free and forced streams share a batch and decode as they do apart', async () => {
  const free = await run(reference);
  const candidateFree = await run(candidate);
  const candidateForced = await run(candidate, free.tokens);
  const mixed = await decodeGreedy(candidate, config, [streams[0]!, streams[0]!], {
    forcedText: [undefined, free.tokens[0]!],
  });
  expect(Array.from(mixed[0]!)).toEqual(Array.from(candidateFree.tokens[0]!));
  expect(Array.from(mixed[1]!)).toEqual(Array.from(candidateForced.tokens[0]!));
});
