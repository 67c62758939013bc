// libFLAC's own error reports: the library prints each to stderr ("@wasm-audio-decoders/flac:
// Error: …"); quantgate shows one line in its own words and keeps the library's text for
// QUANTGATE_DEBUG=1.

import { jest } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { AudioDecoder } from '../../src/audio/decode.js';
import { fixture } from '../helpers/paths.js';

const decoder = new AudioDecoder();
afterAll(() => decoder.close());

/** FLAC's frame footer: CRC-16 (polynomial 0x8005) of the frame's bytes before it. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * speech-2.flac with its first frame's subframe header damaged and the frame's CRC-16 made to
 * match again, so that the frame parser passes it to libFLAC, which then reports an error.
 */
async function frameLibFlacRejects(): Promise<Uint8Array> {
  const bytes = new Uint8Array(await readFile(fixture('audio', 'speech-2.flac')));
  let frame = 4;
  for (let last = false; !last;) {
    last = (bytes[frame]! & 0x80) !== 0;
    frame += 4 + ((bytes[frame + 1]! << 16) | (bytes[frame + 2]! << 8) | bytes[frame + 3]!);
  }
  let next = frame + 2;
  while (next < bytes.length && !(bytes[next] === 0xff && bytes[next + 1] === 0xf8)) next++;
  const damaged = bytes.slice();
  damaged[frame + 6]! ^= 0xff;
  const crc = crc16(damaged.subarray(frame, next - 2));
  damaged.set([crc >> 8, crc & 0xff], next - 2);
  return damaged;
}

async function decodeCapturingStderr(bytes: Uint8Array): Promise<{ message: string; stderr: string }> {
  const written: string[] = [];
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((text) => {
    written.push(String(text));
    return true;
  });
  const logged = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    written.push(args.join(' '));
  });
  try {
    const error = await decoder.decode(bytes).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    return { message: error?.message ?? 'decoded without an error', stderr: written.join('') };
  } finally {
    write.mockRestore();
    logged.mockRestore();
  }
}

describe("libFLAC's error reports", () => {
  const debug = process.env.QUANTGATE_DEBUG;
  afterEach(() => {
    if (debug === undefined) delete process.env.QUANTGATE_DEBUG;
    else process.env.QUANTGATE_DEBUG = debug;
  });

  it('become one line in our words, with nothing of the library on stderr', async () => {
    delete process.env.QUANTGATE_DEBUG;
    const { message, stderr } = await decodeCapturingStderr(await frameLibFlacRejects());
    expect(message).toMatch(
      /^FLAC: the decoder lost the frame sync \(bytes that are not a frame\) at frame \d+; the file is corrupt or truncated — download or export it again$/,
    );
    expect(stderr).toBe('');
  });

  it('go to debug output with QUANTGATE_DEBUG=1', async () => {
    process.env.QUANTGATE_DEBUG = '1';
    const { stderr } = await decodeCapturingStderr(await frameLibFlacRejects());
    expect(stderr).toMatch(/^debug: libFLAC: .*LOST_SYNC/m);
    expect(stderr).not.toMatch(/^@wasm-audio-decoders/m);
  });

  it('leave the decoder working for the next file', async () => {
    const bytes = new Uint8Array(await readFile(fixture('audio', 'speech-2.flac')));
    await decodeCapturingStderr(await frameLibFlacRejects());
    expect((await decoder.decode(bytes)).samples.length).toBeGreaterThan(0);
  });
});
