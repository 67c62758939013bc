// Mono WAV encoding, for handing audio to programs outside quantgate. 16-bit PCM is what every
// reader accepts (Python's `wave` module reads nothing else); 32-bit float keeps the samples
// exactly, with the extended `fmt ` chunk and `fact` chunk that the WAV rules ask of non-PCM data.

import { QuantgateError } from '../common/errors.js';

export type WavEncoding = 'pcm16' | 'float32';

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
/** RIFF sizes are unsigned 32-bit. */
const MAX_RIFF_SIZE = 0xffffffff;

/**
 * The whole WAV file for `samples` (nominally in [-1, 1]). PCM16 scales by 32768 — the inverse
 * of what WAV readers divide by — rounds, and clips to the 16-bit range.
 */
export function encodeWav(samples: Float32Array, sampleRate: number, encoding: WavEncoding): Uint8Array {
  const float = encoding === 'float32';
  const bytesPerSample = float ? 4 : 2;
  // The header also stores the byte rate, rate × sample size, in 32 bits.
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate * bytesPerSample > MAX_RIFF_SIZE) {
    throw new QuantgateError(
      `WAV: sample rate ${sampleRate} Hz is not a valid rate; pass a whole number of Hz, e.g. 16000`,
    );
  }
  const formatSize = float ? 18 : 16;
  const dataSize = samples.length * bytesPerSample;
  const headerSize = 12 + 8 + formatSize + (float ? 12 : 0) + 8;
  if (headerSize - 8 + dataSize > MAX_RIFF_SIZE) {
    throw new QuantgateError(
      `WAV: ${samples.length} samples exceed the 4 GiB size limit of a WAV file; split the audio into shorter pieces`,
    );
  }

  const bytes = new Uint8Array(headerSize + dataSize);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const chunkHeader = (id: string, size: number) => {
    for (let i = 0; i < 4; i++) view.setUint8(at + i, id.charCodeAt(i));
    view.setUint32(at + 4, size, true);
    at += 8;
  };

  chunkHeader('RIFF', bytes.length - 8);
  for (const char of 'WAVE') view.setUint8(at++, char.charCodeAt(0));
  chunkHeader('fmt ', formatSize);
  view.setUint16(at, float ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM, true);
  view.setUint16(at + 2, 1, true);
  view.setUint32(at + 4, sampleRate, true);
  view.setUint32(at + 8, sampleRate * bytesPerSample, true);
  view.setUint16(at + 12, bytesPerSample, true);
  view.setUint16(at + 14, bytesPerSample * 8, true);
  if (float) view.setUint16(at + 16, 0, true); // cbSize: no extension follows
  at += formatSize;
  if (float) {
    chunkHeader('fact', 4);
    view.setUint32(at, samples.length, true);
    at += 4;
  }
  chunkHeader('data', dataSize);

  for (let i = 0; i < samples.length; i++, at += bytesPerSample) {
    const sample = samples[i]!;
    if (!Number.isFinite(sample)) {
      throw new QuantgateError(
        `WAV: sample ${i} is ${Number.isNaN(sample) ? 'not a number' : 'infinite'}; the audio is corrupt — decode it again from the source file`,
      );
    }
    if (float) view.setFloat32(at, sample, true);
    else view.setInt16(at, Math.max(-32768, Math.min(32767, Math.round(sample * 32768))), true);
  }
  return bytes;
}
