// WAV and FLAC audio: AudioDecoder.decode, as the datasets stage calls it, one decoder reused.
import { AudioDecoder } from '../../src/audio/decode.js';
import { flacSeeds, wavSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';

let decoder: AudioDecoder | undefined;

async function decode(input: Uint8Array): Promise<void> {
  decoder ??= new AudioDecoder();
  await decoder.decode(input);
}

export const wav: FuzzTarget = {
  name: 'wav',
  summary: 'WAV audio (AudioDecoder.decode)',
  structure: 'binary-head',
  seeds: async () => wavSeeds(),
  parse: decode,
};

export const flac: FuzzTarget = {
  name: 'flac',
  summary: 'FLAC audio (AudioDecoder.decode)',
  structure: 'binary-head',
  seeds: flacSeeds,
  parse: decode,
};
