import { normalizeWaveform, padBatch } from '../../../src/engines/onnx-ctc/batch.js';

describe('normalizeWaveform', () => {
  test('zero mean and unit variance, with 1e-7 added to the variance as Hugging Face does', () => {
    const normalized = normalizeWaveform(Float32Array.from([1, 2, 3, 4]));
    const scale = 1 / Math.sqrt(1.25 + 1e-7);
    expect(Array.from(normalized)).toEqual(
      Array.from(Float32Array.from([-1.5, -0.5, 0.5, 1.5], (value) => value * scale)),
    );
  });

  test('silence stays silence, and nothing stays nothing', () => {
    expect(Array.from(normalizeWaveform(new Float32Array(3)))).toEqual([0, 0, 0]);
    expect(normalizeWaveform(new Float32Array(0))).toHaveLength(0);
  });

  test('the input is not modified', () => {
    const input = Float32Array.from([0.5, -0.5, 0.25]);
    normalizeWaveform(input);
    expect(Array.from(input)).toEqual([0.5, -0.5, 0.25]);
  });
});

describe('padBatch', () => {
  const audio = [Float32Array.from([1, 2, 3]), Float32Array.from([4]), Float32Array.from([5, 6])];

  test('pads each row with zeros to the longest, masking the padding', () => {
    const batch = padBatch(audio, false);
    expect(batch.samples).toBe(3);
    expect(Array.from(batch.values)).toEqual([1, 2, 3, 4, 0, 0, 5, 6, 0]);
    expect(Array.from(batch.mask)).toEqual([1n, 1n, 1n, 1n, 0n, 0n, 1n, 1n, 0n]);
  });

  test('normalizes each utterance over its own samples only, padding stays zero', () => {
    const batch = padBatch(audio, true);
    expect(Array.from(batch.values.subarray(0, 3))).toEqual(Array.from(normalizeWaveform(audio[0])));
    expect(Array.from(batch.values.subarray(3, 6))).toEqual([0, 0, 0]);
    expect(Array.from(batch.values.subarray(6, 9))).toEqual([...normalizeWaveform(audio[2]), 0]);
  });

  test('an empty batch has no samples', () => {
    expect(padBatch([], true)).toEqual({ values: new Float32Array(0), mask: new BigInt64Array(0), samples: 0 });
  });
});
