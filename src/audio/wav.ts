// RIFF/WAVE parsing: finds the format and data chunks (skipping any others), and converts the
// PCM or IEEE-float frames to float32 per channel, integers scaled by 2^(bits-1).

import { QuantgateError } from '../common/errors.js';

export interface WavHeader {
  sampleRate: number;
  channels: number;
  /** Bits per sample as stored (the container size, a multiple of 8). */
  bitsPerSample: number;
  encoding: 'int' | 'float';
  frames: number;
  /** Byte offset of the first frame. */
  dataOffset: number;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** The 14 bytes every KSDATAFORMAT_SUBTYPE_* GUID shares after its leading format tag. */
const SUBFORMAT_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
const FIX = 'the file is corrupt or not a PCM WAV — re-encode it as 16-bit PCM WAV or FLAC';

export function isWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE';
}

/** Reads the header chunks; throws a QuantgateError naming what is malformed. */
export function parseWavHeader(bytes: Uint8Array): WavHeader {
  if (!isWav(bytes)) throw new QuantgateError(`WAV: no RIFF/WAVE header; ${FIX}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: Omit<WavHeader, 'frames' | 'dataOffset'> | undefined;
  let blockAlign = 0;
  let data: { offset: number; size: number } | undefined;

  for (let offset = 12; offset + 8 <= bytes.length;) {
    const id = ascii(bytes, offset, 4);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'data') {
      if (size > bytes.length - body) {
        throw new QuantgateError(
          `WAV: data chunk declares ${size} bytes but only ${bytes.length - body} follow; the file is truncated — download or export it again`,
        );
      }
      data = { offset: body, size };
    } else if (id === 'fmt ') {
      if (size < 16 || size > bytes.length - body)
        throw new QuantgateError(`WAV: fmt chunk of ${size} bytes is malformed; ${FIX}`);
      ({ format, blockAlign } = readFormat(view, body, size));
    }
    // Chunks are word-aligned: an odd-sized chunk is followed by one pad byte.
    offset = body + size + (size & 1);
  }

  if (!format) throw new QuantgateError(`WAV: no fmt chunk; ${FIX}`);
  if (!data) throw new QuantgateError(`WAV: no data chunk; ${FIX}`);
  if (blockAlign !== format.channels * (format.bitsPerSample / 8)) {
    throw new QuantgateError(
      `WAV: block align ${blockAlign} does not match ${format.channels} channels of ${format.bitsPerSample} bits; ${FIX}`,
    );
  }
  if (data.size % blockAlign !== 0) {
    throw new QuantgateError(
      `WAV: data chunk of ${data.size} bytes is not a whole number of ${blockAlign}-byte frames; the file is truncated or corrupt — export it again`,
    );
  }
  return { ...format, frames: data.size / blockAlign, dataOffset: data.offset };
}

/** The samples of each channel as float32: integers divided by 2^(bits-1), floats as stored. */
export function decodeWavChannels(bytes: Uint8Array, header: WavHeader): Float32Array[] {
  const { channels, frames, bitsPerSample, encoding, dataOffset } = header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = sampleReader(view, bitsPerSample, encoding);
  const width = bitsPerSample / 8;
  const output = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let channel = 0; channel < channels; channel++) {
    const samples = output[channel];
    for (let frame = 0, at = dataOffset + channel * width; frame < frames; frame++, at += channels * width) {
      samples[frame] = read(at);
    }
    if (encoding === 'float' && !samples.every(Number.isFinite)) {
      throw new QuantgateError(
        `WAV: channel ${channel + 1} contains samples that are infinite or not a number; the file is corrupt — export it again`,
      );
    }
  }
  return output;
}

function readFormat(
  view: DataView,
  at: number,
  size: number,
): { format: Omit<WavHeader, 'frames' | 'dataOffset'>; blockAlign: number } {
  let tag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40)
      throw new QuantgateError(`WAV: WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes is too short; ${FIX}`);
    const guid = new Uint8Array(view.buffer, view.byteOffset + at + 24, 16);
    if (!SUBFORMAT_GUID_TAIL.every((byte, i) => guid[i + 2] === byte))
      throw new QuantgateError(`WAV: unknown WAVE_FORMAT_EXTENSIBLE sub-format; ${FIX}`);
    tag = view.getUint16(at + 24, true);
  }
  if (channels === 0) throw new QuantgateError(`WAV: fmt chunk declares 0 channels; ${FIX}`);
  if (sampleRate === 0) throw new QuantgateError(`WAV: fmt chunk declares a sample rate of 0 Hz; ${FIX}`);
  if (tag === WAVE_FORMAT_PCM && [8, 16, 24, 32].includes(bitsPerSample)) {
    return { format: { sampleRate, channels, bitsPerSample, encoding: 'int' }, blockAlign };
  }
  if (tag === WAVE_FORMAT_IEEE_FLOAT && [32, 64].includes(bitsPerSample)) {
    return { format: { sampleRate, channels, bitsPerSample, encoding: 'float' }, blockAlign };
  }
  const kind =
    tag === WAVE_FORMAT_PCM
      ? `${bitsPerSample}-bit PCM`
      : tag === WAVE_FORMAT_IEEE_FLOAT
        ? `${bitsPerSample}-bit float`
        : `format tag 0x${tag.toString(16).padStart(4, '0')}`;
  throw new QuantgateError(
    `WAV: ${kind} is not supported (only 8/16/24/32-bit PCM and 32/64-bit float); re-encode it as 16-bit PCM WAV or FLAC`,
  );
}

function sampleReader(view: DataView, bits: number, encoding: 'int' | 'float'): (at: number) => number {
  if (encoding === 'float') return bits === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  switch (bits) {
    case 8: // 8-bit WAV is the one unsigned PCM width
      return (at) => (view.getUint8(at) - 128) / 128;
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => (view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608;
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}
