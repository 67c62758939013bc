import { readFileSync } from 'node:fs';
import { decode, decodeSource, encode } from '../../src/quant/codec.js';
import { fixture } from '../helpers/paths.js';

const golden = (name: string) => new Uint8Array(readFileSync(fixture('quant', name)));
const input = golden('input.f32');
const inputValues = decodeSource('F32', input);

function firstDifference(got: Uint8Array, want: Uint8Array): string {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  const at = got.findIndex((byte, i) => byte !== want[i]);
  return at < 0 ? 'identical' : `byte ${at} differs: ${got[at]} != ${want[at]}`;
}
function bytesOf(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((value, i) => new DataView(out.buffer).setFloat32(i * 4, value, true));
  return out;
}

describe('encode matches ggml byte for byte', () => {
  test.each([
    ['Q4_0', 'q4_0.bin'],
    ['Q8_0', 'q8_0.bin'],
    ['F16', 'f16.bin'],
  ] as const)('%s', (type, file) => {
    expect(firstDifference(encode(type, inputValues), golden(file))).toBe('identical');
  });

  test('F32 is the little-endian float32 bytes', () => {
    expect(firstDifference(encode('F32', inputValues), input)).toBe('identical');
  });
});

describe('the golden set exercises the edge cases', () => {
  const q4 = golden('q4_0.bin');
  const block = (row: number, index = 0) => q4.subarray((row * 8 + index) * 18, (row * 8 + index + 1) * 18);

  test('an all-zero block stores d = -0 and every byte 0x88', () => {
    expect(Array.from(block(40))).toEqual([0x00, 0x80, ...new Array(16).fill(0x88)]);
    expect(Array.from(encode('Q4_0', new Float32Array(32)))).toEqual(Array.from(block(40)));
  });

  test('a scale beyond fp16 range is stored as infinity, with the quants still computed', () => {
    const row45 = Array.from({ length: 8 }, (_, i) => block(45, i));
    expect(row45.some((b) => b[0] === 0x00 && (b[1] & 0x7f) === 0x7c)).toBe(true);
    expect(
      firstDifference(encode('Q4_0', inputValues.subarray(45 * 256, 46 * 256)), q4.subarray(45 * 8 * 18, 46 * 8 * 18)),
    ).toBe('identical');
  });

  test('a subnormal scale (1/d overflows) gives all-zero quants', () => {
    expect(Array.from(block(46).subarray(2))).toEqual(new Array(16).fill(0));
  });

  test('the first of two equal magnitudes picks the sign of the scale', () => {
    const values = new Float32Array(32);
    values[3] = -2;
    values[9] = 2;
    const negativeFirst = encode('Q4_0', values);
    values[3] = 2;
    values[9] = -2;
    const positiveFirst = encode('Q4_0', values);
    expect(negativeFirst[1]).toBe(0x34); // d = -2 / -8 = +0.25
    expect(positiveFirst[1]).toBe(0xb4); // d = -0.25
  });

  test('Q8_0 rounds half away from zero and keeps 0.49999997 below one half', () => {
    const values = new Float32Array(32);
    values[0] = 127;
    values.set([0.5, -0.5, 1.5, -2.5, Math.fround(0.49999997)], 1);
    expect(Array.from(encode('Q8_0', values).subarray(2, 8), (byte) => (byte << 24) >> 24)).toEqual([
      127, 1, -1, 2, -3, 0,
    ]);
  });
});

describe('decode', () => {
  test.each([
    ['Q4_0', 'q4_0.bin', 'q4_0.dequant.f32'],
    ['Q8_0', 'q8_0.bin', 'q8_0.dequant.f32'],
  ] as const)('%s matches ggml dequantization', (type, blocks, dequant) => {
    const values = decode(type, golden(blocks), inputValues.length);
    expect(firstDifference(bytesOf(values), golden(dequant))).toBe('identical');
  });

  test('F16 and BF16 widen exactly; F32 reads back its bytes', () => {
    const viaHalf = decode('F16', golden('f16.bin'), inputValues.length);
    expect(firstDifference(encode('F16', viaHalf), golden('f16.bin'))).toBe('identical');
    // A widened bfloat16 is its 16 bits followed by 16 zero bits.
    const bf16 = golden('bf16.bin');
    const widened = bytesOf(decodeSource('BF16', bf16));
    const expected = new Uint8Array(widened.length);
    for (let i = 0; i < bf16.length / 2; i++) expected.set(bf16.subarray(i * 2, i * 2 + 2), i * 4 + 2);
    expect(firstDifference(widened, expected)).toBe('identical');
    expect(firstDifference(bytesOf(decode('F32', input, inputValues.length)), input)).toBe('identical');
  });

  test('reads unaligned views', () => {
    const shifted = new Uint8Array(input.length + 1);
    shifted.set(input, 1);
    expect(firstDifference(bytesOf(decodeSource('F32', shifted.subarray(1))), input)).toBe('identical');
  });
});

describe('rejects sizes that are not whole blocks', () => {
  test('encode', () => {
    expect(() => encode('Q4_0', new Float32Array(33))).toThrow(
      'Q4_0 holds values in blocks of 32; 33 values is not a whole number of blocks',
    );
  });
  test('decode', () => {
    expect(() => decode('Q8_0', new Uint8Array(33), 32)).toThrow('32 Q8_0 values take 34 bytes, not 33');
    expect(() => decodeSource('BF16', new Uint8Array(3))).toThrow(
      'BF16 values take 2 bytes each; 3 bytes is not a whole number of them',
    );
  });
});
