import { join } from 'node:path';
import { QuantgateError } from '../../../src/common/errors.js';
import type { QuantizedModel } from '../../../src/engines/engine.js';
import { openGgufWeights, openSafetensorsWeights, type WeightSource } from '../../../src/engines/kyutai-stt/weights.js';
import { decode, encode } from '../../../src/quant/codec.js';
import { weights, writeTestModel } from '../../helpers/model.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { quantize } from '../onnx/quantized.js';

afterAll(removeTempDirs);

/** Values every float type holds exactly: multiples of 1/64 below 4. */
function exactValues(count: number, seed: number): Float32Array {
  return Float32Array.from(weights(count, seed, 1), (value) => Math.round(value * 64) / 64);
}

async function withWeights<T>(open: Promise<WeightSource>, use: (source: WeightSource) => Promise<T>): Promise<T> {
  const source = await open;
  try {
    return await use(source);
  } finally {
    await source.close();
  }
}

describe('safetensors weights', () => {
  const values = exactValues(4 * 64, 1);
  let path: string;

  beforeAll(async () => {
    const dir = await writeTestModel(await makeTempDir(), [
      { name: 'bf16', dtype: 'BF16', shape: [4, 64], values },
      { name: 'f16', dtype: 'F16', shape: [4, 64], values },
      { name: 'f32', dtype: 'F32', shape: [4, 64], values },
      { name: 'vector', dtype: 'F32', shape: [1, 1, 64], values: values.subarray(0, 64) },
    ]);
    path = join(dir, 'model.safetensors');
  });

  it('reads BF16, F16 and F32 tensors as float32', async () => {
    await withWeights(openSafetensorsWeights(path), async (source) => {
      for (const name of ['bf16', 'f16', 'f32'])
        expect(Array.from(await source.floats(name))).toEqual(Array.from(values));
      expect(source.shape('vector')).toEqual([1, 1, 64]);
      expect(source.has('f16')).toBe(true);
      expect(source.has('absent')).toBe(false);
    });
  });

  it('gives matrices in the float type asked for', async () => {
    await withWeights(openSafetensorsWeights(path), async (source) => {
      const half = await source.matrix('bf16', 'F16');
      expect({ type: half.type, rows: half.rows, cols: half.cols }).toEqual({ type: 'F16', rows: 4, cols: 64 });
      expect(Array.from(half.bytes)).toEqual(Array.from(encode('F16', values)));
      expect(Array.from(decode('F32', (await source.matrix('f16', 'F32')).bytes, values.length))).toEqual(
        Array.from(values),
      );
    });
  });

  it('names a missing tensor and a tensor that is not a matrix', async () => {
    await withWeights(openSafetensorsWeights(path), async (source) => {
      await expect(source.floats('absent')).rejects.toThrow(
        /model\.safetensors has no tensor absent; it is not the checkpoint the model's config\.json describes/,
      );
      await expect(source.matrix('vector', 'F32')).rejects.toThrow(QuantgateError);
      await expect(source.matrix('vector', 'F32')).rejects.toThrow(
        /tensor vector has shape \[1, 1, 64\], not a matrix/,
      );
    });
  });
});

describe('GGUF weights', () => {
  const matrix = exactValues(4 * 64, 2);
  const norm = exactValues(64, 3);
  const memory = quantize([
    { name: 'layer.weight', shape: [4, 64], values: matrix, type: 'Q4_0' },
    { name: 'norm.alpha', shape: [1, 1, 64], values: norm, type: 'F32' },
    { name: 'head.weight', shape: [4, 64], values: matrix, type: 'F16' },
  ]);
  const closed: string[] = [];
  const model: QuantizedModel = {
    files: ['model-q4.gguf'],
    format: 'single',
    manifestPath: 'model-q4.manifest.json',
    open: async () => ({ ...memory, close: async () => void closed.push('gguf') }),
  };

  it('keeps Q4_0 blocks for MatMulNBits and decodes everything else', async () => {
    await withWeights(openGgufWeights(model, 'matmulnbits', 'model-q4.gguf'), async (source) => {
      const blocks = await source.matrix('layer.weight', 'F32');
      expect({ type: blocks.type, rows: blocks.rows, cols: blocks.cols }).toEqual({ type: 'Q4_0', rows: 4, cols: 64 });
      expect(Array.from(blocks.bytes)).toEqual(Array.from(encode('Q4_0', matrix)));
      expect(Array.from(await source.floats('norm.alpha'))).toEqual(Array.from(norm));
      expect(source.shape('norm.alpha')).toEqual([1, 1, 64]);
      const head = await source.matrix('head.weight', 'F16');
      expect(head.type).toBe('F16');
      expect(Array.from(head.bytes)).toEqual(Array.from(encode('F16', matrix)));
    });
    expect(closed).toEqual(['gguf']);
  });

  it('dequantizes Q4_0 matrices in dequant mode', async () => {
    await withWeights(openGgufWeights(model, 'dequant', 'model-q4.gguf'), async (source) => {
      const dequantized = await source.matrix('layer.weight', 'F32');
      expect(dequantized.type).toBe('F32');
      expect(Array.from(decode('F32', dequantized.bytes, matrix.length))).toEqual(
        Array.from(memory.dequantized('layer.weight')),
      );
    });
  });

  it('names a tensor the GGUF left out', async () => {
    await withWeights(openGgufWeights(model, 'matmulnbits', 'model-q4.gguf'), async (source) => {
      expect(source.has('text_linear.weight')).toBe(false);
      expect(() => source.shape('text_linear.weight')).toThrow(
        /^model-q4\.gguf has no tensor text_linear\.weight, which the Kyutai LM needs/,
      );
    });
  });
});
