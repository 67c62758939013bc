// A copy of the demo model with one fragile layer, for the tests of sensitivity and tune: it computes
// the same function as the demo, but one weight's input channels hold outliers that Q4_0 rounds badly.

import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { float32Tensor, tensorFloat32, transposeMatrix } from '../../src/engines/onnx/tensors.js';
import { readModel, writeModel } from '../../src/engines/onnx/model.js';
import { openSafetensors } from '../../src/formats/safetensors.js';
import { demoPaths } from '../../src/pipeline/demo.js';
import { decodeSource } from '../../src/quant/codec.js';
import { writeTestModel, type TestTensor } from './model.js';
import { makeTempDir } from './paths.js';

/**
 * A copy of the demo model computing the same function, where a few input channels of
 * layers.0.ffn.up.weight are 64 times larger and the layer norm before it gives those channels
 * 64 times less: outliers that set the Q4_0 scale of their blocks and round the other weights
 * there to almost nothing. Powers of two keep both changes exact in float32. The ONNX graph holds
 * the weight transposed under an exporter's name, so it is found by content, as the candidate
 * finds it.
 */
export async function fragileModel(): Promise<string> {
  const dir = await makeTempDir();
  await cp(demoPaths().model, dir, { recursive: true });
  const scale = 64;
  const channels = [5, 70];
  const reader = await openSafetensors(join(dir, 'model.safetensors'));
  const tensors: TestTensor[] = [];
  try {
    for (const tensor of reader.tensors) {
      const values = decodeSource('F32', await reader.readRange(tensor, 0, tensor.elementCount));
      tensors.push({ name: tensor.name, dtype: 'F32', shape: [...tensor.shape], values: Float32Array.from(values) });
    }
  } finally {
    await reader.close();
  }
  const named = (name: string) => tensors.find((tensor) => tensor.name === name)!;
  const up = named('layers.0.ffn.up.weight');
  const [rows, cols] = up.shape as [number, number];
  const onnxPath = join(dir, 'model.onnx');
  const model = await readModel(onnxPath);
  const initializers = model.graph!.initializer;
  const transposed = transposeMatrix(up.values, rows, cols);
  const upAt = initializers.findIndex((init) => {
    const values = tensorFloat32(init);
    return values.length === transposed.length && values.every((value, i) => value === transposed[i]);
  });
  expect(upAt).toBeGreaterThanOrEqual(0);
  for (const channel of channels) {
    for (let row = 0; row < rows; row++) up.values[row * cols + channel]! *= scale;
    named('layers.0.ffn_norm.weight').values[channel]! /= scale;
    named('layers.0.ffn_norm.bias').values[channel]! /= scale;
  }
  initializers[upAt] = float32Tensor(initializers[upAt]!.name!, [cols, rows], transposeMatrix(up.values, rows, cols));
  for (const name of ['layers.0.ffn_norm.weight', 'layers.0.ffn_norm.bias']) {
    const at = initializers.findIndex((init) => init.name === name);
    initializers[at] = float32Tensor(name, [cols], named(name).values);
  }
  await writeModel(onnxPath, model);
  await writeTestModel(dir, tensors);
  return dir;
}
