// The Kyutai golden fixtures (test/fixtures/kyutai, produced by moshi's PyTorch code) as typed
// arrays and configs, a SentencePiece `.model` writer for tests, and a model folder laid out
// like a Hub repo around the golden weights.

import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseLmConfig,
  parseMimiConfig,
  type LmConfig,
  type MimiConfig,
} from '../../../src/engines/kyutai-stt/config.js';
import { ProtoWriter, WireType } from '../../../src/protobuf/wire.js';
import { fixture } from '../../helpers/paths.js';

export const GOLDEN_TOKENIZER_PIECES = 48;

async function bytes(name: string): Promise<ArrayBuffer> {
  const buffer = await readFile(fixture('kyutai', name));
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}

export async function goldenFloats(name: string): Promise<Float32Array> {
  return new Float32Array(await bytes(name));
}

export async function goldenInts(name: string): Promise<Int32Array> {
  return new Int32Array(await bytes(name));
}

export async function goldenJson(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(fixture('kyutai', name), 'utf8')) as Record<string, unknown>;
}

export async function goldenLmConfig(): Promise<LmConfig> {
  return parseLmConfig(await goldenJson('lm_config.json'), 'lm_config.json');
}

export async function goldenMimiConfig(): Promise<MimiConfig> {
  return parseMimiConfig(await goldenJson('mimi_config.json'), 'mimi_config.json', (await goldenLmConfig()).nQ);
}

/** Largest |a[i] − b[i]|. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`${a.length} values against ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

export interface TestPiece {
  piece: string;
  /** sentencepiece type: 1 normal, 2 unknown, 3 control, 6 byte. */
  type?: number;
}

/** A serialized sentencepiece ModelProto: the pieces (score 0) and a normalizer spec. */
export function sentencePieceModel(pieces: readonly TestPiece[], addDummyPrefix = true): Uint8Array {
  const model = new ProtoWriter();
  for (const { piece, type } of pieces) {
    const entry = new ProtoWriter();
    entry.lengthDelimited(1, new TextEncoder().encode(piece));
    entry.tag(2, WireType.FIXED32);
    entry.float(0);
    if (type !== undefined) {
      entry.tag(3, WireType.VARINT);
      entry.varint(type);
    }
    model.message(1, entry);
  }
  const normalizer = new ProtoWriter();
  normalizer.lengthDelimited(1, new TextEncoder().encode('identity'));
  normalizer.tag(3, WireType.VARINT);
  normalizer.varint(addDummyPrefix ? 1 : 0);
  model.message(3, normalizer);
  return model.finish();
}

/** The tokenizer of the golden model folder: ids 0–3 control, then "▁w4", "x5", "▁w6", … */
export function goldenTokenizerPieces(): TestPiece[] {
  return Array.from({ length: GOLDEN_TOKENIZER_PIECES }, (_, id) =>
    id <= 3 ? { piece: `<ctl${id}>`, type: 3 } : { piece: id % 2 === 0 ? `▁w${id}` : `x${id}` },
  );
}

/**
 * A Kyutai STT model folder around the golden weights, named as moshi's loader finds them:
 * config.json (the golden LM config, naming the files and mimi_config.json), the two safetensors,
 * Mimi's config and a tokenizer.
 */
export async function writeGoldenModel(dir: string, config: Record<string, unknown> = {}): Promise<string> {
  const lmConfig = await goldenJson('lm_config.json');
  const names = {
    moshi_name: 'model.safetensors',
    mimi_name: 'mimi-test.safetensors',
    tokenizer_name: 'tokenizer.model',
    mimi_config_name: 'mimi_config.json',
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...lmConfig, ...names, ...config }));
  await copyFile(fixture('safetensors', 'lm.safetensors'), join(dir, 'model.safetensors'));
  await copyFile(fixture('kyutai', 'mimi.safetensors'), join(dir, 'mimi-test.safetensors'));
  await copyFile(fixture('kyutai', 'mimi_config.json'), join(dir, 'mimi_config.json'));
  await writeFile(join(dir, 'tokenizer.model'), sentencePieceModel(goldenTokenizerPieces()));
  return dir;
}
