import { Resampler, resampledLength } from '../../src/audio/resample.js';
import { QuantgateError } from '../../src/common/errors.js';

const resamplers: Resampler[] = [];
const resamplerTo = (rate: number) => {
  const resampler = new Resampler(rate);
  resamplers.push(resampler);
  return resampler;
};
afterAll(() => Promise.all(resamplers.map((resampler) => resampler.close())));

function sine(length: number, rate: number, frequency: number, amplitude: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / rate));
}

/** Largest deviation from the ideal sine over the samples away from both ends (the filter's edge effects). */
function sineError(samples: Float32Array, rate: number, frequency: number, amplitude: number, margin: number): number {
  let max = 0;
  for (let i = margin; i < samples.length - margin; i++) {
    max = Math.max(max, Math.abs(samples[i]! - amplitude * Math.sin((2 * Math.PI * frequency * i) / rate)));
  }
  return max;
}

function peak(samples: Float32Array, margin: number): number {
  let max = 0;
  for (let i = margin; i < samples.length - margin; i++) max = Math.max(max, Math.abs(samples[i]!));
  return max;
}

describe('Resampler', () => {
  it('produces exactly round(n·to/from) samples of the right sine beyond 1 M output samples', async () => {
    const input = sine(700_001, 16000, 440, 0.5);
    const output = await resamplerTo(24000).resample(input, 16000);
    expect(output.length).toBe(1_050_002); // 700001 × 1.5 = 1050001.5, rounded half up
    // Chunk boundaries fall every 65536 input samples; a glitch at any of them would show here.
    expect(sineError(output, 24000, 440, 0.5, 100)).toBeLessThan(2e-4);
    expect(peak(output.subarray(output.length - 1000), 0)).toBeGreaterThan(0.49);
  });

  it('band-limits when downsampling: keeps a 1 kHz tone, removes a 12 kHz one', async () => {
    const resampler = resamplerTo(16000);
    const low = await resampler.resample(sine(48000, 48000, 1000, 0.5), 48000);
    const high = await resampler.resample(sine(48000, 48000, 12000, 0.5), 48000);
    expect(low.length).toBe(16000);
    expect(sineError(low, 16000, 1000, 0.5, 100)).toBeLessThan(2e-4);
    expect(peak(high, 100)).toBeLessThan(2e-3);
  });

  it.each([
    [12345, 44100, 16000],
    [1, 22050, 16000],
    [3, 8000, 24000],
    [100_003, 22050, 24000],
  ])('returns round(n·to/from) samples for %i samples at %i Hz → %i Hz', async (length, from, to) => {
    const output = await resamplerTo(to).resample(sine(length, from, 300, 0.3), from);
    expect(output.length).toBe(resampledLength(length, from, to));
    expect(output.length).toBe(Math.round((length * to) / from));
  });

  it('starts every call from a clean filter state', async () => {
    const resampler = resamplerTo(24000);
    const input = sine(20000, 16000, 1234, 0.7);
    const first = await resampler.resample(input, 16000);
    await resampler.resample(sine(5000, 16000, 3000, 0.9), 16000);
    expect(await resampler.resample(input, 16000)).toEqual(first);
  });

  it('returns same-rate input as is', async () => {
    const input = sine(100, 24000, 440, 0.5);
    expect(await resamplerTo(24000).resample(input, 24000)).toBe(input);
  });

  it('returns empty output for empty input', async () => {
    expect((await resamplerTo(16000).resample(new Float32Array(0), 44100)).length).toBe(0);
  });

  it('rejects rates libsamplerate cannot handle', async () => {
    expect(() => new Resampler(0)).toThrow(QuantgateError);
    await expect(resamplerTo(16000).resample(new Float32Array(10), 44100.5)).rejects.toThrow(
      /source sample rate 44100.5 Hz is not an integer/,
    );
    await expect(resamplerTo(192000).resample(new Float32Array(10), 100)).rejects.toThrow(
      /beyond libsamplerate's limit of 256/,
    );
  });
});
