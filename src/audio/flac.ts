// FLAC decoding through libFLAC (@wasm-audio-decoders/flac), checked against the stream's own
// STREAMINFO: the decoder drops frames it cannot parse without reporting an error, so the sample
// count and the MD5 signature of the decoded samples are what tell corrupt data from good.
// The library also prints each error it meets to stderr; that text goes to debug output only.

import { createHash } from 'node:crypto';
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { debugLog } from '../common/debug.js';
import { QuantgateError, describeError } from '../common/errors.js';

export interface FlacHeader {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Frames (samples per channel) the stream declares; undefined when the encoder left it unknown. */
  frames: number | undefined;
  /** MD5 of the interleaved little-endian samples; undefined when the encoder left it zero. */
  md5: string | undefined;
  /** Where the `fLaC` marker starts (after any ID3v2 tag). */
  streamOffset: number;
}

const FIX = 'the file is corrupt or truncated — download or export it again';
/**
 * The frame parser (codec-parser) accepts a frame only once it can read the next frame's header;
 * at the end of the stream a final frame shorter than that look-ahead is merged into the frame
 * before and silently lost. Zero bytes after the stream give it the look-ahead; they leave the
 * frame CRC-16 check unchanged and libFLAC ignores them.
 */
const TRAILING_ZEROS = 64;

/** Offset of the `fLaC` marker, skipping an ID3v2 tag the way libFLAC does; -1 when not FLAC. */
export function flacStreamOffset(bytes: Uint8Array): number {
  let offset = 0;
  if (bytes.length >= 10 && bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) {
    // ID3v2 size: four 7-bit "syncsafe" bytes, plus a 10-byte footer when flag 0x10 is set.
    const size = ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | (bytes[9] & 0x7f);
    offset = 10 + size + (bytes[5] & 0x10 ? 10 : 0);
  }
  const isFlac =
    bytes.length >= offset + 4 &&
    bytes[offset] === 0x66 &&
    bytes[offset + 1] === 0x4c &&
    bytes[offset + 2] === 0x61 &&
    bytes[offset + 3] === 0x43;
  return isFlac ? offset : -1;
}

export function parseFlacHeader(bytes: Uint8Array): FlacHeader {
  const streamOffset = flacStreamOffset(bytes);
  if (streamOffset < 0) throw new QuantgateError(`FLAC: no fLaC marker; ${FIX}`);
  // STREAMINFO must be the first metadata block: 4-byte block header, then 34 bytes.
  const at = streamOffset + 4;
  if (bytes.length < at + 38) throw new QuantgateError(`FLAC: the stream ends inside its STREAMINFO block; ${FIX}`);
  if ((bytes[at] & 0x7f) !== 0) throw new QuantgateError(`FLAC: the first metadata block is not STREAMINFO; ${FIX}`);
  const info = bytes.subarray(at + 4, at + 38);
  const sampleRate = (info[10] << 12) | (info[11] << 4) | (info[12] >> 4);
  const channels = ((info[12] >> 1) & 0x07) + 1;
  const bitsPerSample = (((info[12] & 0x01) << 4) | (info[13] >> 4)) + 1;
  const frames = (info[13] & 0x0f) * 2 ** 32 + ((info[14] << 24) >>> 0) + (info[15] << 16) + (info[16] << 8) + info[17];
  const md5 = Buffer.from(info.subarray(18, 34)).toString('hex');
  if (sampleRate === 0) throw new QuantgateError(`FLAC: STREAMINFO declares a sample rate of 0 Hz; ${FIX}`);
  return {
    sampleRate,
    channels,
    bitsPerSample,
    frames: frames || undefined,
    md5: /^0+$/.test(md5) ? undefined : md5,
    streamOffset,
  };
}

/** One libFLAC instance, reused for every file until `close`. */
export class FlacDecoder {
  private decoder: FLACDecoder | undefined;

