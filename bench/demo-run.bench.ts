// The offline default job, `quantgate run` on the embedded demo model and its 100-utterance test
// set, taken apart: real-time factors of the onnx-ctc engine on CPU (float reference and Q4_0
// candidate, one utterance per call and batches of 8), and how much of the whole job is spent
// outside inference (FLAC decoding and resampling, quantization, scoring and results).

import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFailedUtterance, openDataset } from '../src/datasets/dataset.js';
import type { Utterance } from '../src/datasets/utterance.js';
import type { Engine, Variant } from '../src/engines/engine.js';
import { createOnnxCtcEngineFactory } from '../src/engines/onnx-ctc/engine.js';
import { demoPaths } from '../src/pipeline/demo.js';
import { DEFAULT_RUN_OPTIONS } from '../src/pipeline/options.js';
import { quantizeModel } from '../src/pipeline/quantize.js';
import { runPipeline } from '../src/pipeline/run.js';
import { seconds } from './measure.js';

const BATCH = 8;

async function loadUtterances(): Promise<Utterance[]> {
  const dataset = await openDataset(
    { kind: 'manifest', path: demoPaths().testset },
    { sampleRate: 16000, maxSamples: 0 },
  );
  const utterances: Utterance[] = [];
  try {
    for await (const item of dataset) if (!isFailedUtterance(item)) utterances.push(item);
  } finally {
    await dataset.close();
  }
  return utterances;
}

async function transcribeAll(engine: Engine, utterances: readonly Utterance[], batch: number): Promise<void> {
  for (let start = 0; start < utterances.length; start += batch)
    await engine.transcribe(utterances.slice(start, start + batch));
}

export const bench = {
  name: 'demo-run',
  summary: 'the offline default job on the demo model: onnx-ctc real-time factors and the time outside inference',
  run: async () => {
    const outDir = join(tmpdir(), `quantgate-bench-demo-${process.pid}`);
    try {
      let utterances: Utterance[] = [];
      const decodeSeconds = await seconds(async () => (utterances = await loadUtterances()));
      const audioSeconds = utterances.reduce(
        (sum, utterance) => sum + utterance.audio.length / utterance.sampleRate,
        0,
      );
      console.log(
        `${utterances.length} utterances, ${audioSeconds.toFixed(0)} s of audio; FLAC decoding: ${(audioSeconds / decodeSeconds).toFixed(0)}× real time`,
      );

      const { output } = await quantizeModel({ model: demoPaths().model, outDir });
      const factory = createOnnxCtcEngineFactory();
      const variants: [string, Variant][] = [
        ['reference (float)', { kind: 'reference' }],
        ['candidate (Q4_0, MatMulNBits)', { kind: 'candidate', quantized: output! }],
      ];
      for (const [label, variant] of variants) {
        const engine = await factory.open({ dir: demoPaths().model }, variant, { device: 'cpu' });
        try {
          await transcribeAll(engine, utterances.slice(0, BATCH), BATCH);
          const single = await seconds(() => transcribeAll(engine, utterances, 1));
          const batched = await seconds(() => transcribeAll(engine, utterances, BATCH));
          console.log(
            `${label.padEnd(30)} one per call ${(audioSeconds / single).toFixed(0)}× real time, batches of ${BATCH} ${(audioSeconds / batched).toFixed(0)}× (${(single / batched).toFixed(2)}×)`,
          );
        } finally {
          await engine.close();
        }
      }

      const result = await runPipeline({ ...DEFAULT_RUN_OPTIONS, outDir });
      const stages = result.comparison.run.stageSeconds ?? {};
      const total = Object.values(stages).reduce((sum, value) => sum + value, 0);
      const transcribe = stages.transcribe ?? 0;
      const inference =
        result.comparison.utterances.reduce(
          (sum, record) => sum + (record.reference.ms ?? 0) + (record.candidate.ms ?? 0),
          0,
        ) / 1000;
      const outside = total - inference;
      console.log(
        `whole job ${total.toFixed(1)} s: ${Object.entries(stages)
          .map(([stage, value]) => `${stage} ${value.toFixed(1)} s`)
          .join(', ')}`,
      );
      console.log(
        `inference ${inference.toFixed(1)} s of the ${transcribe.toFixed(1)} s transcribe stage; outside inference (model, quantize, load, decode and resample, scoring, results): ${outside.toFixed(1)} s, ${((100 * outside) / total).toFixed(0)} % of the job`,
      );
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  },
};
