import { encodeWav } from '../../src/audio/wav-writer.js';
import { decodeWavChannels, parseWavHeader } from '../../src/audio/wav.js';
import { QuantgateError } from '../../src/common/errors.js';
import { pcm16Wav } from './make-wav.js';

const samples = Float32Array.from({ length: 1000 }, (_, i) => 0.8 * Math.sin(i / 7) + 0.01 * Math.cos(i * 1.3));

function chunkIds(bytes: Uint8Array): string[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ids: string[] = [];
  for (let at = 12; at + 8 <= view.length; at += 8 + view.readUInt32LE(at + 4))
    ids.push(view.toString('latin1', at, at + 4));
  return ids;
}

describe('encodeWav', () => {
  it('writes canonical 16-bit PCM: a 44-byte header, samples × 32768 rounded', () => {
    const bytes = encodeWav(samples, 16000, 'pcm16');
    expect(bytes).toEqual(pcm16Wav(samples, 16000));
    expect(bytes.length).toBe(44 + 2 * samples.length);
    expect(chunkIds(bytes)).toEqual(['fmt ', 'data']);
  });

  it('clips PCM16 to the 16-bit range and rounds to the nearest step', () => {
    const bytes = Buffer.from(
      encodeWav(Float32Array.of(1, 1.5, -1, -1.5, 0.5, 1 / 65536 + 1e-7, -0.25), 8000, 'pcm16'),
    );
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => bytes.readInt16LE(44 + 2 * i))).toEqual([
      32767, 32767, -32768, -32768, 16384, 1, -8192,
    ]);
  });

  it('round-trips through the WAV reader at the given rate, within one PCM16 step', () => {
    const bytes = encodeWav(samples, 22050, 'pcm16');
    const header = parseWavHeader(bytes);
    expect(header).toMatchObject({
      sampleRate: 22050,
      channels: 1,
      bitsPerSample: 16,
      encoding: 'int',
      frames: samples.length,
    });
    const [decoded] = decodeWavChannels(bytes, header);
    expect(decoded!.every((value, i) => Math.abs(value - samples[i]!) <= 0.5 / 32768)).toBe(true);
  });

  it('writes float32 with the extended fmt chunk and a fact chunk, and keeps samples exactly', () => {
    const bytes = encodeWav(samples, 16000, 'float32');
    const view = Buffer.from(bytes);
    expect(chunkIds(bytes)).toEqual(['fmt ', 'fact', 'data']);
    expect(view.readUInt32LE(16)).toBe(18); // fmt size
    expect(view.readUInt16LE(20)).toBe(3); // WAVE_FORMAT_IEEE_FLOAT
    expect(view.readUInt16LE(36)).toBe(0); // cbSize
    expect(view.readUInt32LE(46)).toBe(samples.length); // fact: frames
    expect(view.readUInt32LE(4)).toBe(bytes.length - 8);
    const header = parseWavHeader(bytes);
    expect(header).toMatchObject({ sampleRate: 16000, bitsPerSample: 32, encoding: 'float', frames: samples.length });
    expect(decodeWavChannels(bytes, header)[0]).toEqual(samples);
  });

  it('writes an empty but valid file for no samples', () => {
    const bytes = encodeWav(new Float32Array(0), 16000, 'pcm16');
    expect(parseWavHeader(bytes).frames).toBe(0);
  });

  it('refuses non-finite samples and impossible rates with one-line errors', () => {
    expect(() => encodeWav(Float32Array.of(0, NaN), 16000, 'pcm16')).toThrow(
      new QuantgateError('WAV: sample 1 is not a number; the audio is corrupt — decode it again from the source file'),
    );
    expect(() => encodeWav(Float32Array.of(Infinity), 16000, 'float32')).toThrow(/sample 0 is infinite/);
    for (const rate of [0, -16000, 16000.5, 2 ** 31])
      expect(() => encodeWav(samples, rate, 'float32')).toThrow(QuantgateError);
  });
});
