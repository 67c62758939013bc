// Small safetensors models for tests, written with the project's own writer: tensors given as
// float32 values and stored as F32, F16 or BF16, plus an optional config.json.

import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/formats/safetensors-writer.js';
import type { SafetensorsDtype } from '../../src/formats/safetensors.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../../src/quant/half.js';

export interface TestTensor {
  name: string;
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  values: Float32Array;
}

export function encodeValues(dtype: TestTensor['dtype'], values: Float32Array): Uint8Array {
  if (dtype === 'F32')
    return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++)
    bits[i] = dtype === 'F16' ? f32ToF16Bits(values[i]!) : f32ToBf16Bits(values[i]!);
  return new Uint8Array(bits.buffer);
}

/** Deterministic weight-like values (a fixed LCG drives Box-Muller), so tests need no fixtures. */
export function weights(count: number, seed: number, scale = 0.05): Float32Array {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 1) / 4294967297;
  };
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++)
    values[i] = scale * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return values;
}

export async function writeTestModel(
  dir: string,
  tensors: TestTensor[],
  config?: Record<string, unknown>,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeSafetensors(
    join(dir, 'model.safetensors'),
    tensors.map(({ name, dtype, shape }) => ({ name, dtype: dtype as SafetensorsDtype, shape })),
    async (sink) => {
      for (const tensor of tensors) await sink.write(tensor.name, encodeValues(tensor.dtype, tensor.values));
    },
  );
  if (config) await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** A small transformer-like model: every kind of tensor the plan distinguishes. */
export function tinyModelTensors(): TestTensor[] {
  return [
    { name: 'emb.weight', dtype: 'BF16', shape: [65, 64], values: weights(65 * 64, 1) },
    { name: 'layers.0.norm1.alpha', dtype: 'BF16', shape: [1, 1, 64], values: weights(64, 2, 1) },
    { name: 'layers.0.self_attn.in_proj_weight', dtype: 'BF16', shape: [192, 64], values: weights(192 * 64, 3) },
    { name: 'layers.0.gating.linear_in.weight', dtype: 'F32', shape: [352, 64], values: weights(352 * 64, 4) },
    { name: 'layers.0.gating.linear_out.weight', dtype: 'F16', shape: [64, 176], values: weights(64 * 176, 5) },
    { name: 'head.bias', dtype: 'F32', shape: [7], values: weights(7, 6) },
    { name: 'head.weight', dtype: 'BF16', shape: [7, 64], values: weights(7 * 64, 7) },
    { name: 'conv.weight', dtype: 'F32', shape: [8, 1, 7], values: weights(56, 8) },
  ];
}
