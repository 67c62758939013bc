import { readFileSync } from 'node:fs';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/quant/half.js';
import { fixture } from '../helpers/paths.js';

const bitsView = new DataView(new ArrayBuffer(4));
function fromBits(bits: number): number {
  bitsView.setUint32(0, bits);
  return bitsView.getFloat32(0);
}
function toBits(value: number): number {
  bitsView.setFloat32(0, value);
  return bitsView.getUint32(0);
}
function isHalfNaN(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
}
function goldenInput(): Float32Array {
  const bytes = readFileSync(fixture('quant', 'input.f32'));
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}
function golden16(name: string): number[] {
  const bytes = readFileSync(fixture('quant', name));
  return Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readUInt16LE(i * 2));
}

describe('IEEE half', () => {
  test('every half survives half → float32 → half unchanged', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = f16BitsToF32(bits);
      if (isHalfNaN(bits)) {
        expect(Number.isNaN(value)).toBe(true);
        expect(isHalfNaN(f32ToF16Bits(value))).toBe(true);
      } else if (f32ToF16Bits(value) !== bits) {
        throw new Error(`half 0x${bits.toString(16)} came back as 0x${f32ToF16Bits(value).toString(16)}`);
      }
    }
  });

  test('decodes known values exactly', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
  });

  test('rounds every float32 near each rounding boundary to nearest, ties to even', () => {
    // Between adjacent halves lo < hi (subnormal and normal alike) lies the midpoint, exact in
    // float32: below it rounds to lo, above it to hi, on it to whichever has an even mantissa.
    for (let lo = 0; lo < 0x7c00; lo++) {
      const hi = lo + 1;
      const midpoint = hi === 0x7c00 ? 65520 : (f16BitsToF32(lo) + f16BitsToF32(hi)) / 2;
      const midBits = toBits(midpoint);
      for (const sign of [0, 0x8000]) {
        const signed = (bits: number) => fromBits(sign ? bits | 0x80000000 : bits);
        const cases: Array<[number, number]> = [
          [signed(midBits - 1), lo],
          [signed(midBits), lo % 2 === 0 ? lo : hi],
          [signed(midBits + 1), hi],
        ];
        for (const [value, want] of cases) {
          if (f32ToF16Bits(value) !== (sign | want)) {
            throw new Error(
              `${value} became 0x${f32ToF16Bits(value).toString(16)}, want 0x${(sign | want).toString(16)}`,
            );
          }
        }
      }
    }
  });

  test('overflows to infinity, underflows to signed zero, keeps NaN a quiet NaN', () => {
    expect(f32ToF16Bits(65519.99609375)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(6e5)).toBe(0x7c00);
    expect(f32ToF16Bits(-3.4e38)).toBe(0xfc00);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000);
    expect(f32ToF16Bits(-(2 ** -25) * 1.0000001)).toBe(0x8001);
    expect(f32ToF16Bits(-1e-30)).toBe(0x8000);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(fromBits(0x7f800001))).toBe(0x7e00);
    expect(f32ToF16Bits(fromBits(0xffc02000))).toBe(0xfe01);
  });

  test('matches ggml on the golden inputs', () => {
    const want = golden16('f16.bin');
    goldenInput().forEach((value, i) => {
      if (f32ToF16Bits(value) !== want[i])
        throw new Error(`input ${i} (${value}): 0x${f32ToF16Bits(value).toString(16)} != 0x${want[i].toString(16)}`);
    });
  });
});

describe('bfloat16', () => {
  test('widening is exact and narrowing gives back every bfloat16', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = bf16BitsToF32(bits);
      expect(toBits(value) >>> 16 === bits || Number.isNaN(value)).toBe(true);
      const isNaN = (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
      if (!isNaN && f32ToBf16Bits(value) !== bits) throw new Error(`bf16 0x${bits.toString(16)} came back changed`);
    }
  });

  test('narrows to nearest, ties to even, NaN forced quiet', () => {
    expect(f32ToBf16Bits(fromBits(0x3f808000))).toBe(0x3f80);
    expect(f32ToBf16Bits(fromBits(0x3f818000))).toBe(0x3f82);
    expect(f32ToBf16Bits(fromBits(0x3f808001))).toBe(0x3f81);
    expect(f32ToBf16Bits(fromBits(0xbf807fff))).toBe(0xbf80);
    expect(f32ToBf16Bits(fromBits(0x7f7fffff))).toBe(0x7f80);
    expect(f32ToBf16Bits(fromBits(0x00008000))).toBe(0x0000);
    expect(f32ToBf16Bits(fromBits(0x7f800001))).toBe(0x7fc0);
  });

  test('matches ggml on the golden inputs', () => {
    const want = golden16('bf16.bin');
    goldenInput().forEach((value, i) => {
      if (f32ToBf16Bits(value) !== want[i])
        throw new Error(`input ${i} (${value}): 0x${f32ToBf16Bits(value).toString(16)} != 0x${want[i].toString(16)}`);
    });
  });
});
