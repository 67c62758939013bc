// The reference base file (`reference_base.bin`): the float model's output distribution at every
// step of every utterance, and its transcript, kept so that a later run can measure a candidate's
// KL divergence and ΔWER without running the reference again (as llama.cpp's
// `--kl-divergence-base`). The format is quantgate's own:
//
//   magic "QGREFBAS" · u32 version · u32 header length · header (JSON, UTF-8)
//   records, one per utterance:
//     u32 id length · id (UTF-8) · u32 text length · the reference's transcript (UTF-8) · u32 steps
//     each step: i32 token · f32 log of the rest mass · k × i32 ids · k × f32 log-probabilities
//                (a "full" file stores no ids and no rest: the vocabulary's log-probabilities in order)
//   SHA-256 of everything before it (32 bytes)
//
// All numbers are little-endian. The header says what produced the file (tool and version) and what
// it is the reference of (model, engine, device, dataset selection); a base whose identity differs
// from the run's is refused with the field that differs. Reading checks the checksum first and every
// length against the bytes left, so a truncated or corrupt file is one clean error.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { AtomicFile } from '../common/atomic.js';
import { QuantgateError, describeError } from '../common/errors.js';
import type { ReferenceStep } from './token-damage.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export const REFERENCE_BASE_NAME = 'reference_base.bin';
export const REFERENCE_BASE_VERSION = 1;
/** Entries kept per step when the vocabulary is larger (`--base-top-k`). */
export const DEFAULT_BASE_TOP_K = 32;
const MAGIC = Buffer.from('QGREFBAS', 'ascii');
const CHECKSUM_BYTES = 32;
/** Read whole into memory: a base of the full test-clean with a 32-entry top-k is about 130 MB. */
const MAX_FILE_BYTES = 1 << 30;
const MAX_HEADER_BYTES = 1 << 20;

/** What the base is the reference of; every field must match the run that reuses it. */
export interface ReferenceBaseIdentity {
  /** The model's files by sha256 (or its repo and commit). */
  model: string;
  engine: string;
  device: string;
  /** The dataset's commit and the selection of utterances. */
  dataset: string;
}

export interface ReferenceBaseHeader {
  identity: ReferenceBaseIdentity;
  distribution: 'full' | 'top-k';
  /** Entries kept per step: the vocabulary for a full distribution. */
  k: number;
  vocabulary: number;
  producer: { tool: string; version: string };
}

export interface ReferenceBaseUtterance {
  /** The reference's transcript. */
  text: string;
  steps: ReferenceStep[];
}

export interface ReferenceBase {
  header: ReferenceBaseHeader;
  /** The file's checksum, hex: what a candidate measured against this base is keyed by. */
  sha256: string;
  /** Each utterance by id, in the order they were written. */
  utterances: Map<string, ReferenceBaseUtterance>;
}

/** Writes a base utterance by utterance under a temp name; `commit` renames it into place. */
export class ReferenceBaseWriter {
  private readonly hash = createHash('sha256');

  private constructor(
    private readonly file: AtomicFile,
    readonly header: ReferenceBaseHeader,
  ) {}

  static async create(path: string, description: Omit<ReferenceBaseHeader, 'producer'>): Promise<ReferenceBaseWriter> {
    const header: ReferenceBaseHeader = { ...description, producer: { tool: TOOL_NAME, version: TOOL_VERSION } };
    if (
      !(header.k >= 1 && header.k <= header.vocabulary) ||
      (header.distribution === 'full') !== (header.k === header.vocabulary)
    ) {
      throw new RangeError(`a ${header.distribution} base keeps ${header.k} of ${header.vocabulary} entries`);
    }
    const writer = new ReferenceBaseWriter(await AtomicFile.create(path), header);
    const json = Buffer.from(JSON.stringify(header));
    await writer.write(Buffer.concat([MAGIC, u32(REFERENCE_BASE_VERSION), u32(json.length), json]));
    return writer;
  }

