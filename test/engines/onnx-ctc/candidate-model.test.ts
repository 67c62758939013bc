import { join } from 'node:path';
import type { QuantizedModel } from '../../../src/engines/engine.js';
import { encodeModel } from '../../../src/engines/onnx/model.js';
import { buildCandidateModel } from '../../../src/engines/onnx-ctc/candidate-model.js';
import { padBatch } from '../../../src/engines/onnx-ctc/batch.js';
import { openGgufModel } from '../../../src/formats/gguf/open.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { decode } from '../../../src/quant/codec.js';
import { floatInput, runModel } from '../../helpers/onnxruntime.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { CONV_WEIGHT, HEAD_WEIGHT, ctcModel, ctcWeights, speak, writeCtcModelFolder } from './ctc-test-model.js';

afterAll(removeTempDirs);

let dir: string;
let quantized: QuantizedModel;
beforeAll(async () => {
  dir = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'));
  quantized = (await quantizeModel({ model: dir, outDir: await makeTempDir(), threads: 1 })).output!;
});

const input = padBatch(
  [speak(['h', 'e', 'l', 'o', '|', 'w', 'o', 'r', 'l', 'd']), speak(['<s>', 'd', 'e', 'r'], { tail: 5 })],
  true,
);

async function logits(model: Uint8Array): Promise<number[]> {
  return (await runModel(model, { input_values: floatInput([2, input.samples], input.values) })).logits.data;
}

/** The test model with its quantized weights replaced by what the GGUF dequantizes to. */
async function dequantizedModel(): Promise<Uint8Array> {
  const gguf = await quantized.open();
  try {
    const weights = ctcWeights();
    const read = async (name: string) => {
      const tensor = gguf.tensors.find((each) => each.name === name)!;
      expect(tensor.type).toBe('Q4_0');
      return decode(
        tensor.type,
        await gguf.read(name),
        tensor.ne.reduce((a, b) => a * b, 1),
      );
    };
    return encodeModel(ctcModel({ ...weights, conv: await read(CONV_WEIGHT), head: await read(HEAD_WEIGHT) }));
  } finally {
    await gguf.close();
  }
}

function maxDifference(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i])), 0);
}

describe('buildCandidateModel', () => {
  test.each(['matmulnbits', 'dequant'] as const)(
    'in %s mode the graph computes with exactly the GGUF dequantized weights',
    async (mode) => {
      const candidate = await buildCandidateModel(join(dir, 'model.onnx'), dir, quantized, { mode });
      const expected = await logits(await dequantizedModel());
      // MatMulNBits sums in another order than MatMul, so allow float rounding; dequant is the same arithmetic.
      expect(maxDifference(await logits(candidate.bytes), expected)).toBeLessThan(mode === 'dequant' ? 1e-6 : 1e-4);
      // Q4_0 changes the weights enough to see, so this comparison can tell the GGUF's weights from the originals.
      expect(maxDifference(await logits(encodeModel(ctcModel(ctcWeights()))), expected)).toBeGreaterThan(0.1);
      expect(candidate.coverage.missing).toEqual([]);
      expect(candidate.coverage.substituted.map((entry) => entry.name).sort()).toEqual(
        [HEAD_WEIGHT, CONV_WEIGHT, 'ctc_head.bias'].sort(),
      );
    },
  );

  test('closes the GGUF it opened, also when the build fails', async () => {
    let closed = 0;
    const counting: QuantizedModel = {
      ...quantized,
      open: async () => {
        const tensors = await openGgufModel(quantized.files[0]);
        return {
          tensors: tensors.tensors,
          read: (name) => tensors.read(name),
          close: async () => (closed++, tensors.close()),
        };
      },
    };
    await buildCandidateModel(join(dir, 'model.onnx'), dir, counting, { mode: 'dequant' });
    await expect(
      buildCandidateModel(join(dir, 'model.onnx'), join(dir, 'absent'), counting, { mode: 'dequant' }),
    ).rejects.toThrow(/absent does not exist/);
    expect(closed).toBe(2);
  });
});
