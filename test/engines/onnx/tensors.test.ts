import { DataType, type TensorProto } from '../../../src/engines/onnx/proto.js';
import {
  float16Tensor,
  float32Bytes,
  float32Tensor,
  int64Tensor,
  rawTensor,
  tensorFloat32,
  transposeMatrix,
  uint8Tensor,
} from '../../../src/engines/onnx/tensors.js';

function typedTensor(fields: Partial<TensorProto>): TensorProto {
  return { dims: [], floatData: [], int32Data: [], int64Data: [], externalData: [], unknownFields: [], ...fields };
}

describe('tensor constructors', () => {
  it('store little-endian raw data of the right type', () => {
    expect(Array.from(float32Tensor('f', [2], [1, -2]).rawData!)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect(Array.from(float16Tensor('h', [2], [1, 65520]).rawData!)).toEqual([0, 0x3c, 0, 0x7c]);
    expect(Array.from(int64Tensor('i', [1], [-2n]).rawData!)).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(uint8Tensor('u', [1, 2], [7, 255])).toMatchObject({ name: 'u', dataType: DataType.UINT8, dims: [1, 2] });
  });
});

describe('tensorFloat32', () => {
  it('reads float32 and float16 from raw data or the typed fields', () => {
    expect(Array.from(tensorFloat32(float32Tensor('f', [3], [0.5, -1, 3])))).toEqual([0.5, -1, 3]);
    expect(
      Array.from(tensorFloat32(typedTensor({ dataType: DataType.FLOAT, dims: [2], floatData: [1.5, 2] }))),
    ).toEqual([1.5, 2]);
    expect(Array.from(tensorFloat32(float16Tensor('h', [2], [0.1, -3])))).toEqual([0.0999755859375, -3]);
    expect(
      Array.from(tensorFloat32(typedTensor({ dataType: DataType.FLOAT16, dims: [1], int32Data: [0x3c00] }))),
    ).toEqual([1]);
  });

  it('reads raw data at an unaligned offset, and as a view when aligned', () => {
    const file = new Uint8Array(13);
    new DataView(file.buffer).setFloat32(1, 2.5, true);
    new DataView(file.buffer).setFloat32(5, -4, true);
    expect(Array.from(tensorFloat32(rawTensor('u', DataType.FLOAT, [2], file.subarray(1, 9))))).toEqual([2.5, -4]);
    // As a model read from disk holds it: a Buffer, whose slice() would be a view at the same offset.
    const buffer = Buffer.from(file.buffer).subarray(1, 9);
    expect(Array.from(tensorFloat32(rawTensor('b', DataType.FLOAT, [2], buffer)))).toEqual([2.5, -4]);
    const aligned = float32Tensor('a', [2], [1, 2]);
    expect(tensorFloat32(aligned).buffer).toBe(aligned.rawData!.buffer);
  });

  it('refuses other types and data that does not fill the dims', () => {
    expect(() => tensorFloat32(int64Tensor('i', [1], [1]))).toThrow(
      /tensor "i" has ONNX data type 7, not float32 or float16/,
    );
    expect(() => tensorFloat32(rawTensor('r', DataType.FLOAT, [3], new Uint8Array(8)))).toThrow(
      /tensor "r" holds 2 values but its dims \[3\] need 3; the model is corrupt/,
    );
    expect(() => tensorFloat32(rawTensor('o', DataType.FLOAT, [1], new Uint8Array(5)))).toThrow(
      /tensor "o" has 5 bytes of raw data, not a whole number of 4-byte elements/,
    );
  });

  it('gives float32 bytes of either storage', () => {
    expect(Array.from(float32Bytes(typedTensor({ dataType: DataType.FLOAT, dims: [1], floatData: [1] })))).toEqual([
      0, 0, 0x80, 0x3f,
    ]);
  });
});

describe('transposeMatrix', () => {
  it('turns a row-major [rows, cols] matrix into [cols, rows]', () => {
    expect(Array.from(transposeMatrix(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => transposeMatrix(new Float32Array(5), 2, 3)).toThrow(/5 values do not form a 2×3 matrix/);
  });
});