  async append(id: string, text: string, steps: readonly ReferenceStep[]): Promise<void> {
    const { k, distribution } = this.header;
    const full = distribution === 'full';
    const idBytes = Buffer.from(id);
    const textBytes = Buffer.from(text);
    const stepBytes = full ? 4 + 4 * k : 8 + 8 * k;
    const record = Buffer.alloc(12 + idBytes.length + textBytes.length + steps.length * stepBytes);
    record.writeUInt32LE(idBytes.length, 0);
    idBytes.copy(record, 4);
    let at = 4 + idBytes.length;
    record.writeUInt32LE(textBytes.length, at);
    textBytes.copy(record, at + 4);
    at += 4 + textBytes.length;
    record.writeUInt32LE(steps.length, at);
    at += 4;
    for (const step of steps) {
      if (step.ids.length !== k)
        throw new RangeError(`a step of utterance ${id} keeps ${step.ids.length} entries, not ${k}`);
      record.writeInt32LE(step.token, at);
      at += 4;
      if (!full) {
        record.writeFloatLE(step.logRest, at);
        at += 4;
        for (const id of step.ids) at = record.writeInt32LE(id, at);
      }
      for (const logProb of step.logProbs) at = record.writeFloatLE(logProb, at);
    }
    await this.write(record);
  }

  async commit(): Promise<void> {
    await this.file.write(this.hash.digest());
    await this.file.commit();
  }

  async abort(): Promise<void> {
    await this.file.abort();
  }

  private async write(bytes: Uint8Array): Promise<void> {
    this.hash.update(bytes);
    await this.file.write(bytes);
  }
}

/** Reads and checks a whole base; any damage is a QuantgateError naming the file. */
export async function readReferenceBase(path: string): Promise<ReferenceBase> {
  const broken = (what: string) =>
    new QuantgateError(
      `${path} is not an intact reference base (${what}); run again without --reference-base to make a new one`,
    );
  let bytes: Buffer;
  try {
    const { size } = await stat(path);
    if (size > MAX_FILE_BYTES) throw broken(`${size} bytes, more than a base can hold`);
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof QuantgateError) throw error;
    throw new QuantgateError(
      `cannot read the reference base ${path} (${describeError(error)}); check the --reference-base path`,
      { cause: error },
    );
  }
  if (bytes.length < MAGIC.length + 8 + CHECKSUM_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    throw broken('it does not start as one');
  const version = bytes.readUInt32LE(MAGIC.length);
  if (version !== REFERENCE_BASE_VERSION)
    throw broken(`format version ${version}, while this quantgate reads version ${REFERENCE_BASE_VERSION}`);
  const bodyEnd = bytes.length - CHECKSUM_BYTES;
  if (!createHash('sha256').update(bytes.subarray(0, bodyEnd)).digest().equals(bytes.subarray(bodyEnd)))
    throw broken('its checksum does not match: it is truncated or was changed');

  const reader = new Cursor(bytes, MAGIC.length + 4, bodyEnd, broken);
  const headerLength = reader.u32();
  if (headerLength > MAX_HEADER_BYTES) throw broken(`a header of ${headerLength} bytes`);
  const header = parseHeader(reader.bytes(headerLength).toString('utf8'), broken);
  const full = header.distribution === 'full';
  const stepBytes = full ? 4 + 4 * header.k : 8 + 8 * header.k;
  const allIds = full ? Int32Array.from({ length: header.k }, (_, i) => i) : undefined;
  const utterances = new Map<string, ReferenceBaseUtterance>();
  while (!reader.done) {
    const id = reader.bytes(reader.u32()).toString('utf8');
    const text = reader.bytes(reader.u32()).toString('utf8');
    const count = reader.u32();
    if (count * stepBytes > reader.left)
      throw broken(`utterance ${JSON.stringify(id)} claims ${count} steps, more than the file holds`);
    if (utterances.has(id)) throw broken(`utterance ${JSON.stringify(id)} appears twice`);
    const steps: ReferenceStep[] = new Array(count);
    for (let s = 0; s < count; s++) {
      const token = reader.i32();
      const logRest = full ? -Infinity : reader.f32();
      const ids = allIds ?? reader.i32s(header.k);
      const logProbs = reader.f32s(header.k);
      if (token < 0 || token >= header.vocabulary || ids.some((entry) => entry < 0 || entry >= header.vocabulary)) {
        throw broken(`utterance ${JSON.stringify(id)} has a token outside the vocabulary of ${header.vocabulary}`);
      }
      steps[s] = { token, ids, logProbs, logRest };
    }
    utterances.set(id, { text, steps });
  }
  return { header, sha256: bytes.subarray(bodyEnd).toString('hex'), utterances };
}

