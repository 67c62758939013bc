// Mimi's encoder graph against moshi's PyTorch encoder on the golden clip (random weights, float32).

import * as ort from 'onnxruntime-node';
import type { MimiConfig } from '../../../src/engines/kyutai-stt/config.js';
import { buildMimiGraph, MIMI_INPUT, MIMI_OUTPUT, mimiFrameSize } from '../../../src/engines/kyutai-stt/mimi-graph.js';
import { startSession, type GraphSession } from '../../../src/engines/kyutai-stt/session.js';
import { openSafetensorsWeights } from '../../../src/engines/kyutai-stt/weights.js';
import { fixture } from '../../helpers/paths.js';
import { goldenFloats, goldenInts, goldenMimiConfig, maxDifference } from './golden.js';

const LATENT_TOLERANCE = 1e-4;
const CLIP_SAMPLES = 48000;
const SILENT_FRAMES = 7;

let config: MimiConfig;
let session: GraphSession;
let audio: Float32Array;

beforeAll(async () => {
  config = await goldenMimiConfig();
  const weights = await openSafetensorsWeights(fixture('kyutai', 'mimi.safetensors'));
  try {
    session = await startSession(await buildMimiGraph(config, weights, { latents: true }), 'cpu', 'Mimi encoder');
  } finally {
    await weights.close();
  }
  audio = await goldenFloats('audio_24k.f32');
});

afterAll(() => session?.close());

/** Each output of one run on `clips` (equal lengths), as plain arrays. */
async function encode(
  ...clips: Float32Array[]
): Promise<Record<string, { dims: readonly number[]; values: number[] }>> {
  const samples = new Float32Array(clips.length * clips[0]!.length);
  clips.forEach((clip, index) => samples.set(clip, index * clip.length));
  const results = await session.run({
    [MIMI_INPUT]: new ort.Tensor('float32', samples, [clips.length, 1, clips[0]!.length]),
  });
  return Object.fromEntries(
    Object.entries(results).map(([name, tensor]) => [
      name,
      { dims: tensor.dims, values: Array.from(tensor.data as ArrayLike<number | bigint>, Number) },
    ]),
  );
}

function withSilence(clip: Float32Array, frames: number): Float32Array {
  const padded = new Float32Array(clip.length + frames * mimiFrameSize(config));
  padded.set(clip);
  return padded;
}

describe('Mimi encoder graph', () => {
  it('frames 24 kHz audio by 1920 samples', () => {
    expect(mimiFrameSize(config)).toBe(1920);
  });

  it('matches moshi’s latents after SEANet, the transformer and the downsampling', async () => {
    const outputs = await encode(audio);
    expect(outputs.seanet!.dims).toEqual([1, 64, 50]);
    expect(outputs.latent!.dims).toEqual([1, 64, 25]);
    expect(maxDifference(outputs.seanet!.values, await goldenFloats('mimi_latent_seanet.f32'))).toBeLessThan(
      LATENT_TOLERANCE,
    );
    expect(maxDifference(outputs.transformer!.values, await goldenFloats('mimi_latent_transformer.f32'))).toBeLessThan(
      LATENT_TOLERANCE,
    );
    expect(maxDifference(outputs.latent!.values, await goldenFloats('mimi_latent_downsampled.f32'))).toBeLessThan(
      LATENT_TOLERANCE,
    );
  });

  it('gives moshi’s codes for the whole clip exactly', async () => {
    const outputs = await encode(audio);
    expect(outputs[MIMI_OUTPUT]!.dims).toEqual([1, 8, 25]);
    expect(outputs[MIMI_OUTPUT]!.values).toEqual(Array.from(await goldenInts('mimi_codes.i32')));
  });

  it('gives moshi’s codes with all 32 codebooks active, as stt-1b-en_fr reads them, near-ties included', async () => {
    // Some of these codes win by a relative distance margin of only 1.3e-4 (see the fixtures' README).
    const allCodebooks = { ...config, codebooks: config.quantizer.nQ };
    const weights = await openSafetensorsWeights(fixture('kyutai', 'mimi.safetensors'));
    let all: GraphSession;
    try {
      all = await startSession(await buildMimiGraph(allCodebooks, weights), 'cpu', 'Mimi encoder');
    } finally {
      await weights.close();
    }
    try {
      const results = await all.run({ [MIMI_INPUT]: new ort.Tensor('float32', audio, [1, 1, audio.length]) });
      const codes = results[MIMI_OUTPUT]!;
      expect(codes.dims).toEqual([1, 32, 25]);
      expect(Array.from(codes.data as BigInt64Array, Number)).toEqual(
        Array.from(await goldenInts('mimi_codes_all32.i32')),
      );
    } finally {
      await all.close();
    }
  });

  it('gives the streaming encoder’s codes for the STT run: the clip, then 7 silent frames', async () => {
    const outputs = await encode(withSilence(audio, SILENT_FRAMES));
    expect(outputs[MIMI_OUTPUT]!.dims).toEqual([1, 8, 32]);
    expect(outputs[MIMI_OUTPUT]!.values).toEqual(Array.from(await goldenInts('mimi_codes_streaming.i32')));
  });

  it('encodes a batch row by row, each row causal: silence after a cut leaves earlier frames alone', async () => {
    const cut = new Float32Array(CLIP_SAMPLES);
    cut.set(audio.subarray(0, CLIP_SAMPLES / 2));
    const [together, alone, golden] = [await encode(audio, cut), await encode(cut), await goldenInts('mimi_codes.i32')];
    const codes = together[MIMI_OUTPUT]!.values;
    expect(codes.slice(0, 8 * 25)).toEqual(Array.from(golden));
    expect(codes.slice(8 * 25)).toEqual(alone[MIMI_OUTPUT]!.values);
    // Frame t sees samples up to (t + 1)·1920: frames 0–11 end before the cut at 24000.
    const framesBeforeCut = Math.floor(CLIP_SAMPLES / 2 / mimiFrameSize(config));
    for (let codebook = 0; codebook < 8; codebook++) {
      const row = (values: ArrayLike<number>) =>
        Array.from(values).slice(codebook * 25, codebook * 25 + framesBeforeCut);
      expect(row(alone[MIMI_OUTPUT]!.values)).toEqual(row(golden));
    }
  });
});
