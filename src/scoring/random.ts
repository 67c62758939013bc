// A small seeded random number generator, so that bootstrap intervals (and the synthetic data of
// tests and benchmarks) are reproducible from one integer on any machine and Node version.
//
// The generator is xoshiro128** 1.0 (Blackman & Vigna), 32-bit, fast with 32-bit integer multiplies; its 128-bit
// state is filled from the seed by SplitMix64, as the xoshiro authors recommend, so nearby seeds
// give unrelated streams.

// Bound once: inside a vm context (as under jest) every global lookup in a hot loop is slow.
const { imul, floor } = Math;
const TWO_POW_32 = 4294967296;
const TWO_POW_MINUS_32 = 1 / TWO_POW_32;
/** Largest range `nextBelow` accepts: value × range must stay exact in a double (< 2^53). */
export const MAX_RANGE = 2 ** 21;

export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` is any safe non-negative integer. */
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new RangeError(`seed must be a safe non-negative integer, got ${seed}`);
    const mix = splitMix64(BigInt(seed));
    const [a, b] = [mix(), mix()];
    this.s0 = Number(a & 0xffffffffn);
    this.s1 = Number(a >> 32n);
    this.s2 = Number(b & 0xffffffffn);
    this.s3 = Number(b >> 32n);
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s1 = this.s1;
    const result = imul(rotl(imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * A uniform integer in [0, range), exactly uniform: Lemire's multiply-and-reject, which needs a
   * second draw only with probability below range / 2^32.
   */
  nextBelow(range: number): number {
    if (!(range >= 1 && range <= MAX_RANGE && range % 1 === 0))
      throw new RangeError(`range must be an integer in [1, ${MAX_RANGE}], got ${range}`);
    let product = this.nextUint32() * range;
    let high = floor(product * TWO_POW_MINUS_32);
    let low = product - high * TWO_POW_32;
    if (low < range) {
      const rejectBelow = (TWO_POW_32 - range) % range;
      while (low < rejectBelow) {
        product = this.nextUint32() * range;
        high = floor(product * TWO_POW_MINUS_32);
        low = product - high * TWO_POW_32;
      }
    }
    return high;
  }

  /** A uniform float in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() * TWO_POW_MINUS_32;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function splitMix64(seed: bigint): () => bigint {
  const mask = 0xffffffffffffffffn;
  let state = seed & mask;
  return () => {
    state = (state + 0x9e3779b97f4a7c15n) & mask;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    return z ^ (z >> 31n);
  };
}
