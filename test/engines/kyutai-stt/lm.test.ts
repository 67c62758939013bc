// The LM step graph and the decoding loop against moshi's LMGen / forward_text (random weights,
// float32): teacher-forced forward, the 32-step STT run, and a 100-step run past the window.

import { join } from 'node:path';
import type { LmConfig } from '../../../src/engines/kyutai-stt/config.js';
import { decodeGreedy, LmStepper, type AudioCodes, type DecodedStep } from '../../../src/engines/kyutai-stt/decoder.js';
import { buildLmStepGraph } from '../../../src/engines/kyutai-stt/lm-graph.js';
import { startSession, type GraphSession } from '../../../src/engines/kyutai-stt/session.js';
import { openSafetensorsWeights, type FloatType } from '../../../src/engines/kyutai-stt/weights.js';
import { openSafetensors } from '../../../src/formats/safetensors.js';
import { decodeSource } from '../../../src/quant/codec.js';
import { writeTestModel } from '../../helpers/model.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { goldenFloats, goldenInts, goldenLmConfig, maxDifference } from './golden.js';

const TOLERANCE = 1e-4;
const TEXT_CARD = 48;
const DIM = 64;

let config: LmConfig;
let session: GraphSession;

async function lmSession(path: string, compute: FloatType = 'F32'): Promise<GraphSession> {
  const weights = await openSafetensorsWeights(path);
  try {
    return await startSession(await buildLmStepGraph(config, weights, { compute }), 'cpu', 'LM');
  } finally {
    await weights.close();
  }
}

beforeAll(async () => {
  config = await goldenLmConfig();
  session = await lmSession(fixture('safetensors', 'lm.safetensors'));
});

afterAll(async () => {
  await session?.close();
  await removeTempDirs();
});

/** Runs `steps` steps of one stream with the given token rows ([text, audio…] per step). */
async function teacherForced(lm: GraphSession, rows: (step: number) => number[], steps: number) {
  const stepper = new LmStepper(lm, config, 1, steps);
  const logits: number[] = [];
  const hidden: number[] = [];
  for (let step = 0; step < steps; step++) {
    expect(stepper.position).toBe(step);
    const result = await stepper.run(BigInt64Array.from(rows(step), BigInt), true);
    logits.push(...result.logits);
    hidden.push(...result.hidden!);
  }
  return { logits, hidden };
}

/** Greedy decoding of `streams`, with every step observed. */
async function decode(lm: GraphSession, streams: AudioCodes[]) {
  const steps: DecodedStep[] = [];
  const tokens = await decodeGreedy(lm, config, streams, {
    onStep: (step) => steps.push({ ...step, inputs: step.inputs.slice(), logits: step.logits.slice() }),
  });
  const rowsOf = (stream: number) =>
    steps.flatMap(({ streams: rows, logits }) => {
      const row = rows.indexOf(stream);
      return row < 0 ? [] : Array.from(logits.subarray(row * TEXT_CARD, (row + 1) * TEXT_CARD));
    });
  return { tokens, steps, logits: rowsOf };
}

async function sttStream(): Promise<AudioCodes> {
  return { frames: 32, data: await goldenInts('mimi_codes_streaming.i32') };
}

async function longStream(): Promise<AudioCodes> {
  return { frames: 100, data: await goldenInts('lm_long_input_codes.i32') };
}

describe('LM step graph, teacher-forced', () => {
  it('matches forward_text over 16 positions: logits and hidden states', async () => {
    const [text, codes] = [await goldenInts('lm_input_text.i32'), await goldenInts('lm_input_codes.i32')];
    const { logits, hidden } = await teacherForced(
      session,
      (t) => [text[t]!, ...Array.from({ length: 8 }, (_, k) => codes[k * 16 + t]!)],
      16,
    );
    expect(maxDifference(logits, await goldenFloats('lm_forward_logits.f32'))).toBeLessThan(TOLERANCE);
    expect(maxDifference(hidden, await goldenFloats('lm_forward_hidden.f32'))).toBeLessThan(TOLERANCE);
  });

  it('matches the hidden state of every STT step, step 0 included', async () => {
    const inputs = await goldenInts('stt_lm_input_tokens.i32');
    const { hidden } = await teacherForced(session, (t) => Array.from(inputs.subarray(t * 9, t * 9 + 9)), 32);
    expect(maxDifference(hidden.slice(0, DIM), await goldenFloats('step0_hidden.f32'))).toBeLessThan(TOLERANCE);
    expect(maxDifference(hidden, await goldenFloats('stt_hidden.f32'))).toBeLessThan(TOLERANCE);
  });
});

