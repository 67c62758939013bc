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
    const target = values.subarray(row * samples, row * samples + utterance.length);
    if (normalize) normalizeWaveformInto(utterance, target);
    else target.set(utterance);
    mask.fill(1n, row * samples, row * samples + utterance.length);
  });
  return { values, mask, samples };
}

/** Zero mean and unit variance over the utterance, with sums in double precision. */
export function normalizeWaveform(samples: Float32Array): Float32Array {
  return normalizeWaveformInto(samples, new Float32Array(samples.length));
}

/** normalizeWaveform written into `target`, of the same length; indexed loops, since a typed array's iterator costs ten times as much here. */
function normalizeWaveformInto(samples: Float32Array, target: Float32Array): Float32Array {
  const length = samples.length;
  if (length === 0) return target;
  let sum = 0;
  for (let i = 0; i < length; i++) sum += samples[i]!;
  const mean = sum / length;
  let squares = 0;
  for (let i = 0; i < length; i++) squares += (samples[i]! - mean) ** 2;
  const scale = 1 / Math.sqrt(squares / length + VARIANCE_EPSILON);
  for (let i = 0; i < length; i++) target[i] = (samples[i]! - mean) * scale;
  return target;
}
