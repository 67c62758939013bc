// What a tune costs on the demo model, against one plain evaluation in the same run: `quantgate
// run` at its defaults, then `quantgate tune --threshold 0.5` (a budget uniform Q4_0 misses) per
// tensor and per layer, each with its parts: the ranking, the calibration passes and the full
// evaluations that confirm. Every job starts with an empty results store, so each pays its own
// reference passes, as a first tune in CI does.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBytes } from '../src/common/format.js';
import { DEFAULT_RUN_OPTIONS } from '../src/pipeline/options.js';
import { runPipeline } from '../src/pipeline/run.js';
import type { SensitivityGrouping } from '../src/pipeline/sensitivity.js';
import { runTune } from '../src/pipeline/tune.js';
import { DEFAULT_ALLOW_TYPES, DEFAULT_TUNE_METHOD } from '../src/pipeline/tune-options.js';
import { DEFAULT_CALIBRATION_SAMPLES } from '../src/pipeline/calibration.js';
import { quantizeModel } from '../src/pipeline/quantize.js';
import { seconds } from './measure.js';
import { writeKyutaiJob } from './sensitivity.bench.js';

const THRESHOLD = 0.5;

export const bench = {
  name: 'tune',
  summary: `quantgate tune --threshold ${THRESHOLD} on the demo model, per tensor and per layer, against one plain run`,
  run: async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'quantgate-bench-tune-'));
    try {
      const plain = await seconds(() =>
        runPipeline({ ...DEFAULT_RUN_OPTIONS, outDir: join(scratch, 'run'), resultsCache: join(scratch, 'run-store') }),
      );
      console.log(`one plain run (both variants, 100 utterances): ${plain.toFixed(1)} s`);
      for (const grouping of ['tensor', 'layer'] as SensitivityGrouping[]) {
        let outcome: Awaited<ReturnType<typeof runTune>> | undefined;
        const total = await seconds(
          async () =>
            (outcome = await runTune({
              run: {
                ...DEFAULT_RUN_OPTIONS,
                threshold: THRESHOLD,
                outDir: join(scratch, `tune-${grouping}`),
                resultsCache: join(scratch, `store-${grouping}`),
              },
              allowTypes: [...DEFAULT_ALLOW_TYPES],
              target: 'smallest',
              calibrationSamples: DEFAULT_CALIBRATION_SAMPLES,
              method: DEFAULT_TUNE_METHOD,
              grouping,
            })),
        );
        const { result } = outcome!;
        const { seconds: parts, calibrationPasses } = result.cost;
        const confirmations = result.steps.filter((step) => step.confirmation).length;
        console.log(
          `--group ${grouping.padEnd(6)} ${total.toFixed(1)} s, ${(total / plain).toFixed(1)}× the plain run: ranking ${parts.sensitivity.toFixed(1)} s (${result.sensitivity.groups.length} groups, ${result.sensitivity.method}), ${calibrationPasses} calibration passes ${parts.calibration.toFixed(1)} s, ${confirmations} full evaluations ${parts.confirmations.toFixed(1)} s; ${result.passed ? `tuned ${formatBytes(result.size.bytes!)} (${((100 * result.size.bytes!) / result.size.uniform.f16!).toFixed(1)}% of uniform F16), ΔWER ${result.confirmed!.deltaWer.toFixed(2)}` : 'no mix passed'}`,
        );
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
};

/** Room above the uniform Q4_0 file for `--target best`: a few layer groups at F16. */
const KYUTAI_EXTRA_MIB = 60;

export const kyutaiBench = {
  name: 'tune-kyutai',
  summary: `quantgate tune --method fast --group layer --target best (uniform Q4_0 + ${KYUTAI_EXTRA_MIB} MiB) at the size of stt-1b-en_fr (random weights, CPU), 2 utterances of 10 s`,
  run: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quantgate-bench-tune-kyutai-'));
    try {
      const run = { ...(await writeKyutaiJob(dir)), resultsCache: join(dir, 'store') };
      const plain = await seconds(() => runPipeline({ ...run, outDir: join(dir, 'run') }));
      console.log(`one plain run (both variants, 2 utterances): ${plain.toFixed(1)} s`);
      const { plan } = await quantizeModel({ model: dir, outDir: '', dryRun: true, preset: run.preset });
      const uniform = plan.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0);
      let outcome: Awaited<ReturnType<typeof runTune>> | undefined;
      const total = await seconds(
        async () =>
          (outcome = await runTune({
            run: { ...run, outDir: join(dir, 'tuned') },
            allowTypes: [...DEFAULT_ALLOW_TYPES],
            target: 'best',
            maxSizeBytes: uniform + KYUTAI_EXTRA_MIB * 1024 * 1024,
            calibrationSamples: run.maxSamples!,
            // Exact would write a 4 GB mostly-F32 GGUF and run a candidate pass per group: hours here.
            method: 'fast',
            grouping: 'layer',
          })),
      );
      const { result } = outcome!;
      const { seconds: parts, calibrationPasses } = result.cost;
      console.log(
        `tune: ${total.toFixed(1)} s, ${(total / plain).toFixed(1)}× the plain run: ranking ${parts.sensitivity.toFixed(1)} s (${result.sensitivity.groups.length} groups, ${result.sensitivity.method}), ${calibrationPasses} calibration passes ${parts.calibration.toFixed(1)} s, full evaluation ${parts.confirmations.toFixed(1)} s; ${result.steps.length - 1} promotions, ${formatBytes(result.size.bytes!)}; peak RSS ${formatBytes(process.resourceUsage().maxRSS * 1024)} (random weights: the mix says nothing of the real model)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
