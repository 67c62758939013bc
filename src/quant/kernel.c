// quantgate's conversion kernel: one pass from safetensors source values (F32, F16 or BF16,
// little-endian) to a GGUF tensor type (Q4_0, Q8_0, F16 or F32), with WebAssembly SIMD.
// It is bit-exact with the scalar TypeScript codecs in this folder (and so with ggml) for every
// input, except the payload bits of a NaN, and it reports the first NaN or infinity it met.
//
// The caller puts up to CHUNK_VALUES source values into source_area() (copied in, or read from a
// file straight into it), calls convert(source_type, target_type, count) with ggml type ids, and
// reads target_area().
// Memory is fixed: the module never grows it.
//
// Rebuild (clang and lld 14 or newer): `scripts/build-wasm.sh` compiles this file and regenerates
// src/quant/kernel-wasm.ts, which holds the module's bytes; commit both. The float code relies on
// -ffp-contract=off: a fused multiply-add would round differently from ggml.

#include <stdint.h>
#include <wasm_simd128.h>

enum ggml_type_id { TYPE_F32 = 0, TYPE_F16 = 1, TYPE_Q4_0 = 2, TYPE_Q8_0 = 8, TYPE_BF16 = 30 };

#define BLOCK_VALUES 32
// 256 Ki values (512 KiB of BF16): large enough that a worker reading its file range makes few
// read calls (16 Ki values made the reads a quarter of the worker's time), small enough that a
// chunk stays in the core's L2 cache from the read or copy in to the copy out (1 Mi values ran
// about 40 % slower than 16 Ki).
#define CHUNK_VALUES (1 << 18)
#define HALF_INFINITY 0x7c00

static uint8_t source_area[CHUNK_VALUES * 4] __attribute__((aligned(16)));
static uint8_t target_area[CHUNK_VALUES * 4] __attribute__((aligned(16)));

__attribute__((export_name("source_area"))) uint8_t *export_source_area(void) { return source_area; }
__attribute__((export_name("target_area"))) uint8_t *export_target_area(void) { return target_area; }
__attribute__((export_name("chunk_values"))) uint32_t export_chunk_values(void) { return CHUNK_VALUES; }

#define INLINE static inline __attribute__((always_inline))

// ---- IEEE half <-> float32, four lanes at a time, exact ---------------------------------------

// Half bits (one per 32-bit lane) to float32.
INLINE v128_t half_to_float(v128_t half) {
  const v128_t sign = wasm_i32x4_shl(wasm_v128_and(half, wasm_i32x4_splat(0x8000)), 16);
  const v128_t magnitude = wasm_v128_and(half, wasm_i32x4_splat(0x7fff));
  // Normal, infinite and NaN: shift into place and rebias the exponent by 127 - 15; exponent 31
  // must become 255, which takes the same rebias once more.
  const v128_t is_special = wasm_i32x4_ge(magnitude, wasm_i32x4_splat(HALF_INFINITY));
  const v128_t rebias = wasm_i32x4_add(wasm_i32x4_splat(0x38000000), wasm_v128_and(is_special, wasm_i32x4_splat(0x38000000)));
  const v128_t normal = wasm_i32x4_add(wasm_i32x4_shl(magnitude, 13), rebias);
  // Subnormal m * 2^-24: 0.5 + m * 2^-24 is exact in float32 (its ulp is 2^-24); take 0.5 away.
  const v128_t subnormal = wasm_f32x4_sub(wasm_v128_or(magnitude, wasm_f32x4_splat(0.5f)), wasm_f32x4_splat(0.5f));
  const v128_t is_subnormal = wasm_i32x4_lt(magnitude, wasm_i32x4_splat(0x400));
  return wasm_v128_or(sign, wasm_v128_bitselect(subnormal, normal, is_subnormal));
}

