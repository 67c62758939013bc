// Band-limited resampling to the rate an engine asks for (16 kHz for CTC models, 24 kHz for Mimi),
// with libsamplerate's medium-quality sinc converter.
//
// libsamplerate-js's `simple()` silently returns short (or empty) output once a call needs more
// than about 1 M samples, and leaves its converter unusable for `full()` afterwards. So only the
// stateful `full()` API is used, fed in chunks, and the tail the sinc filter holds back is flushed
// with silence. The result has exactly round(n · to / from) samples.

import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { QuantgateError } from '../common/errors.js';

type Converter = Awaited<ReturnType<typeof libsamplerate.create>>;

/** Input samples per `full()` call; its output must stay under the wrapper's ~1 M-sample buffer. */
const MAX_CHUNK_INPUT = 65536;
const MAX_CHUNK_OUTPUT = 1_000_000;
/** Silence fed after the input until the held-back tail is out; the loop bound only guards bugs. */
const FLUSH_BLOCK = 1024;
const MAX_FLUSH_BLOCKS = 4096;
/** libsamplerate's own limit on the conversion ratio. */
const MAX_RATIO = 256;

/** The number of samples `Resampler.resample` returns for `length` input samples. */
export function resampledLength(length: number, fromRate: number, toRate: number): number {
  return Math.round((length * toRate) / fromRate);
}

/**
 * Resamples mono audio to one target rate. Converters are created once per source rate and
 * reused (each holds its own wasm heap); `close` releases them.
 */
export class Resampler {
  private readonly converters = new Map<number, Promise<Converter>>();

  constructor(readonly targetRate: number) {
    assertRate(targetRate, 'target');
  }

  /** Same-rate input is returned as is (not copied). */
  async resample(samples: Float32Array, sourceRate: number): Promise<Float32Array> {
    if (sourceRate === this.targetRate) return samples;
    assertRate(sourceRate, 'source');
    const ratio = this.targetRate / sourceRate;
    if (ratio > MAX_RATIO || ratio < 1 / MAX_RATIO) {
      throw new QuantgateError(
        `cannot resample ${sourceRate} Hz to ${this.targetRate} Hz: the ratio is beyond libsamplerate's limit of ${MAX_RATIO}; convert the audio to a closer sample rate first`,
      );
    }
    const converter = await this.converterFor(sourceRate);
    // The setter re-initialises the converter, discarding the previous utterance's filter state.
    converter.inputSampleRate = sourceRate;

    const output = new Float32Array(resampledLength(samples.length, sourceRate, this.targetRate));
    const chunk = Math.max(1, Math.min(MAX_CHUNK_INPUT, Math.floor(MAX_CHUNK_OUTPUT / ratio)));
    const scratch = new Float32Array(Math.ceil(Math.max(chunk, FLUSH_BLOCK) * ratio) + 1);
    const produced = { frames: 0 };
    let written = 0;
    const feed = (input: Float32Array) => {
      converter.full(input, scratch, produced);
      const take = Math.min(produced.frames, output.length - written);
      output.set(scratch.subarray(0, take), written);
      written += take;
    };

    for (let start = 0; start < samples.length && written < output.length; start += chunk) {
      feed(samples.subarray(start, start + chunk));
    }
    const silence = new Float32Array(FLUSH_BLOCK);
    for (let blocks = 0; written < output.length; blocks++) {
      if (blocks === MAX_FLUSH_BLOCKS)
        throw new Error(`libsamplerate stopped producing output at ${written} of ${output.length} samples`);
      feed(silence);
    }
    return output;
  }

  async close(): Promise<void> {
    const created = await Promise.allSettled(this.converters.values());
    this.converters.clear();
    for (const result of created) if (result.status === 'fulfilled') result.value.destroy();
  }

  private converterFor(sourceRate: number): Promise<Converter> {
    let converter = this.converters.get(sourceRate);
    if (!converter) {
      converter = libsamplerate.create(1, sourceRate, this.targetRate, {
        converterType: libsamplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY,
      });
      this.converters.set(sourceRate, converter);
    }
    return converter;
  }
}

function assertRate(rate: number, which: string): void {
  if (!Number.isInteger(rate) || rate < 1 || rate > 192000) {
    throw new QuantgateError(
      `the ${which} sample rate ${rate} Hz is not an integer between 1 and 192000; fix the audio or the engine's sample rate`,
    );
  }
}
