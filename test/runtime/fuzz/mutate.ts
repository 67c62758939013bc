// Seeded mutations of an archive: byte flips, interesting values in little-endian fields and in
// tar's octal text fields, cuts, inserted and repeated spans. The same seed gives the same inputs
// on any machine, so a failure names its input by seed and index.

import { SeededRandom } from '../../../src/scoring/random.js';

const INTERESTING_BYTES = [0x00, 0x01, 0x20, 0x30, 0x37, 0x38, 0x39, 0x7a, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_UINT32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const OCTAL_TEXTS = ['zzzzzzzzzzz', '99999999999', '-0000000001', '77777777777', '', '0x1f', '1e3', ' 12 ', '\0\0\0'];

/** `count` mutations of `bases` (each input mutates one base, taken in turn), from `seed`. */
export function mutations(bases: readonly Uint8Array[], seed: number, count: number): Uint8Array[] {
  const random = new SeededRandom(seed);
  const below = (n: number) => (n <= 1 ? 0 : random.nextBelow(Math.min(n, 2 ** 21)));
  return Array.from({ length: count }, (_, index) => {
    let bytes: Uint8Array = Uint8Array.from(bases[index % bases.length]!);
    for (let step = 1 + below(3); step > 0; step--) bytes = mutateOnce(bytes, below);
    return bytes;
  });
}

function mutateOnce(bytes: Uint8Array, below: (n: number) => number): Uint8Array {
  const at = below(bytes.length);
  switch (below(7)) {
    case 0:
      bytes[at] = (bytes[at] ?? 0) ^ (1 << below(8));
      return bytes;
    case 1:
      bytes[at] = INTERESTING_BYTES[below(INTERESTING_BYTES.length)]!;
      return bytes;
    case 2: {
      if (at + 4 > bytes.length) return bytes;
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(
        at,
        INTERESTING_UINT32[below(INTERESTING_UINT32.length)]!,
        true,
      );
      return bytes;
    }
    case 3: {
      // The size field of the tar header `at` falls in, rewritten as text, with the checksum made valid again.
      const header = Math.floor(at / 512) * 512;
      if (header + 512 <= bytes.length)
        setTarField(
          bytes,
          header,
          124,
          new TextEncoder().encode(OCTAL_TEXTS[below(OCTAL_TEXTS.length)]!.padEnd(12, '\0').slice(0, 12)),
        );
      return bytes;
    }
    case 4:
      return bytes.subarray(0, at);
    case 5: {
      const inserted = Uint8Array.from({ length: 1 + below(64) }, () => below(256));
      return concat(bytes.subarray(0, at), inserted, bytes.subarray(at));
    }
    default: {
      const length = below(Math.min(512, bytes.length - at) + 1);
      return concat(bytes.subarray(0, at + length), bytes.subarray(at, at + length), bytes.subarray(at + length));
    }
  }
}

/** Writes `field` at `offset` into the tar header at `header`, and the header's checksum that then matches. */
export function setTarField(bytes: Uint8Array, header: number, offset: number, field: Uint8Array): void {
  bytes.set(field, header + offset);
  bytes.fill(0x20, header + 148, header + 156);
  let sum = 0;
  for (let i = header; i < header + 512; i++) sum += bytes[i]!;
  bytes.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), header + 148);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
