// Tensor values in and out of TensorProto: typed constructors that store little-endian raw_data
// (the form exporters write and onnxruntime loads fastest), a reader that turns a float tensor
// back into float32 values whichever field holds them, and the matrix transpose that moves weights
// between PyTorch's [out, in] and an export's [in, out]. Node runs on little-endian machines only,
// so typed-array bytes are the little-endian bytes ONNX stores.

import { QuantgateError } from '../../common/errors.js';
import { f16BitsToF32, f32ToF16Bits } from '../../quant/half.js';
import { DataType, type TensorProto } from './proto.js';

/** A TensorProto of `dataType` whose raw_data is `bytes` (kept as given, not copied). */
export function rawTensor(name: string, dataType: number, dims: readonly number[], bytes: Uint8Array): TensorProto {
  return {
    name,
    dataType,
    dims: [...dims],
    rawData: bytes,
    floatData: [],
    int32Data: [],
    int64Data: [],
    externalData: [],
    unknownFields: [],
  };
}

export function float32Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  return rawTensor(name, DataType.FLOAT, dims, bytesOf(Float32Array.from(values), elementCount(dims), name));
}

/** Values rounded to IEEE half, to nearest even. */
export function float16Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  const bits = Uint16Array.from({ length: values.length }, (_, i) => f32ToF16Bits(values[i]));
  return rawTensor(name, DataType.FLOAT16, dims, bytesOf(bits, elementCount(dims), name));
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly (number | bigint)[]): TensorProto {
  return rawTensor(
    name,
    DataType.INT64,
    dims,
    bytesOf(
      BigInt64Array.from(values, (value) => BigInt(value)),
      elementCount(dims),
      name,
    ),
  );
}

export function uint8Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  return rawTensor(name, DataType.UINT8, dims, bytesOf(Uint8Array.from(values), elementCount(dims), name));
}

/** The number of elements a tensor of `dims` holds (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

/**
 * A FLOAT or FLOAT16 tensor's values as float32, from raw_data or the typed data field. For float32
 * raw_data this is a view of the model's bytes where alignment allows: read it, do not modify it.
 */
export function tensorFloat32(tensor: TensorProto): Float32Array {
  const count = elementCount(tensor.dims);
  if (tensor.dataType === DataType.FLOAT) {
    if (!tensor.rawData) return checkCount(tensor, Float32Array.from(tensor.floatData), count);
    return checkCount(tensor, viewAs(tensor, tensor.rawData, Float32Array), count);
  }
  if (tensor.dataType === DataType.FLOAT16) {
    const bits = tensor.rawData ? viewAs(tensor, tensor.rawData, Uint16Array) : Uint16Array.from(tensor.int32Data);
    return checkCount(tensor, Float32Array.from(bits, f16BitsToF32), count);
  }
  throw new QuantgateError(
    `tensor "${tensor.name ?? ''}" has ONNX data type ${tensor.dataType}, not float32 or float16; only float tensors can be read as weights`,
  );
}

/** A FLOAT tensor's values as little-endian float32 bytes (a view of raw_data when it has one). */
export function float32Bytes(tensor: TensorProto): Uint8Array {
  if (tensor.dataType !== DataType.FLOAT) throw new RangeError(`tensor "${tensor.name ?? ''}" is not float32`);
  if (tensor.rawData) return tensor.rawData;
  const values = tensorFloat32(tensor);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** The [cols, rows] transpose of a row-major [rows, cols] matrix. */
export function transposeMatrix(values: Float32Array, rows: number, cols: number): Float32Array {
  if (values.length !== rows * cols)
    throw new RangeError(`${values.length} values do not form a ${rows}×${cols} matrix`);
  const out = new Float32Array(values.length);
  for (let row = 0; row < rows; row++) {
    const from = row * cols;
    for (let col = 0; col < cols; col++) out[col * rows + row] = values[from + col];
  }
  return out;
}

function bytesOf(
  values: Float32Array | Uint16Array | BigInt64Array | Uint8Array,
  expected: number,
  name: string,
): Uint8Array {
  if (values.length !== expected)
    throw new RangeError(`tensor "${name}": ${values.length} values do not fill dims of ${expected} elements`);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** `bytes` as a typed array, copying only when their offset is not aligned to the element size. */
function viewAs<T extends Float32Array | Uint16Array>(
  tensor: TensorProto,
  bytes: Uint8Array,
  type: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const size = type.BYTES_PER_ELEMENT;
  if (bytes.length % size !== 0) {
    throw new QuantgateError(
      `tensor "${tensor.name ?? ''}" has ${bytes.length} bytes of raw data, not a whole number of ${size}-byte elements; the model is corrupt — export it again`,
    );
  }
  // A Buffer's slice() is a view, not a copy, and model files are read into Buffers: copy explicitly.
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  return new type(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.length / size);
}

function checkCount(tensor: TensorProto, values: Float32Array, expected: number): Float32Array {
  if (values.length !== expected) {
    throw new QuantgateError(
      `tensor "${tensor.name ?? ''}" holds ${values.length} values but its dims [${tensor.dims.join(', ')}] need ${expected}; the model is corrupt — export it again`,
    );
  }
  return values;
}
