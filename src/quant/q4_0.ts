// ggml's Q4_0 blocks in plain TypeScript, bit-exact with quantize_row_q4_0_ref and
// dequantize_row_q4_0: per 32 values an fp16 scale d, then 16 bytes whose low nibble holds
// element j and high nibble element j+16. Every float32 operation is rounded with Math.fround.

import { GGML_TYPES } from '../formats/gguf/constants.js';
import { f16BitsToF32, f32ToF16Bits } from './half.js';

const { blockSize: BLOCK_VALUES, typeSize: BLOCK_BYTES } = GGML_TYPES.Q4_0;
const HALF_BLOCK = BLOCK_VALUES / 2;
const f32 = Math.fround;

/** Quantizes `values` (a whole number of 32-value blocks) to Q4_0 blocks. */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  const blocks = values.length / BLOCK_VALUES;
  const out = new Uint8Array(blocks * BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let block = 0; block < blocks; block++) {
    const first = block * BLOCK_VALUES;
    // The signed value of largest magnitude; on a tie the first one wins.
    let largest = 0;
    let largestMagnitude = 0;
    for (let j = first; j < first + BLOCK_VALUES; j++) {
      const magnitude = Math.abs(values[j]);
      if (largestMagnitude < magnitude) {
        largestMagnitude = magnitude;
        largest = values[j];
      }
    }
    const scale = f32(largest / -8);
    const inverse = scale !== 0 ? f32(1 / scale) : 0;
    const at = block * BLOCK_BYTES;
    view.setUint16(at, f32ToF16Bits(scale), true);
    for (let j = 0; j < HALF_BLOCK; j++) {
      const low = nibble(f32(values[first + j] * inverse));
      const high = nibble(f32(values[first + HALF_BLOCK + j] * inverse));
      out[at + 2 + j] = low | (high << 4);
    }
  }
  return out;
}

/**
 * C's `MIN(15, (int8_t)(x + 8.5f))` as ggml's x86 build computes it. For finite input the sum
 * lies in 0..16.5 or is not finite (a block whose scale is subnormal has 1/d = Infinity), and a
 * non-finite value converts to 0x80000000, whose low byte is 0.
 */
function nibble(scaled: number): number {
  const shifted = f32(scaled + 8.5);
  return Number.isFinite(shifted) ? Math.min(15, Math.trunc(shifted)) : 0;
}

/** Expands `count` values (a whole number of blocks) from Q4_0 `blocks`. */
export function dequantizeQ4_0(blocks: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(blocks.buffer, blocks.byteOffset, blocks.byteLength);
  for (let block = 0; block < count / BLOCK_VALUES; block++) {
    const at = block * BLOCK_BYTES;
    const first = block * BLOCK_VALUES;
    const scale = f16BitsToF32(view.getUint16(at, true));
    for (let j = 0; j < HALF_BLOCK; j++) {
      const byte = blocks[at + 2 + j];
      out[first + j] = ((byte & 0x0f) - 8) * scale;
      out[first + HALF_BLOCK + j] = ((byte >> 4) - 8) * scale;
    }
  }
  return out;
}
