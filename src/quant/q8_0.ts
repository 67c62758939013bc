// ggml's Q8_0 blocks in plain TypeScript, bit-exact with quantize_row_q8_0_ref and
// dequantize_row_q8_0: per 32 values an fp16 scale d = amax / 127, then 32 signed bytes
// round(x / d), rounding half away from zero. Every float32 operation is rounded with Math.fround.

import { GGML_TYPES } from '../formats/gguf/constants.js';
import { f16BitsToF32, f32ToF16Bits } from './half.js';

const { blockSize: BLOCK_VALUES, typeSize: BLOCK_BYTES } = GGML_TYPES.Q8_0;
const f32 = Math.fround;

/** Quantizes `values` (a whole number of 32-value blocks) to Q8_0 blocks. */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  const blocks = values.length / BLOCK_VALUES;
  const out = new Uint8Array(blocks * BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let block = 0; block < blocks; block++) {
    const first = block * BLOCK_VALUES;
    let largestMagnitude = 0;
    for (let j = first; j < first + BLOCK_VALUES; j++) {
      const magnitude = Math.abs(values[j]);
      largestMagnitude = largestMagnitude > magnitude ? largestMagnitude : magnitude; // ggml's MAX
    }
    const scale = f32(largestMagnitude / 127);
    const inverse = scale !== 0 ? f32(1 / scale) : 0;
    const at = block * BLOCK_BYTES;
    view.setUint16(at, f32ToF16Bits(scale), true);
    for (let j = 0; j < BLOCK_VALUES; j++) {
      // Storing into a Uint8Array keeps the low byte, two's complement.
      out[at + 2 + j] = roundHalfAway(f32(values[first + j] * inverse));
    }
  }
  return out;
}

/**
 * C's `(int8_t)roundf(x)` as ggml's x86 build computes it: round half away from zero, then keep
 * the low byte of the int32, which is 0 for NaN or a value outside int32. Out-of-range values
 * arise only from a non-finite input or a subnormal scale (whose 1/d overflows to Infinity).
 */
function roundHalfAway(scaled: number): number {
  // The sum is exact in a double, so 0.49999997 stays below 1.
  const rounded = Math.sign(scaled) * Math.floor(Math.abs(scaled) + 0.5);
  return rounded >= -(2 ** 31) && rounded < 2 ** 31 ? rounded : 0;
}

/** Expands `count` values (a whole number of blocks) from Q8_0 `blocks`. */
export function dequantizeQ8_0(blocks: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(blocks.buffer, blocks.byteOffset, blocks.byteLength);
  for (let block = 0; block < count / BLOCK_VALUES; block++) {
    const at = block * BLOCK_BYTES;
    const first = block * BLOCK_VALUES;
    const scale = f16BitsToF32(view.getUint16(at, true));
    for (let j = 0; j < BLOCK_VALUES; j++) {
      out[first + j] = view.getInt8(at + 2 + j) * scale;
    }
  }
  return out;
}