/** Throws unless `base` is the reference of the run described by `expected`, naming what differs. */
export function requireSameIdentity(base: ReferenceBaseHeader, expected: ReferenceBaseIdentity, path: string): void {
  const labels: Record<keyof ReferenceBaseIdentity, string> = {
    model: 'model',
    engine: 'engine',
    device: 'device',
    dataset: 'dataset selection',
  };
  for (const field of Object.keys(labels) as (keyof ReferenceBaseIdentity)[]) {
    if (base.identity[field] !== expected[field]) {
      throw new QuantgateError(
        `the reference base ${path} was made for another ${labels[field]} (${base.identity[field]}, this run: ${expected[field]}); give the base of this run's ${labels[field]}, or run without --reference-base`,
      );
    }
  }
}

function parseHeader(text: string, broken: (what: string) => QuantgateError): ReferenceBaseHeader {
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw broken('its header is not JSON');
  }
  const h = header as Partial<ReferenceBaseHeader> | null;
  const identity = h?.identity as Partial<ReferenceBaseIdentity> | undefined;
  const identityFields = ['model', 'engine', 'device', 'dataset'] as const;
  if (
    !identity ||
    typeof identity !== 'object' ||
    !identityFields.every((field) => typeof identity[field] === 'string')
  )
    throw broken('its header lacks the identity of its reference');
  if (h!.distribution !== 'full' && h!.distribution !== 'top-k') throw broken('its header names no distribution kind');
  const { k, vocabulary } = h as { k: unknown; vocabulary: unknown };
  if (
    !Number.isInteger(k) ||
    !Number.isInteger(vocabulary) ||
    (k as number) < 1 ||
    (k as number) > (vocabulary as number) ||
    (vocabulary as number) > 1 << 24
  ) {
    throw broken('its header has no valid vocabulary size and entry count');
  }
  if ((h!.distribution === 'full') !== (k === vocabulary))
    throw broken('its header keeps a number of entries that does not fit its distribution kind');
  const producer = h!.producer as { tool?: unknown; version?: unknown } | undefined;
  return {
    identity: {
      model: identity.model!,
      engine: identity.engine!,
      device: identity.device!,
      dataset: identity.dataset!,
    },
    distribution: h!.distribution,
    k: k as number,
    vocabulary: vocabulary as number,
    producer: { tool: String(producer?.tool ?? 'unknown'), version: String(producer?.version ?? 'unknown') },
  };
}

/** Reads little-endian values from `bytes` up to `end`, failing cleanly past it. */
class Cursor {
  constructor(
    private readonly buffer: Buffer,
    private at: number,
    private readonly end: number,
    private readonly broken: (what: string) => QuantgateError,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  get left(): number {
    return this.end - this.at;
  }

  u32(): number {
    return this.take(4).readUInt32LE(0);
  }

  i32(): number {
    return this.take(4).readInt32LE(0);
  }

  f32(): number {
    return this.take(4).readFloatLE(0);
  }

  bytes(count: number): Buffer {
    return this.take(count);
  }

  i32s(count: number): Int32Array {
    const bytes = this.take(4 * count);
    return Int32Array.from({ length: count }, (_, i) => bytes.readInt32LE(4 * i));
  }

  f32s(count: number): Float32Array {
    const bytes = this.take(4 * count);
    return Float32Array.from({ length: count }, (_, i) => bytes.readFloatLE(4 * i));
  }

  private take(count: number): Buffer {
    if (count > this.end - this.at) throw this.broken('it ends inside a record');
    const slice = this.buffer.subarray(this.at, this.at + count);
    this.at += count;
    return slice;
  }
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}
