import { readFile } from 'node:fs/promises';
import { ModelBuilder, intAttribute } from '../../../src/engines/onnx/builder.js';
import { q4_0ToMatMulNBits, type MatMulNBitsWeight } from '../../../src/engines/onnx/matmulnbits.js';
import { float32Tensor, uint8Tensor } from '../../../src/engines/onnx/tensors.js';
import { floatInput, runModel } from '../../helpers/onnxruntime.js';
import { fixture } from '../../helpers/paths.js';

/** ggml's golden Q4_0 blocks: 64 rows of 256 values, and ggml's own dequantization of them. */
const ROWS = 64;
const COLS = 256;
const ROW_BYTES = (COLS / 32) * 18;

/** What MatMulNBits computes from B and scales, per its contract: (nibble - 8) × scale, element 2i in the low nibble of byte i. */
function dequantizeAsMatMulNBits({ n, k, packed, scales }: MatMulNBitsWeight): Float32Array {
  const out = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < k; col++) {
      const byte = packed[(row * k + col) >> 1];
      const nibble = col % 2 === 0 ? byte & 0x0f : byte >> 4;
      out[row * k + col] = (nibble - 8) * scales[row * (k / 32) + Math.floor(col / 32)];
    }
  }
  return out;
}

async function golden(): Promise<{ blocks: Uint8Array; dequantized: Float32Array }> {
  const blocks = new Uint8Array(await readFile(fixture('quant', 'q4_0.bin')));
  const dequantized = new Float32Array(new Uint8Array(await readFile(fixture('quant', 'q4_0.dequant.f32'))).buffer);
  return { blocks, dequantized };
}

describe('q4_0ToMatMulNBits', () => {
  it('moves element j and j+16 of a Q4_0 block to the pairs MatMulNBits expects', () => {
    // Scale 0.5 (fp16 0x3800); byte j holds element j = j (low nibble) and element j+16 = 15-j (high nibble).
    const block = Uint8Array.from([0x00, 0x38, ...Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4))]);
    const { packed, scales } = q4_0ToMatMulNBits(block, 1, 32);
    const element = (e: number) => (e < 16 ? e : 31 - e);
    expect(Array.from(scales)).toEqual([0.5]);
    expect(Array.from(packed)).toEqual(
      Array.from({ length: 16 }, (_, i) => element(2 * i) | (element(2 * i + 1) << 4)),
    );
  });

  it("dequantizes, by MatMulNBits' contract, to exactly ggml's values for ggml's golden blocks", async () => {
    const { blocks, dequantized } = await golden();
    const weight = q4_0ToMatMulNBits(blocks, ROWS, COLS);
    expect(weight.packed.length).toBe(ROWS * (COLS / 32) * 16);
    expect(weight.scales.length).toBe(ROWS * (COLS / 32));
    expect(Array.from(dequantizeAsMatMulNBits(weight))).toEqual(Array.from(dequantized));
  });

  it('gives onnxruntime a weight that multiplies exactly like the dequantized one', async () => {
    const { blocks, dequantized } = await golden();
    // Rows whose fp16 scale overflowed dequantize to inf/NaN, which would spread through the sums.
    const finiteRows = Array.from({ length: ROWS }, (_, row) => row).filter((row) =>
      dequantized.subarray(row * COLS, (row + 1) * COLS).every(Number.isFinite),
    );
    const rowBlocks = Buffer.concat(finiteRows.map((row) => blocks.subarray(row * ROW_BYTES, (row + 1) * ROW_BYTES)));
    const n = finiteRows.length;
    const weight = q4_0ToMatMulNBits(rowBlocks, n, COLS);
    const model = new ModelBuilder()
      .opset('com.microsoft', 1)
      .input('a', 'float32', [COLS, COLS])
      .initializer(uint8Tensor('b', [n, COLS / 32, 16], weight.packed))
      .initializer(float32Tensor('scales', [n, COLS / 32], weight.scales))
      .node('MatMulNBits', ['a', 'b', 'scales'], ['y'], {
        domain: 'com.microsoft',
        attributes: [
          intAttribute('K', COLS),
          intAttribute('N', n),
          intAttribute('bits', 4),
          intAttribute('block_size', 32),
        ],
      })
      .output('y', 'float32')
      .build();
    const identity = Float32Array.from({ length: COLS * COLS }, (_, i) => (i % (COLS + 1) === 0 ? 1 : 0));
    const { y } = await runModel(model, { a: floatInput([COLS, COLS], identity) });
    // identity × Wᵀ = Wᵀ: y[k][n] is the weight's row n, column k (adding zeros turns -0 into 0).
    const expected = Array.from(
      { length: COLS * n },
      (_, i) => dequantized[finiteRows[i % n] * COLS + Math.floor(i / n)] + 0,
    );
    expect(y.dims).toEqual([COLS, n]);
    expect(y.data.map((value) => value + 0)).toEqual(expected);
  });

  it('refuses rows that are not whole blocks, or bytes that do not fit the shape', () => {
    expect(() => q4_0ToMatMulNBits(new Uint8Array(18), 1, 16)).toThrow(/16 values is not/);
    expect(() => q4_0ToMatMulNBits(new Uint8Array(18), 2, 32)).toThrow(/2×32 Q4_0 values take 36 bytes, not 18/);
  });
});
