// `run --sensitivity`: after the gate, the first groups of `sensitivity --method fast`'s ranking on
// the calibration subset (the first 16 utterances of the run's selection), for the results files
// and the summaries. It runs when the gate failed (on-failure, the default), always, or never; it
// never changes the verdict. An engine that cannot compute it (the command engine) gets a note,
// and so does a model the fast method cannot score; an explicit `always` with the command engine
// was refused when the options were read.

import { QuantgateError } from '../common/errors.js';
import { silentProgress } from '../common/progress.js';
import { givesTokenMetrics } from '../engines/catalogue.js';
import type { ScoredComparison, SensitivitySummary } from '../scoring/types.js';
import { verdictOf } from '../scoring/token-gate.js';
import type { RunOptions } from './options.js';
import type { RunContext } from './run.js';

/** The groups kept in the results. */
export const SENSITIVITY_TOP = 10;

/** Whether `options.sensitivity` asks for the ranking after this comparison; a partial run (one shard) has no verdict to fail. */
export function wantsSensitivity(options: RunOptions, comparison: ScoredComparison, partial: boolean): boolean {
  if (options.sensitivity === 'never') return false;
  return options.sensitivity === 'always' || (!partial && verdictOf(comparison) === 'fail');
}

/**
 * The top groups of the fast ranking on the calibration subset, computed as the run's stage
 * `stage`; or undefined, with a note, when they cannot be had.
 */
export async function sensitivityAfterGate(
  options: RunOptions,
  engine: string,
  context: RunContext,
  stage: (work: () => Promise<SensitivitySummary | undefined>) => Promise<SensitivitySummary | undefined>,
): Promise<SensitivitySummary | undefined> {
  const progress = context.progress ?? silentProgress;
  if (!givesTokenMetrics(engine)) {
    progress.info(
      `sensitivity: skipped, the ${engine} engine cannot show its layers' inputs (--sensitivity never silences this)`,
    );
    return undefined;
  }
  return stage(() => rankAfterGate(options, context));
}

async function rankAfterGate(options: RunOptions, context: RunContext): Promise<SensitivitySummary | undefined> {
  const progress = context.progress ?? silentProgress;
  // Loaded only when needed (and after run.ts, which calibration.ts imports), one after the other.
  const { runSensitivity } = await import('./sensitivity.js');
  const { DEFAULT_CALIBRATION_SAMPLES } = await import('./calibration.js');
  let result;
  try {
    result = await runSensitivity(
      {
        run: options,
        method: 'fast',
        grouping: 'tensor',
        calibrationSamples: DEFAULT_CALIBRATION_SAMPLES,
      },
      context,
    );
  } catch (error) {
    if (!(error instanceof QuantgateError)) throw error;
    progress.info(`sensitivity: not computed, ${error.message}`);
    return undefined;
  }
  return {
    method: result.method,
    metric: result.metric,
    grouping: result.grouping,
    quantType: result.quantType,
    calibrationUtterances: result.calibrationUtterances,
    groups: result.groups.length,
    top: result.groups.slice(0, SENSITIVITY_TOP).map(({ rank, group, parameters, bytesSaved, score, share }) => ({
      rank,
      group,
      parameters,
      bytesSaved,
      score,
      share,
    })),
  };
}