  /** Decodes a whole FLAC file into samples per channel: the stored integers divided by 2^(bits-1). */
  async decode(bytes: Uint8Array, header: FlacHeader): Promise<Float32Array[]> {
    this.decoder ??= new FLACDecoder();
    await this.decoder.ready;
    const stream = new Uint8Array(bytes.length - header.streamOffset + TRAILING_ZEROS);
    stream.set(bytes.subarray(header.streamOffset));
    let decoded;
    try {
      decoded = await quietly(() => this.decoder!.decodeFile(stream));
    } catch (error) {
      // The decoder resets itself only after a successful decode; start the next file on a fresh one.
      this.close();
      debugLog('libFLAC', describeError(error));
      throw new QuantgateError(`FLAC: the decoder failed on the stream; ${FIX}`, { cause: error });
    }
    if (decoded.errors.length > 0) {
      const [{ message, frameNumber }] = decoded.errors;
      debugLog('libFLAC', message);
      throw new QuantgateError(
        `FLAC: ${describeFlacError(message)}${Number.isInteger(frameNumber) ? ` at frame ${frameNumber}` : ''}; ${FIX}`,
      );
    }
    if (header.frames !== undefined && decoded.samplesDecoded !== header.frames) {
      throw new QuantgateError(
        `FLAC: decoded ${decoded.samplesDecoded} of the ${header.frames} samples STREAMINFO declares; ${FIX}`,
      );
    }
    if (decoded.channelData.length !== header.channels) {
      throw new QuantgateError(
        `FLAC: decoded ${decoded.channelData.length} channels, STREAMINFO declares ${header.channels}; ${FIX}`,
      );
    }
    return rescale(decoded.channelData, header);
  }

  close(): void {
    this.decoder?.free();
    this.decoder = undefined;
  }
}

/** libFLAC's error status ("Error: FLAC__STREAM_DECODER_ERROR_STATUS_LOST_SYNC; State: …") in words. */
function describeFlacError(message: string): string {
  const status = /ERROR_STATUS_([A-Z_]+)/.exec(message)?.[1];
  switch (status) {
    case 'LOST_SYNC':
      return 'the decoder lost the frame sync (bytes that are not a frame)';
    case 'BAD_HEADER':
      return 'a frame header is malformed';
    case 'FRAME_CRC_MISMATCH':
      return 'a frame fails its CRC check';
    case 'UNPARSEABLE_STREAM':
      return 'a frame uses a layout the decoder cannot parse';
    case 'BAD_METADATA':
      return 'a metadata block is malformed';
    default:
      return /MEMORY_ALLOCATION/.test(message) ? 'the decoder ran out of memory' : 'the decoder reported an error';
  }
}

/**
 * Runs `decode` with console.error diverted to debug output. The library logs from inside
 * decodeFile's synchronous part (every frame is decoded before its first await), so nothing else
 * runs while the console is diverted.
 */
function quietly<T>(decode: () => Promise<T>): Promise<T> {
  const print = console.error;
  console.error = (...args: unknown[]) => debugLog('libFLAC', args.map(String).join(' '));
  try {
    return decode();
  } finally {
    console.error = print;
  }
}

/**
 * libFLAC's wrapper divides by 2^(bits-1) - 1; recovering the integers (exact up to 24 bits, since
 * float32 holds 24 significant bits) lets us verify the MD5 and scale by 2^(bits-1) like WAV does.
 * Wider samples cannot be recovered exactly, so their MD5 goes unchecked.
 */
function rescale(channelData: Float32Array[], header: FlacHeader): Float32Array[] {
  const full = 2 ** (header.bitsPerSample - 1);
  const wrapperScale = full - 1;
  if (header.bitsPerSample > 24) {
    return channelData.map((samples) => {
      const output = new Float32Array(samples.length);
      for (let i = 0; i < samples.length; i++) output[i] = (samples[i] * wrapperScale) / full;
      return output;
    });
  }
  const integers: Int32Array[] = [];
  const output: Float32Array[] = [];
  for (const samples of channelData) {
    const values = new Int32Array(samples.length);
    const scaled = new Float32Array(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const value = Math.round(samples[i] * wrapperScale);
      values[i] = value;
      scaled[i] = value / full;
    }
    integers.push(values);
    output.push(scaled);
  }
  if (header.md5 !== undefined && md5OfSamples(integers, header.bitsPerSample) !== header.md5) {
    throw new QuantgateError(`FLAC: the decoded audio does not match the MD5 signature in STREAMINFO; ${FIX}`);
  }
  return output;
}

/** FLAC's signature: samples interleaved, each little-endian in the fewest whole bytes that hold it. */
function md5OfSamples(channels: Int32Array[], bitsPerSample: number): string {
  const width = Math.ceil(bitsPerSample / 8);
  const frames = channels[0]?.length ?? 0;
  const hash = createHash('md5');
  const chunkFrames = 65536;
  const buffer = new Uint8Array(chunkFrames * channels.length * width);
  for (let start = 0; start < frames; start += chunkFrames) {
    const end = Math.min(frames, start + chunkFrames);
    let at = 0;
    for (let frame = start; frame < end; frame++) {
      for (const samples of channels) {
        const value = samples[frame];
        for (let byte = 0; byte < width; byte++) buffer[at++] = value >> (8 * byte);
      }
    }
    hash.update(buffer.subarray(0, at));
  }
  return hash.digest('hex');
}
