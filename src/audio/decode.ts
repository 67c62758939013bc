// Audio files in, mono float32 out: detects WAV or FLAC by their magic bytes (never by file
// name), decodes, and downmixes by averaging the channels. Every failure is a QuantgateError,
// which the datasets stage turns into a failed utterance.

import { QuantgateError } from '../common/errors.js';
import { FlacDecoder, flacStreamOffset, parseFlacHeader } from './flac.js';
import { decodeWavChannels, isWav, parseWavHeader } from './wav.js';

export type AudioFormat = 'wav' | 'flac';

export interface AudioHeader {
  format: AudioFormat;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Samples per channel; undefined for a FLAC stream that does not declare its length. */
  frames: number | undefined;
}

export interface DecodedAudio {
  /** Mono samples, nominally in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
}

/** Reads only the header: format, rate, channels and length, for checks before decoding. */
export function probeAudio(bytes: Uint8Array): AudioHeader {
  if (isWav(bytes)) {
    const { sampleRate, channels, bitsPerSample, frames } = parseWavHeader(bytes);
    return { format: 'wav', sampleRate, channels, bitsPerSample, frames };
  }
  if (flacStreamOffset(bytes) >= 0) {
    const { sampleRate, channels, bitsPerSample, frames } = parseFlacHeader(bytes);
    return { format: 'flac', sampleRate, channels, bitsPerSample, frames };
  }
  throw new QuantgateError(`${describeMagic(bytes)}, not WAV or FLAC; convert the audio to WAV or FLAC`);
}

/**
 * Decodes WAV and FLAC files, one at a time (await each call before the next); holds one FLAC
 * decoder for reuse, so call `close` when done.
 */
export class AudioDecoder {
  private readonly flac = new FlacDecoder();

  async decode(bytes: Uint8Array): Promise<DecodedAudio> {
    const header = probeAudio(bytes);
    if (header.frames === 0)
      throw new QuantgateError(
        `${header.format.toUpperCase()}: the file holds no samples; remove it or export it again`,
      );
    const channels =
      header.format === 'wav'
        ? decodeWavChannels(bytes, parseWavHeader(bytes))
        : await this.flac.decode(bytes, parseFlacHeader(bytes));
    return { samples: downmix(channels), sampleRate: header.sampleRate };
  }

  close(): void {
    this.flac.close();
  }
}

function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const mono = new Float32Array(channels[0].length);
  for (const samples of channels) {
    for (let i = 0; i < mono.length; i++) mono[i] += samples[i];
  }
  const scale = 1 / channels.length;
  for (let i = 0; i < mono.length; i++) mono[i] *= scale;
  return mono;
}

function describeMagic(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty';
  const text = String.fromCharCode(...bytes.subarray(0, 4));
  if (text === 'OggS') return 'the file is Ogg';
  if (text.startsWith('ID3') || (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0)) return 'the file looks like MP3';
  if (text === 'RIFX') return 'the file is big-endian WAV (RIFX)';
  if (text === 'RF64') return 'the file is 64-bit WAV (RF64)';
  if (text === 'RIFF') return 'the file is RIFF but not WAVE';
  const hex = Array.from(bytes.subarray(0, 4), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return `the file starts with bytes ${hex}`;
}
