// Scalar conversions between float32 and the two 16-bit float formats, bit-exact with ggml:
// IEEE half both ways (round to nearest even, subnormals, overflow to infinity) and bfloat16
// (exact widening; narrowing rounds to nearest even and keeps NaN quiet, as ggml_fp32_to_bf16).
// These are the reference the WebAssembly kernel is tested against; bulk work goes through the kernel.

const scratch = new DataView(new ArrayBuffer(4));

function float32Bits(value: number): number {
  scratch.setFloat32(0, value);
  return scratch.getUint32(0);
}

function float32FromBits(bits: number): number {
  scratch.setUint32(0, bits);
  return scratch.getFloat32(0);
}

/** Bits of the smallest normal half, 2^-14, as a float32. */
const F32_BITS_HALF_MIN_NORMAL = 0x38800000;
/** Moves a float32 exponent to a half exponent: (127 - 15) << 23. */
const EXPONENT_REBIAS = 0x38000000;
const HALF_INFINITY = 0x7c00;

/** The IEEE half nearest to `value` (taken as a float32), ties to even, as its 16 bits. */
export function f32ToF16Bits(value: number): number {
  const bits = float32Bits(value);
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) {
    // Keep the payload's top bits and force the quiet bit, as the hardware conversion does.
    return sign | HALF_INFINITY | 0x200 | ((magnitude >>> 13) & 0x3ff);
  }
  if (magnitude >= F32_BITS_HALF_MIN_NORMAL) {
    // Round the 13 dropped mantissa bits to nearest even; a carry correctly bumps the exponent.
    const rounded = magnitude + 0xfff + ((magnitude >>> 13) & 1);
    return sign | Math.min(HALF_INFINITY, (rounded - EXPONENT_REBIAS) >>> 13);
  }
  // Half subnormals count units of 2^-24; the product below is exact in a double.
  const units = float32FromBits(magnitude) * 2 ** 24;
  const whole = Math.floor(units);
  const rest = units - whole;
  return sign | (whole + (rest > 0.5 || (rest === 0.5 && (whole & 1) === 1) ? 1 : 0));
}

/** The float32 value of the IEEE half `bits` (always exact). */
export function f16BitsToF32(bits: number): number {
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** The float32 value of the bfloat16 `bits`: its top 16 bits (always exact). */
export function bf16BitsToF32(bits: number): number {
  return float32FromBits((bits & 0xffff) << 16);
}

/** `value` (taken as a float32) narrowed to bfloat16 as ggml does it: ties to even, NaN kept quiet. */
export function f32ToBf16Bits(value: number): number {
  const bits = float32Bits(value);
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}
