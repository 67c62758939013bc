import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../../src/common/errors.js';
import { ModelBuilder, intsAttribute } from '../../../src/engines/onnx/builder.js';
import type { UnknownField } from '../../../src/protobuf/message.js';
import { decodeModel, encodeModel, readModel, writeModel } from '../../../src/engines/onnx/model.js';
import { DATA_LOCATION_EXTERNAL, type ModelProto } from '../../../src/engines/onnx/proto.js';
import { float32Tensor, int64Tensor, tensorFloat32 } from '../../../src/engines/onnx/tensors.js';
import { ProtoWriter } from '../../../src/protobuf/wire.js';
import { floatInput, int64Input, runModel } from '../../helpers/onnxruntime.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

const torchModelPath = fixture('onnx', 'torch-linear.onnx');

function values(count: number, seed: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(seed * 7.1 + i * 0.37) * 0.5);
}

/** A field the ONNX schema here leaves out, encoded as `key`/`value` metadata (a StringStringEntryProto). */
function metadataField(field: number, key: string, value: string): UnknownField {
  const entry = new ProtoWriter();
  entry.lengthDelimited(1, Buffer.from(key));
  entry.lengthDelimited(2, Buffer.from(value));
  const writer = new ProtoWriter();
  writer.message(field, entry);
  return { field, bytes: writer.finish() };
}

function docStringField(field: number, text: string): UnknownField {
  const writer = new ProtoWriter();
  writer.lengthDelimited(field, Buffer.from(text));
  return { field, bytes: writer.finish() };
}

function linearModel(): ModelProto {
  return new ModelBuilder()
    .input('x', 'float32', ['batch', 8])
    .initializer(float32Tensor('w', [8, 4], values(32, 1)))
    .node('MatMul', ['x', 'w'], ['y'], { name: 'matmul' })
    .output('y', 'float32', ['batch', 4])
    .build();
}

