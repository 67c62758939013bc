// The kyutai-stt engine's memory estimate on the golden model, against sums done by hand from its
// config: dim 64, 2 layers, gating hidden size 176, context 64, n_q 8, card 64, text_card 48;
// Mimi with 8 filters and frames of 1,920 samples at 24 kHz (12.5 Hz), 0.5 s of audio delay.

import { join } from 'node:path';
import { createKyutaiSttEngineFactory } from '../../../src/engines/kyutai-stt/engine.js';
import type { QuantizedModel } from '../../../src/engines/engine.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { writeGoldenModel } from './golden.js';

afterAll(removeTempDirs);

/**
 * Elements of the LM the engine loads (the extra heads left out): per layer in_proj 3·64·64,
 * out_proj 64·64, linear_in 2·176·64, linear_out 64·176 and two norms of 64; then 8 audio
 * embeddings of 65·64, the text embedding 49·64, text_linear 48·64 and out_norm 64.
 */
const LM_MATRIX_ELEMENTS = 2 * (12288 + 4096 + 22528 + 11264) + 3072;
const LM_FLOAT_ELEMENTS = 2 * 128 + 8 * 65 * 64 + 49 * 64 + 64;
/** Mimi's encoder side, float32: its checkpoint's tensors but the decoder's and the upsampling's. */
const MIMI_ENCODER_BYTES = 356_292 * 4;

/** 2 s of audio: 25 frames and 7 of delay make 32 steps, Mimi runs on 50 frames (a multiple of 25). */
const SHORT = { seconds: 2, samples: 48_000, mimiSamples: 50 * 1920, ringSlots: 31 };
/** 10 s: 132 steps, more than the ring keeps (context − 1 = 63 slots); Mimi runs on 150 frames. */
const LONG = { seconds: 10, samples: 240_000, mimiSamples: 150 * 1920, ringSlots: 63 };

const mimiActivations = (mimiSamples: number) => 4 * 8 * mimiSamples * 4;
const perUtterance = ({ samples, mimiSamples, ringSlots }: typeof SHORT) =>
  (samples + mimiSamples) * 4 + 2 * 2 * 64 * ringSlots * 4;

let dir: string;
let quantized: QuantizedModel;

beforeAll(async () => {
  dir = await writeGoldenModel(await makeTempDir());
  quantized = (await quantizeModel({ model: dir, outDir: join(dir, 'q4') })).output!;
});

describe('kyutai-stt memory estimate', () => {
  const factory = createKyutaiSttEngineFactory();

  test('the reference holds its LM in float32 on the CPU, and its linear layers in float16 on CUDA', async () => {
    for (const size of [SHORT, LONG]) {
      const fixed = MIMI_ENCODER_BYTES + mimiActivations(size.mimiSamples);
      expect(
        await factory.estimateMemory!({ dir }, { kind: 'reference' }, { device: 'cpu', maxSeconds: size.seconds }),
      ).toEqual({
        loadedBytes: (LM_MATRIX_ELEMENTS + LM_FLOAT_ELEMENTS) * 4 + fixed,
        perUtteranceBytes: perUtterance(size),
      });
      expect(
        await factory.estimateMemory!({ dir }, { kind: 'reference' }, { device: 'cuda', maxSeconds: size.seconds }),
      ).toEqual({
        loadedBytes: LM_MATRIX_ELEMENTS * 2 + LM_FLOAT_ELEMENTS * 4 + fixed,
        perUtteranceBytes: perUtterance(size),
      });
    }
  });

  test('the candidate holds Q4_0 matrices as MatMulNBits blocks, the rest as floats', async () => {
    // linear_out's rows (176 values) are not whole blocks of 32, so the GGUF has it in F16 and the
    // candidate multiplies it in float32; the embeddings are Q4_0 in the GGUF but read as float32.
    const q4Elements = LM_MATRIX_ELEMENTS - 2 * 11264;
    const lm = q4Elements * (0.5 + 4 / 32) + 2 * 11264 * 4 + LM_FLOAT_ELEMENTS * 4;
    const estimate = await factory.estimateMemory!(
      { dir },
      { kind: 'candidate', quantized },
      { device: 'cpu', maxSeconds: SHORT.seconds },
    );
    expect(estimate).toEqual({
      loadedBytes: lm + MIMI_ENCODER_BYTES + mimiActivations(SHORT.mimiSamples),
      perUtteranceBytes: perUtterance(SHORT),
    });
    // Dequantized, every matrix is float32, as in the reference.
    const dequant = createKyutaiSttEngineFactory({ candidateMode: 'dequant' });
    expect(
      (
        await dequant.estimateMemory!(
          { dir },
          { kind: 'candidate', quantized },
          { device: 'cpu', maxSeconds: SHORT.seconds },
        )
      ).loadedBytes,
    ).toBe((LM_MATRIX_ELEMENTS + LM_FLOAT_ELEMENTS) * 4 + MIMI_ENCODER_BYTES + mimiActivations(SHORT.mimiSamples));
  });
});
