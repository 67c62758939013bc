// The inputs of one batch, as Hugging Face's Wav2Vec2FeatureExtractor prepares them: each
// utterance normalized on its own samples when the model asks for it (zero mean, unit variance,
// eps 1e-7 inside the square root), then zero-padded at the end to the longest, with an attention
// mask of 1 over real samples and 0 over padding.

export interface PaddedBatch {
  /** [utterances, samples], row-major. */
  values: Float32Array;
  /** Same shape as `values`. */
  mask: BigInt64Array;
  /** The padded length: samples per row. */
  samples: number;
}

const VARIANCE_EPSILON = 1e-7;

export function padBatch(audio: readonly Float32Array[], normalize: boolean): PaddedBatch {
  const samples = Math.max(0, ...audio.map((utterance) => utterance.length));
  const values = new Float32Array(audio.length * samples);
  const mask = new BigInt64Array(audio.length * samples);
  audio.forEach((utterance, row) => {
    values.set(normalize ? normalizeWaveform(utterance) : utterance, row * samples);
    mask.fill(1n, row * samples, row * samples + utterance.length);
  });
  return { values, mask, samples };
}

/** Zero mean and unit variance over the utterance, with sums in double precision. */
export function normalizeWaveform(samples: Float32Array): Float32Array {
  if (samples.length === 0) return samples;
  let sum = 0;
  for (const value of samples) sum += value;
  const mean = sum / samples.length;
  let squares = 0;
  for (const value of samples) squares += (value - mean) ** 2;
  const scale = 1 / Math.sqrt(squares / samples.length + VARIANCE_EPSILON);
  return Float32Array.from(samples, (value) => (value - mean) * scale);
}
