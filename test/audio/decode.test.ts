import { readFile } from 'node:fs/promises';
import { AudioDecoder, probeAudio } from '../../src/audio/decode.js';
import { QuantgateError } from '../../src/common/errors.js';
import { fixture } from '../helpers/paths.js';
import { chunk, fmtBody, float32Wav, pcm16Wav, riffWave } from './make-wav.js';

const decoder = new AudioDecoder();
afterAll(() => decoder.close());

const load = async (name: string) => new Uint8Array(await readFile(fixture('audio', name)));

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function rms(samples: Float32Array): number {
  let sum = 0;
  for (const value of samples) sum += value * value;
  return Math.sqrt(sum / samples.length);
}

describe('WAV sample formats (sox-made, same stereo tone)', () => {
  let reference: Float32Array;
  beforeAll(async () => {
    reference = (await decoder.decode(await load('tone-s16.wav'))).samples;
  });

  it('decodes 16-bit PCM as int/32768, downmixed to mono', async () => {
    const bytes = await load('tone-s16.wav');
    const view = Buffer.from(bytes);
    const data = view.indexOf('data') + 8;
    const [left, right] = [view.readInt16LE(data + 40), view.readInt16LE(data + 42)];
    expect(reference.length).toBe(800);
    expect(reference[10]).toBeCloseTo((left / 32768 + right / 32768) / 2, 7);
    expect(probeAudio(bytes)).toEqual({
      format: 'wav',
      sampleRate: 16000,
      channels: 2,
      bitsPerSample: 16,
      frames: 800,
    });
  });

  it.each([
    ['tone-u8.wav', 8, 1 / 128],
    ['tone-s24.wav', 24, 1 / 32768],
    ['tone-s32.wav', 32, 1 / 32768],
    ['tone-f32.wav', 32, 1 / 32768],
    ['tone-f64.wav', 64, 1 / 32768],
  ])('%s (%i-bit) matches the 16-bit decode within its quantization', async (name, bits, tolerance) => {
    const bytes = await load(name);
    const decoded = await decoder.decode(bytes);
    expect(decoded.sampleRate).toBe(16000);
    expect(probeAudio(bytes).bitsPerSample).toBe(bits);
    expect(maxDifference(decoded.samples, reference)).toBeLessThanOrEqual(tolerance);
  });
});

describe('FLAC', () => {
  it('decodes to the same samples as the WAV of the same tone', async () => {
    const flac = await decoder.decode(await load('tone-s16.flac'));
    const wav = await decoder.decode(await load('tone-s16.wav'));
    expect(flac.sampleRate).toBe(16000);
    expect(maxDifference(flac.samples, wav.samples)).toBe(0);
  });

  // Each of these ends in a frame shorter than the frame parser's look-ahead, which it drops unless
  // the decoder pads the stream.
  it.each(['speech-1.flac', 'speech-2.flac', 'speech-3.flac', 'speech-4.flac'])(
    'decodes %s at its declared rate and full length, repeatably',
    async (name) => {
      const bytes = await load(name);
      const header = probeAudio(bytes);
      expect(header).toMatchObject({ format: 'flac', sampleRate: 16000, channels: 1, bitsPerSample: 16 });
      const first = await decoder.decode(bytes);
      const second = await decoder.decode(bytes);
      expect(first.samples.length).toBe(header.frames);
      expect(rms(first.samples)).toBeGreaterThan(0.01);
      expect(maxDifference(first.samples, second.samples)).toBe(0);
    },
  );

  it('skips a leading ID3v2 tag', async () => {
    const bytes = await load('tone-s16.flac');
    const tag = new Uint8Array([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]);
    const tagged = new Uint8Array([...tag, ...bytes]);
    expect(maxDifference((await decoder.decode(tagged)).samples, (await decoder.decode(bytes)).samples)).toBe(0);
  });

  it('rejects a corrupted frame instead of returning the frames around it', async () => {
    const bytes = await load('speech-2.flac');
    const corrupt = bytes.slice();
    corrupt[Math.floor(corrupt.length / 2)]! ^= 0x10;
    await expect(decoder.decode(corrupt)).rejects.toThrow(
      /^FLAC: decoded \d+ of the \d+ samples STREAMINFO declares; the file is corrupt or truncated/,
    );
  });

  it('rejects a truncated file', async () => {
    const bytes = await load('speech-2.flac');
    await expect(decoder.decode(bytes.subarray(0, bytes.length - 1000))).rejects.toThrow(QuantgateError);
    await expect(decoder.decode(bytes.subarray(0, 30))).rejects.toThrow(/ends inside its STREAMINFO/);
  });

  it('checks the decoded audio against the STREAMINFO MD5 signature', async () => {
    const bytes = await load('tone-s16.flac');
    const tampered = bytes.slice();
    tampered[4 + 4 + 18]! ^= 0xff; // first byte of the MD5 in STREAMINFO
    await expect(decoder.decode(tampered)).rejects.toThrow(/does not match the MD5 signature/);
  });

  it('still decodes good files after a corrupt one', async () => {
    const bytes = await load('speech-3.flac');
    const corrupt = bytes.slice();
    corrupt[2000]! ^= 0x01;
    await expect(decoder.decode(corrupt)).rejects.toThrow(QuantgateError);
    expect((await decoder.decode(bytes)).samples.length).toBe(probeAudio(bytes).frames);
  });
});

