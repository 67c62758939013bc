// The scalar codecs behind one entry point per direction: `encode` float32 values into a type
// quantgate writes, `decode` any type quantgate reads back to float32, and `decodeSource` the
// little-endian bytes of a safetensors tensor. Plain TypeScript, bit-exact with ggml; the
// WebAssembly kernel (pool.ts) does the same conversions fast and is tested against these.

import { GGML_TYPES, tensorByteSize, type GgmlTypeName } from '../formats/gguf/constants.js';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from './half.js';
import { dequantizeQ4_0, quantizeQ4_0 } from './q4_0.js';
import { dequantizeQ8_0, quantizeQ8_0 } from './q8_0.js';

/** The safetensors dtypes quantgate reads. */
export type SourceType = 'F32' | 'F16' | 'BF16';
/** The tensor types quantgate writes (never BF16). */
export type TargetType = 'F32' | 'F16' | 'Q4_0' | 'Q8_0';

function requireWholeBlocks(type: GgmlTypeName, count: number): void {
  const { blockSize } = GGML_TYPES[type];
  if (!Number.isInteger(count) || count < 0 || count % blockSize !== 0) {
    throw new RangeError(
      `${type} holds values in blocks of ${blockSize}; ${count} values is not a whole number of blocks`,
    );
  }
}

/** `values` in `type`'s little-endian byte layout. */
export function encode(type: TargetType, values: Float32Array): Uint8Array {
  requireWholeBlocks(type, values.length);
  switch (type) {
    case 'Q4_0':
      return quantizeQ4_0(values);
    case 'Q8_0':
      return quantizeQ8_0(values);
    case 'F16': {
      const out = new Uint8Array(values.length * 2);
      const view = new DataView(out.buffer);
      values.forEach((value, i) => view.setUint16(i * 2, f32ToF16Bits(value), true));
      return out;
    }
    case 'F32': {
      const out = new Uint8Array(values.length * 4);
      const view = new DataView(out.buffer);
      values.forEach((value, i) => view.setFloat32(i * 4, value, true));
      return out;
    }
  }
}

/** The `count` values that `bytes` (exactly their size) hold in `type`'s layout. */
export function decode(type: GgmlTypeName, bytes: Uint8Array, count: number): Float32Array {
  requireWholeBlocks(type, count);
  const size = tensorByteSize(type, count);
  if (bytes.length !== size) {
    throw new RangeError(`${count} ${type} values take ${size} bytes, not ${bytes.length}`);
  }
  switch (type) {
    case 'Q4_0':
      return dequantizeQ4_0(bytes, count);
    case 'Q8_0':
      return dequantizeQ8_0(bytes, count);
    default: {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const read = elementReader(type, view);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = read(i);
      return out;
    }
  }
}

function elementReader(type: 'F32' | 'F16' | 'BF16', view: DataView): (index: number) => number {
  switch (type) {
    case 'F32':
      return (i) => view.getFloat32(i * 4, true);
    case 'F16':
      return (i) => f16BitsToF32(view.getUint16(i * 2, true));
    case 'BF16':
      return (i) => bf16BitsToF32(view.getUint16(i * 2, true));
  }
}

/** The values of a safetensors tensor's little-endian `bytes` of dtype `type`. */
export function decodeSource(type: SourceType, bytes: Uint8Array): Float32Array {
  const { typeSize } = GGML_TYPES[type];
  if (bytes.length % typeSize !== 0) {
    throw new RangeError(
      `${type} values take ${typeSize} bytes each; ${bytes.length} bytes is not a whole number of them`,
    );
  }
  return decode(type, bytes, bytes.length / typeSize);
}