// Float32 to half bits (one per 32-bit lane), rounding to nearest even.
INLINE v128_t float_to_half(v128_t value) {
  const v128_t sign = wasm_u32x4_shr(wasm_v128_and(value, wasm_i32x4_splat(0x80000000)), 16);
  const v128_t magnitude = wasm_v128_and(value, wasm_i32x4_splat(0x7fffffff));
  // Normal range: round the 13 dropped mantissa bits to nearest even (a carry bumps the
  // exponent, as it should), rebias the exponent, and saturate to infinity.
  const v128_t odd = wasm_v128_and(wasm_u32x4_shr(magnitude, 13), wasm_i32x4_splat(1));
  const v128_t rounded = wasm_i32x4_add(magnitude, wasm_i32x4_add(odd, wasm_i32x4_splat(0xfff)));
  const v128_t normal = wasm_u32x4_min(wasm_u32x4_shr(wasm_i32x4_sub(rounded, wasm_i32x4_splat(0x38000000)), 13),
                                       wasm_i32x4_splat(HALF_INFINITY));
  // Below 2^-14: adding 0.5 leaves an ulp of 2^-24, the half subnormal step, so the float add
  // itself rounds to nearest even and the mantissa bits of the sum are the half's bits.
  const v128_t subnormal = wasm_i32x4_sub(wasm_f32x4_add(magnitude, wasm_f32x4_splat(0.5f)), wasm_i32x4_splat(0x3f000000));
  const v128_t is_subnormal = wasm_i32x4_lt(magnitude, wasm_i32x4_splat(0x38800000));
  // NaN: keep the payload's top bits and force the quiet bit.
  const v128_t nan = wasm_v128_or(wasm_v128_and(wasm_u32x4_shr(magnitude, 13), wasm_i32x4_splat(0x3ff)), wasm_i32x4_splat(0x7e00));
  const v128_t is_nan = wasm_i32x4_gt(magnitude, wasm_i32x4_splat(0x7f800000));
  return wasm_v128_or(sign, wasm_v128_bitselect(nan, wasm_v128_bitselect(subnormal, normal, is_subnormal), is_nan));
}

INLINE uint16_t scalar_float_to_half(float value) {
  return (uint16_t)wasm_u32x4_extract_lane(float_to_half(wasm_f32x4_splat(value)), 0);
}

INLINE void store_u16(uint8_t *at, uint16_t value) {
  at[0] = (uint8_t)value;
  at[1] = (uint8_t)(value >> 8);
}

INLINE float float_from_bits(uint32_t bits) {
  return wasm_f32x4_extract_lane(wasm_u32x4_splat(bits), 0);
}

// ---- Reading a block of 32 source values ------------------------------------------------------

INLINE uint32_t source_size(int source) { return source == TYPE_F32 ? 4 : 2; }

// A block of 32 source values spans this many 16-byte vectors.
INLINE int raw_vectors(int source) { return 2 * (int)source_size(source); }

// The exponent field of the source type; all ones marks NaN or infinity.
INLINE uint32_t exponent_mask(int source) {
  return source == TYPE_F32 ? 0x7f800000 : source == TYPE_F16 ? 0x7c00 : 0x7f80;
}

// Keeps, per lane, the largest exponent field seen, so one comparison at the end of the chunk
// tells whether any value was NaN or infinite.
INLINE v128_t track_exponents(int source, v128_t largest, v128_t raw) {
  if (source == TYPE_F32) {
    return wasm_u32x4_max(largest, wasm_v128_and(raw, wasm_i32x4_splat(0x7f800000)));
  }
  return wasm_u16x8_max(largest, wasm_v128_and(raw, wasm_i16x8_splat((int16_t)exponent_mask(source))));
}

INLINE int any_nonfinite(int source, v128_t largest) {
  if (source == TYPE_F32) return wasm_v128_any_true(wasm_i32x4_eq(largest, wasm_i32x4_splat(0x7f800000)));
  return wasm_v128_any_true(wasm_i16x8_eq(largest, wasm_i16x8_splat((int16_t)exponent_mask(source))));
}

