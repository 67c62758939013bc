// Test vectors for the quantization kernel, shared by the pool's tests and the rebuilt-kernel check:
// seeded random float32 blocks that stress every rounding rule, every 16-bit pattern, and a
// comparison of two conversions that says where they first differ.

import type { TargetType } from '../../src/quant/codec.js';

/** A seeded uniform generator in [0, 1), so a failure can be replayed. */
export function random(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const bits = new DataView(new ArrayBuffer(4));
export function f32FromBits(pattern: number): number {
  bits.setUint32(0, pattern >>> 0);
  return bits.getFloat32(0);
}
function f32Bits(value: number): number {
  bits.setFloat32(0, value);
  return bits.getUint32(0);
}
/** The float32 `steps` units in the last place away from `value` (toward +∞ for positive values). */
function nudge(value: number, steps: number): number {
  return f32FromBits(f32Bits(value) + steps);
}

/**
 * Random float32 blocks of 32 that stress the quantizers: scales across the whole float32 range,
 * ties of opposite sign, zeros, subnormals, values beyond the fp16 range, values within an ulp of
 * a rounding boundary of Q4_0 or Q8_0, arbitrary bit patterns and stray NaNs and infinities.
 */
export function stressBlocks(blocks: number, seed: number): Float32Array {
  const next = random(seed);
  const pick = (count: number) => Math.floor(next() * count);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const values = new Float32Array(blocks * 32);
  for (let block = 0; block < blocks; block++) {
    const out = values.subarray(block * 32, block * 32 + 32);
    const scale = 10 ** (next() * 76 - 38);
    const kind = pick(9);
    if (kind === 0) {
      out.forEach((_, j) => (out[j] = gaussian() * scale));
    } else if (kind === 1) {
      out.forEach((_, j) => (out[j] = (next() * 2 - 1) * scale));
      const largest = Math.fround(scale * 1.5);
      out[pick(32)] = largest;
      out[pick(32)] = -largest;
    } else if (kind === 2) {
      out.forEach(
        (_, j) =>
          (out[j] =
            next() < 0.5 ? 0 : next() < 0.5 ? -0 : f32FromBits(pick(0x800000) | (next() < 0.5 ? 0x80000000 : 0))),
      );
    } else if (kind === 3) {
      out.forEach((_, j) => (out[j] = gaussian() * 10 ** (next() * 34 + 4)));
    } else if (kind === 4 || kind === 5) {
      // Values x with x / d within an ulp of where ggml's rounding flips.
      const largest = Math.fround((next() < 0.5 ? -1 : 1) * scale);
      const q4 = kind === 4;
      const scaleOf = Math.fround(q4 ? largest / -8 : Math.abs(largest) / 127);
      const inverse = Math.fround(1 / scaleOf);
      out.forEach((_, j) => {
        const boundary = q4 ? pick(17) - 8.5 : pick(254) - 126.5;
        const candidate = nudge(Math.fround(boundary / inverse), pick(5) - 2);
        out[j] = Math.abs(candidate) <= Math.abs(largest) ? candidate : 0;
      });
      out[pick(32)] = largest;
    } else if (kind === 6) {
      out.forEach((_, j) => (out[j] = f32FromBits(Math.floor(next() * 2 ** 32))));
    } else if (kind === 7) {
      const constant = Math.fround(gaussian() * scale);
      out.fill(constant);
    } else {
      out.forEach((_, j) => (out[j] = gaussian() * scale));
      const specials = [NaN, Infinity, -Infinity, f32FromBits(0x7f800001), f32FromBits(0xffc12345)];
      for (let n = 1 + pick(3); n > 0; n--) out[pick(32)] = specials[pick(specials.length)];
    }
  }
  return values;
}

export function f32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return out;
}

export function randomBytes(count: number, seed: number): Uint8Array {
  const next = random(seed);
  return Uint8Array.from({ length: count }, () => Math.floor(next() * 256));
}

export function every16BitPattern(): Uint8Array {
  const out = new Uint8Array(0x20000);
  for (let pattern = 0; pattern < 0x10000; pattern++) new DataView(out.buffer).setUint16(pattern * 2, pattern, true);
  return out;
}

/**
 * The first place where the kernel's output differs from the scalar codec's, or 'identical'.
 * A NaN's payload bits are not specified, so two NaNs (as values, or as a block's scale) match.
 */
export function difference(target: TargetType, got: Uint8Array, want: Uint8Array): string {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  const g = new DataView(got.buffer, got.byteOffset, got.byteLength);
  const w = new DataView(want.buffer, want.byteOffset, want.byteLength);
  const halfIsNaN = (view: DataView, at: number) => (view.getUint16(at, true) & 0x7fff) > 0x7c00;
  const describe = (at: number) => `byte ${at}: ${got[at]} != ${want[at]}`;
  if (target === 'F32') {
    for (let at = 0; at < got.length; at += 4) {
      const same =
        g.getUint32(at, true) === w.getUint32(at, true) ||
        (Number.isNaN(g.getFloat32(at, true)) && Number.isNaN(w.getFloat32(at, true)));
      if (!same) return describe(at);
    }
  } else if (target === 'F16') {
    for (let at = 0; at < got.length; at += 2) {
      if (g.getUint16(at, true) !== w.getUint16(at, true) && !(halfIsNaN(g, at) && halfIsNaN(w, at)))
        return describe(at);
    }
  } else {
    const blockBytes = target === 'Q4_0' ? 18 : 34;
    const hex = (bytes: Uint8Array, at: number) => Buffer.from(bytes.subarray(at, at + blockBytes)).toString('hex');
    for (let at = 0; at < got.length; at += blockBytes) {
      const sameScale = g.getUint16(at, true) === w.getUint16(at, true) || (halfIsNaN(g, at) && halfIsNaN(w, at));
      if (!sameScale || got.subarray(at + 2, at + blockBytes).some((byte, j) => byte !== want[at + 2 + j])) {
        return `block ${at / blockBytes}: ${hex(got, at)} != ${hex(want, at)}`;
      }
    }
  }
  return 'identical';
}
