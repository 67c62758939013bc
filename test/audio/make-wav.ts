// Builds WAV files chunk by chunk, so tests can make well-formed variants and deliberately broken ones.

export interface Chunk {
  id: string;
  body: Uint8Array;
}

export function chunk(id: string, body: Uint8Array): Chunk {
  return { id, body };
}

/** A RIFF/WAVE file of the given chunks, each padded to an even length as the format requires. */
export function riffWave(chunks: Chunk[]): Uint8Array {
  const parts = chunks.flatMap(({ id, body }) => {
    const header = Buffer.alloc(8);
    header.write(id, 0, 'latin1');
    header.writeUInt32LE(body.length, 4);
    return body.length % 2 ? [header, body, new Uint8Array(1)] : [header, body];
  });
  const payload = Buffer.concat([Buffer.from('WAVE'), ...parts]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(payload.length, 4);
  return new Uint8Array(Buffer.concat([riff, payload]));
}

export interface FormatFields {
  tag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign?: number;
}

/** A 16-byte PCM/float `fmt ` body. */
export function fmtBody({ tag, channels, sampleRate, bitsPerSample, blockAlign }: FormatFields): Uint8Array {
  const align = blockAlign ?? (channels * bitsPerSample) / 8;
  const body = Buffer.alloc(16);
  body.writeUInt16LE(tag, 0);
  body.writeUInt16LE(channels, 2);
  body.writeUInt32LE(sampleRate, 4);
  body.writeUInt32LE(sampleRate * align, 8);
  body.writeUInt16LE(align, 12);
  body.writeUInt16LE(bitsPerSample, 14);
  return body;
}

/** 16-bit PCM WAV of float samples in [-1, 1), interleaved when `channels` > 1. */
export function pcm16Wav(samples: ArrayLike<number>, sampleRate: number, channels = 1): Uint8Array {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++)
    data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768))), i * 2);
  return riffWave([chunk('fmt ', fmtBody({ tag: 1, channels, sampleRate, bitsPerSample: 16 })), chunk('data', data)]);
}

/** Float32 WAV of the given samples. */
export function float32Wav(samples: ArrayLike<number>, sampleRate: number, channels = 1): Uint8Array {
  const data = Buffer.alloc(samples.length * 4);
  for (let i = 0; i < samples.length; i++) data.writeFloatLE(samples[i]!, i * 4);
  return riffWave([chunk('fmt ', fmtBody({ tag: 3, channels, sampleRate, bitsPerSample: 32 })), chunk('data', data)]);
}
