// The embedded demo model (assets/demo/quantgate-demo) in the onnx-ctc engine, as the default offline run
// evaluates it: its reference WER on the committed test set, the candidate from its Q4_0 GGUF with
// every tensor of the file substituted, and the two candidate modes transcribing alike.

import { isFailedUtterance, openDataset } from '../../../src/datasets/dataset.js';
import type { Utterance } from '../../../src/datasets/utterance.js';
import type { QuantizedModel, Variant } from '../../../src/engines/engine.js';
import type { CandidateCoverage } from '../../../src/engines/onnx/candidate.js';
import { createOnnxCtcEngineFactory } from '../../../src/engines/onnx-ctc/engine.js';
import { demoPaths } from '../../../src/pipeline/demo.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { createNormalizer } from '../../../src/scoring/normalize/index.js';
import { scoreCorpus } from '../../../src/scoring/wer.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

const BATCH = 8;
/** The trained model scores 6.8 % on its test set (7.1 % in PyTorch, scripts/demo-model/README.md); the bound leaves room for retraining. */
const REFERENCE_WER_BOUND = 12;
/** The gate's threshold: the demo's Q4_0 candidate must pass it. */
const GATE_POINTS = 2;
const normalize = createNormalizer('whisper');
/** Each step transcribes the 100 utterances once or twice; a busy runner may need minutes. */
const TIMEOUT_MS = 300_000;

let utterances: Utterance[];
let quantized: QuantizedModel;
beforeAll(async () => {
  const { model, testset } = demoPaths();
  const dataset = await openDataset({ kind: 'manifest', path: testset }, { sampleRate: 16000, maxSamples: 0 });
  try {
    utterances = [];
    for await (const item of dataset) {
      if (isFailedUtterance(item)) throw new Error(`${item.id}: ${item.error}`);
      utterances.push(item);
    }
  } finally {
    await dataset.close();
  }
  quantized = (await quantizeModel({ model, outDir: await makeTempDir() })).output!;
}, TIMEOUT_MS);

interface Evaluation {
  texts: string[];
  wer: number;
  coverage?: CandidateCoverage;
}

async function evaluate(variant: Variant, candidateMode?: 'matmulnbits' | 'dequant'): Promise<Evaluation> {
  const engine = await createOnnxCtcEngineFactory({ candidateMode }).open({ dir: demoPaths().model }, variant, {
    device: 'cpu',
  });
  try {
    const texts: string[] = [];
    for (let start = 0; start < utterances.length; start += BATCH) {
      texts.push(
        ...(await engine.transcribe(utterances.slice(start, start + BATCH))).map((transcript) => transcript.text),
      );
    }
    const pairs = utterances.map((utterance, i) => ({
      id: utterance.id,
      reference: normalize(utterance.text),
      hypothesis: normalize(texts[i]),
    }));
    return { texts, wer: scoreCorpus(pairs).total.werPercent, coverage: engine.coverage };
  } finally {
    await engine.close();
  }
}

describe('the demo model in the onnx-ctc engine', () => {
  let reference: Evaluation;
  beforeAll(async () => {
    reference = await evaluate({ kind: 'reference' });
  }, TIMEOUT_MS);

  test('the reference transcribes the demo test set within the trained WER', () => {
    expect(utterances).toHaveLength(100);
    expect(reference.wer).toBeLessThan(REFERENCE_WER_BOUND);
  });

  test(
    'a transcript does not depend on its batch: the model takes no attention mask, so lengths are not mixed',
    async () => {
      const engine = await createOnnxCtcEngineFactory().open(
        { dir: demoPaths().model },
        { kind: 'reference' },
        { device: 'cpu' },
      );
      try {
        const alone: string[] = [];
        for (const utterance of utterances) alone.push((await engine.transcribe([utterance]))[0]!.text);
        expect(reference.texts).toEqual(alone);
      } finally {
        await engine.close();
      }
    },
    TIMEOUT_MS,
  );

  test(
    'the candidate substitutes every tensor of the GGUF, and both modes transcribe alike',
    async () => {
      const fused = await evaluate({ kind: 'candidate', quantized }, 'matmulnbits');
      const dequant = await evaluate({ kind: 'candidate', quantized }, 'dequant');
      const gguf = await quantized.open();
      const all = gguf.tensors;
      await gguf.close();
      expect(all.filter((tensor) => tensor.type === 'Q4_0').length).toBeGreaterThan(0);
      for (const { coverage } of [fused, dequant]) {
        expect(coverage!.missing).toEqual([]);
        expect(coverage!.substituted.map((entry) => entry.name).sort()).toEqual(
          all.map((tensor) => tensor.name).sort(),
        );
        const dense = coverage!.substituted.filter((entry) => entry.substitution === 'dense');
        expect(dense.map((entry) => entry.name).sort()).toEqual(
          all
            .filter((tensor) => tensor.type === 'F16' || tensor.type === 'F32')
            .map((tensor) => tensor.name)
            .sort(),
        );
      }
      const viaMatMulNBits = fused
        .coverage!.substituted.filter((entry) => entry.substitution === 'matmulnbits')
        .map((entry) => entry.name);
      expect(viaMatMulNBits.sort()).toEqual(
        all
          .filter((tensor) => tensor.type === 'Q4_0')
          .map((tensor) => tensor.name)
          .sort(),
      );
      // Both modes compute with the same values; MatMulNBits only sums in another order.
      expect(fused.texts.filter((text, i) => text !== dequant.texts[i]).length).toBeLessThanOrEqual(2);
      expect(Math.abs(fused.wer - dequant.wer)).toBeLessThan(1);
      expect(fused.wer - reference.wer).toBeLessThan(GATE_POINTS);
    },
    TIMEOUT_MS,
  );
});