describe('greedy STT decoding', () => {
  it('reproduces the 32-step STT run: inputs, every token, logits', async () => {
    const { tokens, steps, logits } = await decode(session, [await sttStream()]);
    expect(Array.from(tokens[0]!)).toEqual(Array.from(await goldenInts('text_tokens.i32')));
    expect(steps.flatMap(({ inputs }) => Array.from(inputs, Number))).toEqual(
      Array.from(await goldenInts('stt_lm_input_tokens.i32')),
    );
    expect(maxDifference(logits(0), await goldenFloats('text_logits.f32'))).toBeLessThan(TOLERANCE);
  });

  it('reproduces the 100-step run past the 64-step window', async () => {
    const { tokens, logits } = await decode(session, [await longStream()]);
    expect(Array.from(tokens[0]!)).toEqual(Array.from(await goldenInts('lm_long_text_tokens.i32')));
    expect(maxDifference(logits(0), await goldenFloats('lm_long_text_logits.f32'))).toBeLessThan(TOLERANCE);
  });

  it('decodes streams of different lengths together as it decodes them alone', async () => {
    const [stt, long] = [await sttStream(), await longStream()];
    const together = await decode(session, [stt, long]);
    expect(Array.from(together.tokens[0]!)).toEqual(Array.from(await goldenInts('text_tokens.i32')));
    expect(Array.from(together.tokens[1]!)).toEqual(Array.from(await goldenInts('lm_long_text_tokens.i32')));
    expect(maxDifference(together.logits(0), await goldenFloats('text_logits.f32'))).toBeLessThan(TOLERANCE);
    // The short stream leaves the batch after its 32 steps; the long one runs on alone.
    expect(together.steps.map(({ streams }) => streams.length)).toEqual([
      ...Array<number>(32).fill(2),
      ...Array<number>(68).fill(1),
    ]);
    expect(together.steps[0]!.streams).toEqual([1, 0]);
  });

  it('returns nothing for no streams, and an empty sequence for a stream of no frames', async () => {
    expect(await decodeGreedy(session, config, [])).toEqual([]);
    expect(Array.from((await decodeGreedy(session, config, [{ frames: 0, data: new Int32Array(0) }]))[0]!)).toEqual([]);
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(decodeGreedy(session, config, [await sttStream()], { signal: controller.signal })).rejects.toThrow(
      'cancelled',
    );
  });

  it('accepts the legacy attention names in_proj_weight / out_proj.weight', async () => {
    const reader = await openSafetensors(fixture('safetensors', 'lm.safetensors'));
    const tensors = await Promise.all(
      reader.tensors.map(async (tensor) => ({
        name: tensor.name
          .replace('in_projs.0.weight', 'in_proj_weight')
          .replace('out_projs.0.weight', 'out_proj.weight'),
        dtype: 'F32' as const,
        shape: [...tensor.shape],
        values: decodeSource('F32', await reader.readRange(tensor, 0, tensor.elementCount)),
      })),
    );
    await reader.close();
    expect(tensors.filter((tensor) => tensor.name.endsWith('in_proj_weight'))).toHaveLength(2);
    const dir = await writeTestModel(await makeTempDir(), tensors);
    const legacy = await lmSession(join(dir, 'model.safetensors'));
    try {
      const { tokens, logits } = await decode(legacy, [await sttStream()]);
      expect(Array.from(tokens[0]!)).toEqual(Array.from(await goldenInts('text_tokens.i32')));
      expect(maxDifference(logits(0), await goldenFloats('text_logits.f32'))).toBeLessThan(TOLERANCE);
    } finally {
      await legacy.close();
    }
  });

  it('runs its linear layers in float16 (the CUDA setting) within 1e-2 of float32, with the same tokens', async () => {
    const half = await lmSession(fixture('safetensors', 'lm.safetensors'), 'F16');
    try {
      const { tokens, logits } = await decode(half, [await sttStream()]);
      expect(Array.from(tokens[0]!)).toEqual(Array.from(await goldenInts('text_tokens.i32')));
      const difference = maxDifference(logits(0), await goldenFloats('text_logits.f32'));
      expect(difference).toBeLessThan(1e-2);
      expect(difference).toBeGreaterThan(0);
    } finally {
      await half.close();
    }
  });
});