describe('WAV structure', () => {
  const tone = Array.from({ length: 96 }, (_, i) => Math.round(16000 * Math.sin(i / 5)) / 32768);
  const toneData = () => {
    const data = Buffer.alloc(tone.length * 2);
    tone.forEach((value, i) => data.writeInt16LE(value * 32768, i * 2));
    return data;
  };
  const fmt16 = (channels = 1) => chunk('fmt ', fmtBody({ tag: 1, channels, sampleRate: 8000, bitsPerSample: 16 }));

  it('skips unknown chunks, odd-sized ones with their pad byte, before and after fmt', async () => {
    const wav = riffWave([
      chunk('LIST', new Uint8Array(7).fill(0x41)),
      fmt16(),
      chunk('junk', new Uint8Array(3)),
      chunk('data', toneData()),
      chunk('id3 ', new Uint8Array(5)),
    ]);
    const decoded = await decoder.decode(wav);
    expect(decoded.sampleRate).toBe(8000);
    expect(Array.from(decoded.samples)).toEqual(tone.map((value) => Math.fround(value)));
  });

  it('averages any number of channels', async () => {
    const frames = 4;
    const interleaved = Array.from(
      { length: frames * 3 },
      (_, i) => ([0.5, -0.25, 0.125][i % 3]! * (1 + Math.floor(i / 3))) / 8,
    );
    const decoded = await decoder.decode(float32Wav(interleaved, 16000, 3));
    expect(Array.from(decoded.samples)).toEqual(
      Array.from({ length: frames }, (_, f) =>
        Math.fround(
          Math.fround(Math.fround(interleaved[3 * f]! + interleaved[3 * f + 1]!) + interleaved[3 * f + 2]!) *
            Math.fround(1 / 3),
        ),
      ),
    );
  });

  it('reads WAVE_FORMAT_EXTENSIBLE with the float sub-format', async () => {
    const fmt = Buffer.alloc(40);
    Buffer.from(fmtBody({ tag: 0xfffe, channels: 1, sampleRate: 16000, bitsPerSample: 32 })).copy(fmt);
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(32, 18);
    fmt.writeUInt16LE(3, 24);
    Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]).copy(fmt, 26);
    const data = Buffer.alloc(8);
    data.writeFloatLE(0.25, 0);
    data.writeFloatLE(-0.75, 4);
    expect(Array.from((await decoder.decode(riffWave([chunk('fmt ', fmt), chunk('data', data)]))).samples)).toEqual([
      0.25, -0.75,
    ]);
    fmt[30] = 0x11; // corrupt the GUID tail
    await expect(decoder.decode(riffWave([chunk('fmt ', fmt), chunk('data', data)]))).rejects.toThrow(
      /unknown WAVE_FORMAT_EXTENSIBLE sub-format/,
    );
  });

  it.each([
    [
      'a truncated data chunk',
      () => riffWave([fmt16(), chunk('data', toneData())]).subarray(0, 60),
      /data chunk declares 192 bytes but only 16 follow; the file is truncated/,
    ],
    [
      'a partial frame',
      () => riffWave([fmt16(2), chunk('data', toneData().subarray(0, 190))]),
      /not a whole number of 4-byte frames/,
    ],
    ['no fmt chunk', () => riffWave([chunk('data', toneData())]), /no fmt chunk/],
    ['no data chunk', () => riffWave([fmt16()]), /no data chunk/],
    [
      'a wrong block align',
      () =>
        riffWave([
          chunk('fmt ', fmtBody({ tag: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16, blockAlign: 4 })),
          chunk('data', toneData()),
        ]),
      /block align 4 does not match 1 channels of 16 bits/,
    ],
    [
      'ADPCM',
      () =>
        riffWave([
          chunk('fmt ', fmtBody({ tag: 2, channels: 1, sampleRate: 8000, bitsPerSample: 4 })),
          chunk('data', toneData()),
        ]),
      /format tag 0x0002 is not supported/,
    ],
    [
      '12-bit PCM',
      () =>
        riffWave([
          chunk('fmt ', fmtBody({ tag: 1, channels: 1, sampleRate: 8000, bitsPerSample: 12, blockAlign: 2 })),
          chunk('data', toneData()),
        ]),
      /12-bit PCM is not supported/,
    ],
    [
      'zero channels',
      () =>
        riffWave([
          chunk('fmt ', fmtBody({ tag: 1, channels: 0, sampleRate: 8000, bitsPerSample: 16, blockAlign: 2 })),
          chunk('data', toneData()),
        ]),
      /declares 0 channels/,
    ],
    [
      'a zero sample rate',
      () =>
        riffWave([
          chunk('fmt ', fmtBody({ tag: 1, channels: 1, sampleRate: 0, bitsPerSample: 16 })),
          chunk('data', toneData()),
        ]),
      /sample rate of 0 Hz/,
    ],
    ['NaN samples', () => float32Wav([0.5, Number.NaN], 16000), /contains samples that are infinite or not a number/],
    ['no samples', () => pcm16Wav([], 16000), /holds no samples/],
  ])('rejects %s with a one-line QuantgateError', async (_, make, message) => {
    const error = await decoder.decode(make()).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(QuantgateError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('format detection', () => {
  it('goes by magic bytes, not names', async () => {
    const flac = await load('tone-s16.flac');
    expect(probeAudio(flac).format).toBe('flac');
    expect(probeAudio(pcm16Wav([0.1], 16000)).format).toBe('wav');
  });

  it.each([
    ['empty input', new Uint8Array(0), /the file is empty, not WAV or FLAC; convert the audio to WAV or FLAC/],
    ['Ogg', new TextEncoder().encode('OggS\0\x02rest'), /the file is Ogg, not WAV or FLAC/],
    ['MP3', new Uint8Array([0xff, 0xfb, 0x90, 0x64, 0, 0]), /looks like MP3/],
    ['big-endian WAV', new TextEncoder().encode('RIFX\0\0\0\0WAVEfmt '), /big-endian WAV \(RIFX\)/],
    ['anything else', new Uint8Array([1, 2, 3, 4, 5]), /starts with bytes 01 02 03 04/],
  ])('names %s in its error', (_, bytes, message) => {
    expect(() => probeAudio(bytes)).toThrow(message);
  });
});