// The 32 values of a block as float32, values[k] holding elements 4k..4k+3.
INLINE void widen(int source, const v128_t raw[8], v128_t values[8]) {
  for (int k = 0; k < raw_vectors(source); k++) {
    if (source == TYPE_F32) {
      values[k] = raw[k];
    } else if (source == TYPE_BF16) {
      // A bfloat16 is the top half of its float32: interleave with zeros.
      const v128_t zero = wasm_i32x4_splat(0);
      values[2 * k] = wasm_i16x8_shuffle(zero, raw[k], 0, 8, 1, 9, 2, 10, 3, 11);
      values[2 * k + 1] = wasm_i16x8_shuffle(zero, raw[k], 4, 12, 5, 13, 6, 14, 7, 15);
    } else {
      values[2 * k] = half_to_float(wasm_u32x4_extend_low_u16x8(raw[k]));
      values[2 * k + 1] = half_to_float(wasm_u32x4_extend_high_u16x8(raw[k]));
    }
  }
}

// Index of the first NaN or infinity among `count` source values; called only when there is one.
INLINE int32_t first_nonfinite(int source, uint32_t count) {
  const uint32_t mask = exponent_mask(source);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t bits = 0;
    __builtin_memcpy(&bits, source_area + i * source_size(source), source_size(source));
    if ((bits & mask) == mask) return (int32_t)i;
  }
  return -1;
}

// ---- Q4_0 -------------------------------------------------------------------------------------

