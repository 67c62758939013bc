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
import { DEFAULT_SENSITIVITY_METHOD } from '../src/pipeline/sensitivity.js';
import { DEFAULT_ALLOW_TYPES } from '../src/pipeline/tune-options.js';
import { DEFAULT_CALIBRATION_SAMPLES } from '../src/pipeline/calibration.js';
import { seconds } from './measure.js';

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
              method: DEFAULT_SENSITIVITY_METHOD,
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
