import {
  ModelBuilder,
  floatAttribute,
  intAttribute,
  intsAttribute,
  stringAttribute,
  tensorAttribute,
} from '../../../src/engines/onnx/builder.js';
import { decodeModel, encodeModel } from '../../../src/engines/onnx/model.js';
import { DataType } from '../../../src/engines/onnx/proto.js';
import { float16Tensor, float32Tensor, int64Tensor, uint8Tensor } from '../../../src/engines/onnx/tensors.js';
import { floatInput, int64Input, runModel } from '../../helpers/onnxruntime.js';

describe('ModelBuilder', () => {
  it('builds a model that onnxruntime runs: MatMul, Add, Relu', async () => {
    const model = new ModelBuilder()
      .input('x', 'float32', ['batch', 2])
      .initializer(float32Tensor('w', [2, 3], [1, 2, 3, 4, 5, 6]))
      .initializer(float32Tensor('b', [3], [0.5, -100, 0]))
      .node('MatMul', ['x', 'w'], ['xw'])
      .node('Add', ['xw', 'b'], ['sum'])
      .node('Relu', ['sum'], ['y'])
      .output('y', 'float32', ['batch', 3])
      .build();
    const { y } = await runModel(model, { x: floatInput([2, 2], [1, 1, -1, 2]) });
    expect(y.dims).toEqual([2, 3]);
    expect(y.data).toEqual([5.5, 0, 9, 7.5, 0, 9]);
  });

  it('writes every tensor and attribute helper in a form onnxruntime reads', async () => {
    const model = new ModelBuilder()
      .input('x', 'float32', [2, 2])
      .input('ids', 'int64', [2])
      .initializer(float32Tensor('w', [1, 2], [1, -1]))
      .initializer(float16Tensor('table', [3, 1], [0.25, -1.5, 1024]))
      .initializer(uint8Tensor('scale', [2], [2, 255]))
      .node('Gemm', ['x', 'w'], ['g'], { attributes: [floatAttribute('alpha', 0.5), intAttribute('transB', 1)] })
      .node('Cast', ['table'], ['table32'], { attributes: [intAttribute('to', DataType.FLOAT)] })
      .node('Gather', ['table32', 'ids'], ['picked'])
      .node('Add', ['g', 'picked'], ['sum'])
      .node('Constant', [], ['shape'], { attributes: [tensorAttribute('value', int64Tensor('shape', [2], [1, 2]))] })
      .node('Reshape', ['sum', 'shape'], ['row'])
      .node('Constant', [], ['pads'], {
        attributes: [tensorAttribute('value', int64Tensor('pads', [4], [0, 1, 0, 1]))],
      })
      .node('Pad', ['row', 'pads'], ['padded'], { attributes: [stringAttribute('mode', 'reflect')] })
      .node('Cast', ['scale'], ['scale32'], { attributes: [intAttribute('to', DataType.FLOAT)] })
      .node('ReduceMean', ['padded'], ['mean'], {
        attributes: [intsAttribute('axes', [-1]), intAttribute('keepdims', 0)],
      })
      .node('Mul', ['mean', 'scale32'], ['y'])
      .output('padded', 'float32', [1, 4])
      .output('y', 'float32')
      .build();
    const { padded, y } = await runModel(model, { x: floatInput([2, 2], [3, 1, 2, 6]), ids: int64Input([2], [2, 1]) });
    // g = 0.5 * (x · [1, -1]) = [1, -2]; picked = [1024, -1.5]; sum = [1025, -3.5]; reflect-padded.
    expect(padded.data).toEqual([-3.5, 1025, -3.5, 1025]);
    expect(y.data).toEqual([2 * 510.75, 255 * 510.75]);
  });

  it('imports extension domains and chooses the IR version for the opset', () => {
    const model = new ModelBuilder({ opset: 21 }).opset('com.microsoft', 1).build();
    expect(model.irVersion).toBe(10);
    expect(model.opsetImport.map(({ domain, version }) => [domain, version])).toEqual([
      ['', 21],
      ['com.microsoft', 1],
    ]);
    expect(new ModelBuilder().build().irVersion).toBe(8);
  });

  it('decodes back to exactly what it built', () => {
    const model = new ModelBuilder()
      .opset('com.microsoft', 1)
      .input('x', 'float32', ['n', 32])
      .initializer(uint8Tensor('b', [4, 1, 16], new Uint8Array(64)))
      .initializer(float32Tensor('s', [4, 1], [1, 2, 3, 4]))
      .node('MatMulNBits', ['x', 'b', 's'], ['y'], {
        domain: 'com.microsoft',
        name: 'q',
        attributes: [intAttribute('K', 32), intAttribute('N', 4)],
      })
      .output('y', 'float32')
      .build();
    expect(decodeModel(encodeModel(model))).toEqual(model);
  });

  it('refuses what would make an invalid model', () => {
    expect(() => new ModelBuilder({ opset: 13 })).toThrow(/opset 13 is below 17/);
    expect(() => new ModelBuilder().node('MatMulNBits', ['x'], ['y'], { domain: 'com.microsoft' })).toThrow(
      /domain "com.microsoft", which has no opset import/,
    );
    expect(() => new ModelBuilder().input('x', 'float32', [1]).node('Relu', ['x'], ['x'])).toThrow(
      /value "x" is defined twice/,
    );
    expect(() => float32Tensor('w', [2, 2], [1, 2, 3])).toThrow(/3 values do not fill dims of 4 elements/);
  });
});
