// ggml Q4_0 blocks as the inputs of onnxruntime's com.microsoft MatMulNBits (bits 4, block_size 32,
// no zero points: the default zero point 8 is Q4_0's offset), without dequantizing anything.
// Both formats quantize rows of K along K in blocks of 32 with one scale per block; they differ in
// nibble order. Q4_0 keeps elements j and j+16 in byte j (low nibble j); MatMulNBits keeps elements
// 2i and 2i+1 in byte i (low nibble 2i). Scales widen from fp16 to float32 exactly.

import { GGML_TYPES } from '../../formats/gguf/constants.js';
import { f16BitsToF32 } from '../../quant/half.js';

export const Q4_0_BLOCK_VALUES = GGML_TYPES.Q4_0.blockSize;
const BLOCK_BYTES = GGML_TYPES.Q4_0.typeSize;
const PACKED_BYTES = Q4_0_BLOCK_VALUES / 2;

export interface MatMulNBitsWeight {
  /** Rows of the [N, K] weight (output features). */
  n: number;
  /** Columns of the [N, K] weight (input features), a multiple of 32. */
  k: number;
  /** Input B: uint8 [N, K/32, 16]. */
  packed: Uint8Array;
  /** Input scales: float32 [N, K/32]. */
  scales: Float32Array;
}

/** Repacks the Q4_0 blocks of a weight with `n` rows of `k` values (ggml ne = [k, n]). */
export function q4_0ToMatMulNBits(blocks: Uint8Array, n: number, k: number): MatMulNBitsWeight {
  if (k % Q4_0_BLOCK_VALUES !== 0)
    throw new RangeError(`Q4_0 rows hold whole blocks of ${Q4_0_BLOCK_VALUES}; ${k} values is not`);
  const blockCount = (n * k) / Q4_0_BLOCK_VALUES;
  if (blocks.length !== blockCount * BLOCK_BYTES)
    throw new RangeError(`${n}×${k} Q4_0 values take ${blockCount * BLOCK_BYTES} bytes, not ${blocks.length}`);
  const packed = new Uint8Array(blockCount * PACKED_BYTES);
  const scales = new Float32Array(blockCount);
  const view = new DataView(blocks.buffer, blocks.byteOffset, blocks.byteLength);
  for (let block = 0; block < blockCount; block++) {
    const from = block * BLOCK_BYTES;
    scales[block] = f16BitsToF32(view.getUint16(from, true));
    const quants = from + 2;
    const to = block * PACKED_BYTES;
    // Output byte i holds elements 2i and 2i+1: for i < 8 both are low nibbles of Q4_0 bytes 2i and
    // 2i+1, for i ≥ 8 both are high nibbles of bytes 2i-16 and 2i-15.
    for (let i = 0; i < PACKED_BYTES / 2; i++) {
      packed[to + i] = (blocks[quants + 2 * i] & 0x0f) | ((blocks[quants + 2 * i + 1] & 0x0f) << 4);
      packed[to + PACKED_BYTES / 2 + i] = (blocks[quants + 2 * i] >> 4) | (blocks[quants + 2 * i + 1] & 0xf0);
    }
  }
  return { n, k, packed, scales };
}