describe('decodeModel / encodeModel', () => {
  it('re-encodes a model written by torch.onnx.export byte for byte', async () => {
    const bytes = await readFile(torchModelPath);
    const model = decodeModel(bytes, torchModelPath);
    expect(model.producerName).toBe('pytorch');
    expect(model.graph!.node.map((node) => node.opType)).toEqual([
      'Gather',
      'MatMul',
      'Add',
      'Relu',
      'MatMul',
      'Add',
      'ReduceMean',
      'Gemm',
    ]);
    expect(Buffer.from(encodeModel(model)).equals(bytes)).toBe(true);
  });

  it('keeps initializer data as views of the file bytes', async () => {
    const bytes = await readFile(torchModelPath);
    const model = decodeModel(bytes);
    for (const initializer of model.graph!.initializer) expect(initializer.rawData!.buffer).toBe(bytes.buffer);
  });

  it('gives onnxruntime the same model after an edited round trip', async () => {
    const bytes = await readFile(torchModelPath);
    const model = decodeModel(bytes);
    const edited = encodeModel({ ...model, producerName: 'edited', docString: 'round trip' });
    expect(Buffer.from(edited).equals(bytes)).toBe(false);
    const feeds = { ids: int64Input([2, 5], [0, 3, 39, 7, 7, 12, 1, 0, 25, 38]) };
    const [before, after] = [await runModel(bytes, feeds), await runModel(edited, feeds)];
    expect(after).toEqual(before);
    expect(before.logits.dims).toEqual([2, 5, 32]);
  });

  it('preserves fields it does not model, in a model onnxruntime still runs', async () => {
    const model = linearModel();
    const graph = model.graph!;
    graph.initializer[0].unknownFields.push(docStringField(12, 'weight'), metadataField(16, 'origin', 'test'));
    graph.node[0].unknownFields.push(metadataField(9, 'layer', '0'));
    graph.input[0].unknownFields.push(metadataField(4, 'unit', 'none'));
    const bytes = encodeModel(model);
    const decoded = decodeModel(bytes);
    expect(decoded.graph!.initializer[0].unknownFields.map((field) => field.field)).toEqual([12, 16]);
    expect(decoded.graph!.node[0].unknownFields.map((field) => field.field)).toEqual([9]);
    expect(Buffer.from(encodeModel(decoded)).equals(bytes)).toBe(true);
    const feeds = { x: floatInput([1, 8], values(8, 2)) };
    expect(await runModel(bytes, feeds)).toEqual(await runModel(linearModel(), feeds));
  });

  it('round-trips large raw data and negative or extreme int64 values', async () => {
    const weights = values(1024 * 768, 3);
    const model = new ModelBuilder()
      .input('x', 'float32', [1, 1024])
      .initializer(float32Tensor('w', [1024, 768], weights))
      .initializer(int64Tensor('starts', [1], [-16]))
      .initializer(int64Tensor('ends', [1], [2n ** 63n - 1n]))
      .initializer(int64Tensor('axes', [1], [-1]))
      .node('MatMul', ['x', 'w'], ['xw'])
      .node('Slice', ['xw', 'starts', 'ends', 'axes'], ['tail'])
      .node('ReduceMean', ['tail'], ['mean'], { attributes: [intsAttribute('axes', [-1])] })
      .output('tail', 'float32')
      .output('mean', 'float32')
      .build();
    const bytes = encodeModel(model);
    const decoded = decodeModel(bytes);
    const [w, starts, ends] = decoded.graph!.initializer;
    expect(Buffer.from(tensorFloat32(w).buffer).equals(Buffer.from(weights.buffer))).toBe(true);
    expect(new BigInt64Array(starts.rawData!.slice().buffer)[0]).toBe(-16n);
    expect(new BigInt64Array(ends.rawData!.slice().buffer)[0]).toBe(2n ** 63n - 1n);
    expect(decoded.graph!.node[2].attribute[0].ints).toEqual([-1n]);
    const feeds = { x: floatInput([1, 1024], values(1024, 4)) };
    const outputs = await runModel(encodeModel(decoded), feeds);
    expect(outputs.tail.dims).toEqual([1, 16]);
    expect(outputs).toEqual(await runModel(model, feeds));
  });

  it.each([
    [
      'a truncated file',
      async () => (await readFile(torchModelPath)).subarray(0, 30000),
      /x\.onnx: not a valid ONNX model \(.* at byte \d+\); the file is truncated or not ONNX/,
    ],
    [
      'random bytes',
      async () => Uint8Array.from({ length: 64 }, (_, i) => (i * 73 + 11) % 256),
      /x\.onnx: not a valid ONNX model/,
    ],
    [
      'an empty file',
      async () => new Uint8Array(0),
      /x\.onnx: not an ONNX model \(it has no IR version, no opset import, no graph\)/,
    ],
    [
      'a protobuf that is not a model',
      async () => Uint8Array.from([0x08, 0x07]),
      /x\.onnx: not an ONNX model \(it has no opset import, no graph\)/,
    ],
  ])('refuses %s with a one-line error', async (_, bytes, message) => {
    const input = await bytes();
    expect(() => decodeModel(input, 'x.onnx')).toThrow(QuantgateError);
    expect(() => decodeModel(input, 'x.onnx')).toThrow(message);
  });

  it('refuses tensors kept in external data files', () => {
    const model = linearModel();
    const weight = model.graph!.initializer[0];
    const external = {
      ...weight,
      rawData: undefined,
      dataLocation: DATA_LOCATION_EXTERNAL,
      externalData: [{ key: 'location', value: 'weights.bin', unknownFields: [] }],
    };
    const bytes = encodeModel({ ...model, graph: { ...model.graph!, initializer: [external] } });
    expect(() => decodeModel(bytes, 'm.onnx')).toThrow(
      /^m\.onnx: tensor "w" keeps its data in an external file \(weights\.bin\).*save_as_external_data=False/,
    );
  });
});

describe('readModel / writeModel', () => {
  it('writes a model atomically and reads it back', async () => {
    const dir = await makeTempDir();
    const path = join(dir, 'model.onnx');
    const model = decodeModel(await readFile(torchModelPath));
    await writeModel(path, model);
    expect(await readdir(dir)).toEqual(['model.onnx']);
    expect(Buffer.from(await readFile(path)).equals(await readFile(torchModelPath))).toBe(true);
    expect((await readModel(path)).graph!.initializer.length).toBe(7);
  });

  it('names the file when it cannot be read or decoded', async () => {
    const dir = await makeTempDir();
    await expect(readModel(join(dir, 'absent.onnx'))).rejects.toThrow(
      /^cannot read ONNX model .*absent\.onnx \(.*ENOENT.*\); check the path$/,
    );
    await writeFile(join(dir, 'text.onnx'), 'not a model\n');
    await expect(readModel(join(dir, 'text.onnx'))).rejects.toThrow(/text\.onnx: not a valid ONNX model/);
  });
});