INLINE float horizontal_max(v128_t lanes) {
  lanes = wasm_f32x4_pmax(lanes, wasm_i32x4_shuffle(lanes, lanes, 2, 3, 0, 1));
  lanes = wasm_f32x4_pmax(lanes, wasm_i32x4_shuffle(lanes, lanes, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(lanes, 0);
}

INLINE float horizontal_min(v128_t lanes) {
  lanes = wasm_f32x4_pmin(lanes, wasm_i32x4_shuffle(lanes, lanes, 2, 3, 0, 1));
  lanes = wasm_f32x4_pmin(lanes, wasm_i32x4_shuffle(lanes, lanes, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(lanes, 0);
}

// ggml's own scan: the first value of largest magnitude (NaN never qualifies; 0 if all are 0).
static float first_largest_magnitude(const v128_t values[8]) {
  float scalars[BLOCK_VALUES];
  for (int k = 0; k < 8; k++) wasm_v128_store(&scalars[4 * k], values[k]);
  float largest_magnitude = 0.0f;
  float largest = 0.0f;
  for (int j = 0; j < BLOCK_VALUES; j++) {
    const float magnitude = __builtin_fabsf(scalars[j]);
    if (largest_magnitude < magnitude) {
      largest_magnitude = magnitude;
      largest = scalars[j];
    }
  }
  return largest;
}

INLINE void quantize_q4_0(const v128_t values[8], uint8_t *out) {
  // pmax(a, b) is a < b ? b : a, so a NaN in b leaves a alone; starting from -inf and +inf keeps
  // NaN out of the running extremes (as ggml's scan ignores it).
  v128_t top = wasm_f32x4_splat(-__builtin_inff());
  v128_t bottom = wasm_f32x4_splat(__builtin_inff());
  for (int k = 0; k < 8; k++) {
    top = wasm_f32x4_pmax(top, values[k]);
    bottom = wasm_f32x4_pmin(bottom, values[k]);
  }
  const float highest = horizontal_max(top);
  const float lowest = horizontal_min(bottom);
  // Only a tie of opposite signs (or an all-zero or all-NaN block) needs ggml's ordered scan.
  const float largest = highest > -lowest ? highest : -lowest > highest ? lowest : first_largest_magnitude(values);

  const float scale = largest / -8.0f;
  const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
  store_u16(out, scalar_float_to_half(scale));
  if (__builtin_isinf(inverse)) {
    // A subnormal scale: every x / d overflows, and ggml's x86 build turns those into 0.
    wasm_v128_store(out + 2, wasm_i32x4_splat(0));
    return;
  }
  const v128_t factor = wasm_f32x4_splat(inverse);
  const v128_t offset = wasm_f32x4_splat(8.5f);
  v128_t quants[4];
  for (int k = 0; k < 4; k++) {
    // A NaN value gives trunc_sat 0, as ggml's x86 build does; the rest lie in 0..16.
    const v128_t a = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_add(wasm_f32x4_mul(values[2 * k], factor), offset));
    const v128_t b = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_add(wasm_f32x4_mul(values[2 * k + 1], factor), offset));
    quants[k] = wasm_i16x8_min(wasm_i16x8_narrow_i32x4(a, b), wasm_i16x8_splat(15));
  }
  // Byte j holds element j in its low nibble and element j + 16 in its high nibble.
  const v128_t low = wasm_v128_or(quants[0], wasm_i16x8_shl(quants[2], 4));
  const v128_t high = wasm_v128_or(quants[1], wasm_i16x8_shl(quants[3], 4));
  wasm_v128_store(out + 2, wasm_u8x16_narrow_i16x8(low, high));
}

// ---- Q8_0 -------------------------------------------------------------------------------------

// C's roundf: halves away from zero.
static float round_half_away_scalar(float x) {
  const float truncated = __builtin_truncf(x);
  return __builtin_fabsf(x - truncated) >= 0.5f ? truncated + __builtin_copysignf(1.0f, x) : truncated;
}

// C's float-to-int conversion as x86 does it: 0x80000000 for NaN or a value outside int32.
static int32_t x86_float_to_int32(float x) {
  return x >= -2147483648.0f && x < 2147483648.0f ? (int32_t)x : INT32_MIN;
}

// ggml's scalar Q8_0, for a block holding a NaN. Its running MAX(amax, |x|) restarts after a
// NaN, so the values before it can scale beyond +-127, and (int8_t) then keeps the low byte.
static void quantize_q8_0_with_nan(const v128_t values[8], uint8_t *out) {
  float scalars[BLOCK_VALUES];
  for (int k = 0; k < 8; k++) wasm_v128_store(&scalars[4 * k], values[k]);
  float largest_magnitude = 0.0f;
  for (int j = 0; j < BLOCK_VALUES; j++) {
    const float magnitude = __builtin_fabsf(scalars[j]);
    largest_magnitude = largest_magnitude > magnitude ? largest_magnitude : magnitude;
  }
  const float scale = largest_magnitude / 127.0f;
  const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
  store_u16(out, scalar_float_to_half(scale));
  for (int j = 0; j < BLOCK_VALUES; j++) {
    out[2 + j] = (uint8_t)x86_float_to_int32(round_half_away_scalar(scalars[j] * inverse));
  }
}

// round(x) with halves away from zero, as C's roundf, to int32 (NaN gives 0).
INLINE v128_t round_half_away(v128_t x) {
  const v128_t truncated = wasm_i32x4_trunc_sat_f32x4(x);
  const v128_t fraction = wasm_f32x4_sub(x, wasm_f32x4_convert_i32x4(truncated));
  const v128_t needs_step = wasm_f32x4_ge(wasm_f32x4_abs(fraction), wasm_f32x4_splat(0.5f));
  const v128_t step = wasm_v128_or(wasm_i32x4_shr(x, 31), wasm_i32x4_splat(1));
  return wasm_i32x4_add(truncated, wasm_v128_and(needs_step, step));
}

INLINE void quantize_q8_0(const v128_t values[8], uint8_t *out) {
  // For non-negative floats the bit patterns order like the values, and a NaN sorts above all.
  const v128_t magnitude_mask = wasm_i32x4_splat(0x7fffffff);
  v128_t largest = wasm_v128_and(values[0], magnitude_mask);
  for (int k = 1; k < 8; k++) largest = wasm_u32x4_max(largest, wasm_v128_and(values[k], magnitude_mask));
  largest = wasm_u32x4_max(largest, wasm_i32x4_shuffle(largest, largest, 2, 3, 0, 1));
  largest = wasm_u32x4_max(largest, wasm_i32x4_shuffle(largest, largest, 1, 0, 3, 2));
  const uint32_t largest_bits = wasm_u32x4_extract_lane(largest, 0);
  if (largest_bits > 0x7f800000) {
    quantize_q8_0_with_nan(values, out);
    return;
  }

  const float scale = float_from_bits(largest_bits) / 127.0f;
  const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
  store_u16(out, scalar_float_to_half(scale));
  if (__builtin_isinf(inverse)) {
    // A subnormal scale: every x / d overflows, and ggml's x86 build turns those into 0.
    wasm_v128_store(out + 2, wasm_i32x4_splat(0));
    wasm_v128_store(out + 18, wasm_i32x4_splat(0));
    return;
  }
  // Without NaN every x / d lies within +-127 (or is NaN, from an infinity times 0, giving 0).
  const v128_t factor = wasm_f32x4_splat(inverse);
  v128_t quants[4];
  for (int k = 0; k < 4; k++) {
    quants[k] = wasm_i16x8_narrow_i32x4(round_half_away(wasm_f32x4_mul(values[2 * k], factor)),
                                        round_half_away(wasm_f32x4_mul(values[2 * k + 1], factor)));
  }
  wasm_v128_store(out + 2, wasm_i8x16_narrow_i16x8(quants[0], quants[1]));
  wasm_v128_store(out + 18, wasm_i8x16_narrow_i16x8(quants[2], quants[3]));
}

// ---- The conversion loop ----------------------------------------------------------------------

INLINE uint32_t target_block_bytes(int target) {
  return target == TYPE_Q4_0 ? 18 : target == TYPE_Q8_0 ? 34 : target == TYPE_F16 ? 64 : 128;
}

// Specialized by the compiler for each (source, target) pair through constant arguments.
INLINE int32_t convert_chunk(int source, int target, uint32_t count) {
  v128_t exponents = wasm_i32x4_splat(0);
  for (uint32_t block = 0; block < count / BLOCK_VALUES; block++) {
    const uint8_t *in = source_area + block * BLOCK_VALUES * source_size(source);
    uint8_t *out = target_area + block * target_block_bytes(target);
    v128_t raw[8];
    for (int k = 0; k < raw_vectors(source); k++) {
      raw[k] = wasm_v128_load(in + 16 * k);
      exponents = track_exponents(source, exponents, raw[k]);
    }
    if (source == target) {
      for (int k = 0; k < raw_vectors(source); k++) wasm_v128_store(out + 16 * k, raw[k]);
      continue;
    }
    v128_t values[8];
    widen(source, raw, values);
    if (target == TYPE_Q4_0) {
      quantize_q4_0(values, out);
    } else if (target == TYPE_Q8_0) {
      quantize_q8_0(values, out);
    } else if (target == TYPE_F16) {
      for (int k = 0; k < 4; k++) {
        wasm_v128_store(out + 16 * k, wasm_u16x8_narrow_i32x4(float_to_half(values[2 * k]), float_to_half(values[2 * k + 1])));
      }
    } else {
      for (int k = 0; k < 8; k++) wasm_v128_store(out + 16 * k, values[k]);
    }
  }
  return any_nonfinite(source, exponents) ? first_nonfinite(source, count) : -1;
}

// Converts `count` values (a multiple of 32, at most CHUNK_VALUES) from source_area into
// target_area. Returns the index of the first NaN or infinity, or -1. Traps on bad arguments.
__attribute__((export_name("convert"))) int32_t convert(uint32_t source, uint32_t target, uint32_t count) {
  if (count > CHUNK_VALUES || count % BLOCK_VALUES != 0) __builtin_trap();
#define PAIR(s, t) \
  if (source == (s) && target == (t)) return convert_chunk((s), (t), count);
#define FROM(s) PAIR(s, TYPE_Q4_0) PAIR(s, TYPE_Q8_0) PAIR(s, TYPE_F16) PAIR(s, TYPE_F32)
  FROM(TYPE_BF16)
  FROM(TYPE_F16)
  FROM(TYPE_F32)
  __builtin_trap();
}
