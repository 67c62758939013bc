// The mutations the fuzzer applies to a seed: byte-level ones that know nothing of the format, and
// structure-aware ones for each family of format (JSON documents, text lines, binary files with
// length fields near the start or the end, files made of several parts, HTTP answers). Each input
// is one seed after a few stacked mutations, so it stays close enough to the format to get past
// the first checks and reach the deeper code.

import { SeededRandom } from '../src/scoring/random.js';

/** Which structure-aware mutations suit a target's inputs. */
export type Structure = 'json' | 'lines' | 'binary-head' | 'binary-tail' | 'tar' | 'parts' | 'line-parts' | 'http';

/** A uniform integer in [0, n) for any n up to 2^32. */
export class Dice {
  private readonly random: SeededRandom;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }

  below(n: number): number {
    return n <= 1 ? 0 : n <= 2 ** 21 ? this.random.nextBelow(n) : Math.floor(this.random.nextFloat() * n);
  }

  chance(probability: number): boolean {
    return this.random.nextFloat() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** Largest input a mutation may make; the bounds of time and memory catch what parsers do with it. */
const MAX_INPUT_BYTES = 1 << 20;

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x30, 0x39, 0x2d];
const INTERESTING_32 = [
  0, 1, 2, 7, 8, 16, 31, 32, 63, 64, 255, 256, 511, 512, 1023, 1024, 4095, 4096, 65535, 65536, 0x7fff_ffff, 0x8000_0000,
  0xffff_fffe, 0xffff_ffff, 0x1000_0000,
];
const INTERESTING_64 = [
  0n,
  1n,
  0x7fff_ffffn,
  0xffff_ffffn,
  0x1_0000_0000n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const INTERESTING_NUMBERS = [
  '0',
  '-1',
  '1',
  '-0',
  '1e308',
  '-1e308',
  '1e-320',
  '4294967296',
  '9007199254740993',
  '18446744073709551616',
  '2147483648',
  '-2147483649',
  '0.5',
  '3.4e38',
  '99999999999999999999999',
];
const INTERESTING_STRINGS = [
  '',
  ' ',
  '..',
  '../x',
  '/etc/passwd',
  'a/b',
  '\u0000',
  '\ud800',
  '\u202e',
  '__proto__',
  'constructor',
  'ä€😀',
  '\n',
  '\r\n',
  '"',
  ',',
];

/** Applies 1 to 4 mutations, chosen among the byte-level ones and those of `structure`. */
export function mutate(seed: Uint8Array, seeds: readonly Uint8Array[], structure: Structure, dice: Dice): Uint8Array {
  let bytes = seed;
  const rounds = 1 + dice.below(4);
  for (let round = 0; round < rounds; round++) {
    try {
      bytes = dice.chance(0.5) ? structured(bytes, seeds, structure, dice) : byteMutation(bytes, seeds, dice);
    } catch (error) {
      // A mutation that would build a string past V8's limit is skipped: the input stays as it was.
      if (!(error instanceof RangeError)) throw error;
    }
    if (bytes.length > MAX_INPUT_BYTES) bytes = bytes.subarray(0, MAX_INPUT_BYTES);
  }
  return bytes;
}

function structured(bytes: Uint8Array, seeds: readonly Uint8Array[], structure: Structure, dice: Dice): Uint8Array {
  switch (structure) {
    case 'json':
      return jsonMutation(bytes, dice) ?? byteMutation(bytes, seeds, dice);
    case 'lines':
      return linesMutation(bytes, dice);
    case 'binary-head':
      return fieldMutation(bytes, dice, 'head');
    case 'binary-tail':
      return fieldMutation(bytes, dice, 'tail');
    case 'tar':
      return tarMutation(bytes, dice);
    case 'parts':
      return partsMutation(bytes, seeds, dice);
    case 'line-parts':
      return linePartsMutation(bytes, dice);
    case 'http':
      // The answers of one exchange, packed as parts: one of them mutated as HTTP.
      return partsMutation(bytes, seeds, dice, (part) => httpMutation(part, dice));
  }
}

// ---- byte level ----

export function byteMutation(input: Uint8Array, seeds: readonly Uint8Array[], dice: Dice): Uint8Array {
  const bytes = new Uint8Array(input);
  const at = () => dice.below(bytes.length);
  switch (dice.below(10)) {
    case 0: {
      if (bytes.length === 0) return bytes;
      const count = 1 + dice.below(8);
      for (let i = 0; i < count; i++) {
        const index = at();
        bytes[index] = bytes[index]! ^ (1 << dice.below(8));
      }
      return bytes;
    }
    case 1:
      if (bytes.length > 0) bytes[at()] = dice.chance(0.5) ? dice.pick(INTERESTING_8) : dice.below(256);
      return bytes;
    case 2:
      return writeInteger(bytes, bytes.length === 0 ? 0 : at(), dice);
    case 3: {
      // delete a range
      if (bytes.length === 0) return bytes;
      const start = at();
      const end = Math.min(bytes.length, start + 1 + dice.below(dice.chance(0.7) ? 16 : bytes.length));
      return concat(bytes.subarray(0, start), bytes.subarray(end));
    }
    case 4: {
      // insert random or repeated bytes
      const start = bytes.length === 0 ? 0 : at();
      const length = 1 + dice.below(dice.chance(0.8) ? 16 : 4096);
      const insert = new Uint8Array(length);
      const fill = dice.chance(0.5) ? dice.below(256) : -1;
      for (let i = 0; i < length; i++) insert[i] = fill >= 0 ? fill : dice.below(256);
      return concat(bytes.subarray(0, start), insert, bytes.subarray(start));
    }
    case 5: {
      // duplicate a range in place
      if (bytes.length === 0) return bytes;
      const start = at();
      const end = Math.min(bytes.length, start + 1 + dice.below(256));
      const copies = 1 + dice.below(dice.chance(0.9) ? 3 : 64);
      const range = bytes.subarray(start, end);
      return concat(bytes.subarray(0, end), ...Array.from({ length: copies }, () => range), bytes.subarray(end));
    }
    case 6:
      // truncate
      return bytes.subarray(0, bytes.length === 0 ? 0 : at());
    case 7: {
      // splice with another seed
      const other = dice.pick(seeds);
      const cut = bytes.length === 0 ? 0 : at();
      const from = other.length === 0 ? 0 : dice.below(other.length);
      return concat(bytes.subarray(0, cut), other.subarray(from));
    }
    case 8: {
      // overwrite a range with another part of the input
      if (bytes.length < 2) return bytes;
      const length = 1 + dice.below(Math.min(64, bytes.length - 1));
      const from = dice.below(bytes.length - length);
      bytes.copyWithin(dice.below(bytes.length - length), from, from + length);
      return bytes;
    }
    default:
      return digitMutation(bytes, dice);
  }
}

/** Writes an interesting 8/16/32/64-bit value, little- or big-endian, at `offset`. */
function writeInteger(input: Uint8Array, offset: number, dice: Dice): Uint8Array {
  const width = dice.pick([2, 4, 4, 8]);
  const bytes = input.length >= offset + width ? input : concat(input, new Uint8Array(offset + width - input.length));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = dice.chance(0.85);
  if (width === 8) {
    const value = dice.chance(0.7)
      ? dice.pick(INTERESTING_64)
      : BigInt(dice.below(2 ** 32)) * BigInt(dice.below(2 ** 32));
    view.setBigUint64(offset, value & 0xffff_ffff_ffff_ffffn, little);
  } else {
    const value = dice.chance(0.7) ? dice.pick(INTERESTING_32) : dice.below(2 ** 32);
    if (width === 4) view.setUint32(offset, value >>> 0, little);
    else view.setUint16(offset, value & 0xffff, little);
  }
  return bytes;
}

/** Replaces a run of ASCII digits (a number in text) with an interesting number. */
function digitMutation(bytes: Uint8Array, dice: Dice): Uint8Array {
  if (bytes.length === 0) return bytes;
  const start = dice.below(bytes.length);
  let first = -1;
  for (let i = 0; i < Math.min(bytes.length, 4096); i++) {
    const index = (start + i) % bytes.length;
    if (bytes[index]! >= 0x30 && bytes[index]! <= 0x39) {
      first = index;
      break;
    }
  }
  if (first < 0) return bytes;
  while (first > 0 && isDigit(bytes[first - 1]!)) first--;
  let end = first;
  while (end < bytes.length && isDigit(bytes[end]!)) end++;
  const replacement = dice.chance(0.8) ? dice.pick(INTERESTING_NUMBERS) : 'z'.repeat(1 + dice.below(12));
  return concat(bytes.subarray(0, first), new TextEncoder().encode(replacement), bytes.subarray(end));
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

// ---- binary formats: length and count fields lie near the start (GGUF, WAV, FLAC) or the end (zip, parquet) ----

function fieldMutation(bytes: Uint8Array, dice: Dice, end: 'head' | 'tail'): Uint8Array {
  if (bytes.length === 0) return byteMutation(bytes, [bytes], dice);
  const window = Math.min(bytes.length, dice.chance(0.7) ? 256 : 4096);
  const offsetInWindow = dice.below(window);
  const offset = end === 'head' ? offsetInWindow : bytes.length - 1 - offsetInWindow;
  if (dice.chance(0.6)) return writeInteger(new Uint8Array(bytes), dice.chance(0.5) ? offset & ~3 : offset, dice);
  const copy = new Uint8Array(bytes);
  copy[offset] = dice.chance(0.5) ? dice.pick(INTERESTING_8) : dice.below(256);
  return copy;
}

// ---- tar: 512-byte headers with octal text fields and a checksum ----

const TAR_FIELDS = [
  { offset: 100, length: 8 }, // mode
  { offset: 124, length: 12 }, // size
  { offset: 136, length: 12 }, // mtime
  { offset: 148, length: 8 }, // checksum
  { offset: 156, length: 1 }, // type flag
  { offset: 0, length: 100 }, // name
  { offset: 345, length: 155 }, // prefix
];
const TAR_VALUES = [
  'zzzzzzzzzzz',
  '99999999999',
  '-1',
  '77777777777',
  '00000000000',
  ' ',
  '',
  '0000000001\0',
  '\x80\0\0\0\0\0\0\0\0\0\0\x01',
  '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff',
  '1e3',
];

function tarMutation(input: Uint8Array, dice: Dice): Uint8Array {
  const blocks = Math.floor(input.length / 512);
  if (blocks === 0) return byteMutation(input, [input], dice);
  const bytes = new Uint8Array(input);
  const header = 512 * dice.below(blocks);
  const field = dice.pick(TAR_FIELDS);
  const text =
    field.length === 1
      ? dice.pick(['0', '5', 'x', 'g', 'L', 'K', '\0', '2', '1'])
      : dice.pick(TAR_VALUES).slice(0, field.length);
  bytes.fill(0, header + field.offset, header + field.offset + field.length);
  for (let i = 0; i < text.length; i++) bytes[header + field.offset + i] = text.charCodeAt(i) & 0xff;
  if (dice.chance(0.8)) fixTarChecksum(bytes, header);
  return bytes;
}

/** Recomputes a header's checksum, so a mutated header gets past that check to the fields behind it. */
function fixTarChecksum(bytes: Uint8Array, header: number): void {
  bytes.fill(0x20, header + 148, header + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += bytes[header + i]!;
  const text = `${sum.toString(8).padStart(6, '0')}\0 `;
  for (let i = 0; i < 8; i++) bytes[header + 148 + i] = text.charCodeAt(i);
}

// ---- JSON: edit the parsed tree ----

function jsonMutation(bytes: Uint8Array, dice: Dice): Uint8Array | undefined {
  let tree: unknown;
  try {
    tree = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  const slots = collectSlots(tree);
  const replacement = interestingJson(dice);
  if (slots.length === 0) return encodeJson(replacement);
  const { parent, key } = dice.pick(slots);
  if (Array.isArray(parent)) {
    const index = key as number;
    switch (dice.below(4)) {
      case 0:
        parent.splice(index, 1);
        break;
      case 1:
        parent.splice(
          index,
          0,
          ...Array.from({ length: 1 + dice.below(dice.chance(0.9) ? 4 : 5000) }, () => parent[index]),
        );
        break;
      default:
        parent[index] = replacement;
    }
  } else {
    const object = parent as Record<string, unknown>;
    switch (dice.below(5)) {
      case 0:
        delete object[key];
        break;
      case 1:
        object[dice.pick(INTERESTING_STRINGS)] = object[key];
        break;
      case 2:
        object[key] = nest(object[key], dice);
        break;
      default:
        object[key] = replacement;
    }
  }
  return encodeJson(tree);
}

type Slot = { parent: object; key: string | number };

function collectSlots(tree: unknown, slots: Slot[] = [], depth = 0): Slot[] {
  if (tree === null || typeof tree !== 'object' || depth > 64 || slots.length > 2000) return slots;
  if (Array.isArray(tree)) {
    for (let i = 0; i < Math.min(tree.length, 64); i++) {
      slots.push({ parent: tree, key: i });
      collectSlots(tree[i], slots, depth + 1);
    }
  } else {
    for (const [key, value] of Object.entries(tree)) {
      slots.push({ parent: tree, key });
      collectSlots(value, slots, depth + 1);
    }
  }
  return slots;
}

/** Wraps a value in objects or arrays, shallowly most of the time and thousands deep sometimes. */
function nest(value: unknown, dice: Dice): unknown {
  const depth = dice.chance(0.8) ? 1 + dice.below(8) : 1000 + dice.below(9000);
  let nested = value;
  const inArray = dice.chance(0.3);
  for (let i = 0; i < depth; i++) nested = inArray ? [nested] : { a: nested };
  return nested;
}

function interestingJson(dice: Dice): unknown {
  switch (dice.below(9)) {
    case 0:
      return null;
    case 1:
      return dice.chance(0.5);
    case 2:
      return Number(dice.pick(INTERESTING_NUMBERS));
    case 3:
      return dice.pick(INTERESTING_STRINGS);
    case 4:
      return 'x'.repeat(dice.below(dice.chance(0.9) ? 100 : 200_000));
    case 5:
      return [];
    case 6:
      return {};
    case 7:
      return Array.from({ length: dice.below(10) }, () => dice.below(1000));
    default:
      return -dice.below(2 ** 32);
  }
}

/** JSON text; numbers JSON cannot spell (Infinity) become overflowing literals, as a hostile file could hold. */
function encodeJson(tree: unknown): Uint8Array {
  let text: string;
  try {
    text = JSON.stringify(tree, (_key, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value) ? `@@${value > 0 ? '1e999' : '-1e999'}@@` : value,
    );
  } catch {
    // too deep to stringify: the depth itself is the test
    return new TextEncoder().encode('['.repeat(100_000));
  }
  return new TextEncoder().encode((text ?? 'null').replace(/"@@(-?1e999)@@"/g, '$1'));
}

// ---- text lines: CSV, JSON Lines, transcripts ----

function linesMutation(bytes: Uint8Array, dice: Dice): Uint8Array {
  const lines = new TextDecoder().decode(bytes).split('\n');
  const index = dice.below(lines.length);
  const line = lines[index]!;
  switch (dice.below(8)) {
    case 0:
      lines.splice(index, 1);
      break;
    case 1:
      lines.splice(
        index,
        0,
        ...Array.from(
          {
            length: Math.min(
              1 + dice.below(dice.chance(0.9) ? 3 : 2000),
              Math.ceil(MAX_INPUT_BYTES / (line.length + 1)),
            ),
          },
          () => line,
        ),
      );
      break;
    case 2: {
      // a very long line, as a misbehaving engine's transcript can be
      const words = line.split(' ');
      const wanted = dice.chance(0.9) ? 1 + dice.below(50) : 1000 + dice.below(60_000);
      const repeat = Math.min(wanted, Math.ceil((MAX_INPUT_BYTES * words.length) / (line.length + 1)));
      lines[index] = Array.from({ length: repeat }, (_, i) => words[i % words.length]).join(' ');
      break;
    }
    case 3: {
      const at = dice.below(line.length + 1);
      lines[index] =
        line.slice(0, at) +
        dice.pick(['"', ',', '""', '{', '}', '\r', '\t', '\\', '\u0000', '\ufeff', '\u00a0', ' ', "'"]) +
        line.slice(at);
      break;
    }
    case 4: {
      const at = dice.below(line.length + 1);
      lines[index] = line.slice(0, at) + dice.pick(INTERESTING_STRINGS) + line.slice(at + dice.below(8));
      break;
    }
    case 5: {
      const other = dice.below(lines.length);
      [lines[index], lines[other]] = [lines[other]!, line];
      break;
    }
    case 6: {
      const json = jsonMutation(new TextEncoder().encode(line), dice);
      if (json) lines[index] = new TextDecoder().decode(json);
      break;
    }
    default:
      lines[index] = line.replace(/[\d.]+/, dice.pick(INTERESTING_NUMBERS));
  }
  return new TextEncoder().encode(lines.join(dice.chance(0.05) ? '\r\n' : '\n'));
}

// ---- inputs made of several files ----

/** Several byte strings in one input: a u32 count, then a u32 length and the bytes of each. */
export function packParts(parts: readonly Uint8Array[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * parts.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, parts.length, true);
  parts.forEach((part, i) => view.setUint32(4 + 4 * i, part.length, true));
  return concat(header, ...parts);
}

/** The parts of an input made by `packParts`, read leniently: counts and lengths are clipped to the bytes there. */
export function unpackParts(bytes: Uint8Array, maxParts: number): Uint8Array[] {
  if (bytes.length < 4) return [bytes];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.min(view.getUint32(0, true), maxParts, Math.floor((bytes.length - 4) / 4));
  let offset = 4 + 4 * count;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const length = Math.min(view.getUint32(4 + 4 * i, true), Math.max(0, bytes.length - offset));
    parts.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return parts;
}

function partsMutation(
  bytes: Uint8Array,
  seeds: readonly Uint8Array[],
  dice: Dice,
  inner?: (part: Uint8Array) => Uint8Array,
): Uint8Array {
  const parts = unpackParts(bytes, 16);
  if (parts.length === 0) return byteMutation(bytes, seeds, dice);
  const index = dice.below(parts.length);
  if (inner && dice.chance(0.6)) {
    parts[index] = inner(parts[index]!);
    return packParts(parts);
  }
  switch (dice.below(6)) {
    case 0:
      parts.splice(index, 1);
      break;
    case 1:
      parts.splice(index, 0, parts[index]!);
      break;
    case 2:
      parts[index] = fieldMutation(parts[index]!, dice, 'head');
      break;
    default: {
      const otherParts = unpackParts(dice.pick(seeds), 16);
      parts[index] = byteMutation(parts[index]!, otherParts.length > 0 ? otherParts : [parts[index]!], dice);
    }
  }
  return packParts(parts);
}

/** Text files that go together (a reference and a hypothesis): one file's lines edited, or the same line stretched in all. */
function linePartsMutation(bytes: Uint8Array, dice: Dice): Uint8Array {
  const parts = unpackParts(bytes, 16);
  if (parts.length === 0) return linesMutation(bytes, dice);
  if (dice.chance(0.9)) {
    const index = dice.below(parts.length);
    parts[index] = linesMutation(parts[index]!, dice);
    return packParts(parts);
  }
  // Long utterances on every side: what an engine that babbles gives the aligner.
  const words = dice.chance(0.5) ? 1000 + dice.below(60_000) : 1 + dice.below(1000);
  return packParts(
    parts.map((part) => {
      const lines = new TextDecoder().decode(part).split('\n');
      const index = Math.min(lines.length - 1, dice.below(3));
      const vocabulary = (lines[index] ?? '').split(' ').filter((word) => word !== '');
      if (vocabulary.length === 0) vocabulary.push('word');
      const first = dice.below(vocabulary.length);
      // At most an input's worth of text: the vocabulary may hold words of any length.
      const line: string[] = [];
      for (let i = 0, length = 0; i < words && length < MAX_INPUT_BYTES; i++) {
        const word = vocabulary[(first + i * 7) % vocabulary.length]!;
        line.push(word);
        length += word.length + 1;
      }
      lines[index] = line.join(' ');
      return new TextEncoder().encode(lines.join('\n'));
    }),
  );
}

// ---- HTTP answers: a status line, headers and a body ----

const HTTP_HEADERS = [
  'Content-Length: 0',
  'Content-Length: 99999999999',
  'Content-Length: -1',
  'Content-Length: 5, 7',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Content-Encoding: gzip',
  'Location: /',
  'Location: http://127.0.0.1:1/x',
  'Location: ftp://x/',
  'Content-Range: bytes 0-0/1',
  'Content-Range: bytes */0',
  'Content-Type: application/json',
  'Link: <http://127.0.0.1:1/next>; rel="next"',
  'X-Linked-Size: -5',
  'X-Repo-Commit: zz',
  'Connection: close',
];
const HTTP_STATUS = [
  '200 OK',
  '206 Partial Content',
  '301 Moved',
  '302 Found',
  '304 Not Modified',
  '204 No Content',
  '401 Unauthorized',
  '404 Not Found',
  '416 Range Not Satisfiable',
  '429 Too Many',
  '500 Oops',
  '999 What',
  '20 Short',
  'abc',
];

function httpMutation(bytes: Uint8Array, dice: Dice): Uint8Array {
  const text = Buffer.from(bytes).toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return byteMutation(bytes, [bytes], dice);
  const head = text.slice(0, split).split('\r\n');
  let body = text.slice(split + 4);
  switch (dice.below(5)) {
    case 0:
      head[0] = `HTTP/1.1 ${dice.pick(HTTP_STATUS)}`;
      break;
    case 1:
      head.splice(1 + dice.below(head.length), 0, dice.pick(HTTP_HEADERS));
      break;
    case 2:
      if (head.length > 1) head.splice(1 + dice.below(head.length - 1), 1);
      break;
    case 3: {
      const json = jsonMutation(Buffer.from(body, 'latin1'), dice);
      if (json) body = Buffer.from(json).toString('latin1');
      const length = head.findIndex((line) => /^content-length:/i.test(line));
      if (length > 0 && dice.chance(0.7)) head[length] = `Content-Length: ${Buffer.byteLength(body, 'latin1')}`;
      break;
    }
    default:
      body = Buffer.from(byteMutation(Buffer.from(body, 'latin1'), [bytes], dice)).toString('latin1');
  }
  return new Uint8Array(Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`, 'latin1'));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((total, part) => total + part.length, 0);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
