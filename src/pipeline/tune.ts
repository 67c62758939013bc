// `quantgate tune`: the smallest mix of tensor types that stays within the gate's budget, or with
// `--target best` the lowest KLD within a size. It ranks the quantized groups by sensitivity on a
// calibration subset, starts from every weight at --quant-type, and promotes one group at a time to
// the next allowed (wider) type, the group whose promotion buys the most sensitivity per byte first,
// measuring each mix on the calibration subset (the proxy). A mix that meets the proxy is confirmed
// by the full evaluation, the same run as `quantgate run --tensor-type …`; a failed confirmation
// tightens the proxy and the search goes on. Every pass is deterministic, so the same inputs give
// the same steps and the same file. The tuned GGUF, its manifest and the confirming run's results
// go to the output folder only at the end; a search that reaches no mix writes nothing there.

import { readdir, rename, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ensureWritableDir, holdTempPath, releaseTempPath, tempPathFor } from '../common/atomic.js';
import { QuantgateError } from '../common/errors.js';
import { formatBytes } from '../common/format.js';
import { silentProgress } from '../common/progress.js';
import { tensorByteSize, type GgmlTypeName } from '../formats/gguf/constants.js';
import type { QuantizedModel } from '../engines/engine.js';
import { formatTensorType, type QuantType, type TensorTypeOverride } from '../quant/plan.js';
import {
  writeTuneResults,
  type CalibrationFigures,
  type Confirmation,
  type TuneResult,
  type TuneStep,
} from '../report/tune-report.js';
import { defaultResultsStoreRoot } from '../reuse/results-store.js';
import type { VariantRecord } from '../reuse/variant-record.js';
import { createNormalizer, type Normalizer } from '../scoring/normalize/index.js';
import { formatPoints } from '../scoring/figures.js';
import { formatNats } from '../scoring/token-gate.js';
import type { ScoredComparison } from '../scoring/types.js';
import { scoreCorpus } from '../scoring/wer.js';
import type { Calibration, CandidateMeasure } from './calibration.js';
import { runPipeline, type RunContext, type RunResult } from './run.js';
import { measureSensitivity, openSensitivity, type TensorGroup } from './sensitivity.js';
import type { TuneOptions } from './tune-options.js';

/**
 * Rounding noise of each type relative to Q4_0's: Q4_0 rounds to steps of a block's largest
 * magnitude over 8, Q8_0 over 127, and the variance of the rounding, which the output error
 * follows, goes with the step squared. F16 and F32 count as exact.
 */
const NOISE: Record<QuantType, number> = { q4_0: 1, q8_0: (8 / 127) ** 2, f16: 0, f32: 0 };

export interface TuneOutcome {
  result: TuneResult;
  /** What went to the output folder; absent when no mix passed (target smallest). */
  output?: TunedOutput;
}

export interface TunedOutput {
  /** The tuned mix's full evaluation, as `run` would have written it. */
  comparison: ScoredComparison;
  model: Pick<QuantizedModel, 'format' | 'files' | 'manifestPath'>;
  evalResults: { textPath: string; jsonPath: string };
  resultsPath: string;
  chartPath: string;
}

/** A group's place on the ladder of allowed types, and what its promotions are worth. */
interface GroupState {
  group: TensorGroup;
  glob: string;
  /** Rank in the sensitivity ranking (1 = most sensitive). */
  rank: number;
  score: number;
  level: number;
  /** No further promotion: it would not fit --max-size. */
  blocked: boolean;
}

export async function runTune(options: TuneOptions, context: RunContext = {}): Promise<TuneOutcome> {
  const progress = context.progress ?? silentProgress;
  const { run } = options;
  const seconds = { sensitivity: 0, calibration: 0, confirmations: 0 };
  const timed = async <T>(kind: keyof typeof seconds, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      seconds[kind] += (performance.now() - started) / 1000;
    }
  };
  await ensureWritableDir(run.outDir);
  const scratch = tempPathFor(join(run.outDir, 'tune'));
  holdTempPath(scratch);
  let calibration: Calibration | undefined;
  try {
    const opened = await timed('sensitivity', () =>
      openSensitivity(
        { run, method: options.method, grouping: options.grouping, calibrationSamples: options.calibrationSamples },
        context,
      ),
    );
    calibration = opened.calibration;
    const ranking = await timed('sensitivity', () =>
      measureSensitivity(calibration!, opened.groups, options, { progress, signal: context.signal }),
    );
    const ladder = options.allowTypes.slice(options.allowTypes.indexOf(run.quantType));
    const ranks = new Map(ranking.groups.map((group) => [group.group, group]));
    const states: GroupState[] = opened.groups.map((group) => ({
      group,
      glob: groupGlob(group),
      rank: ranks.get(group.name)!.rank,
      score: ranks.get(group.name)!.score,
      level: 0,
      blocked: false,
    }));
    const overridesOf = (): TensorTypeOverride[] =>
      states.filter((state) => state.level > 0).map((state) => ({ glob: state.glob, type: ladder[state.level]! }));
    const normalize = createNormalizer(run.normalizer);
    const passes = progress.task('tune: calibration passes', { unitName: 'mixes' });
    let calibrationPasses = 0;
    const measure = async (type: QuantType, tensorTypes: TensorTypeOverride[]) => {
      const measured = await timed('calibration', () => calibration!.measure({ type, tensorTypes }, context.signal));
      calibrationPasses++;
      passes.advance(1);
      return { bytes: measured.bytes, calibration: figuresOf(calibration!.reference, measured, normalize) };
    };

    const start = await measure(run.quantType, []);
    const uniformF16 = await measure('f16', []);
    const steps: (TuneStep & { overrides: TensorTypeOverride[] })[] = [
      { step: 0, type: run.quantType, ...start, overrides: [] },
    ];
    progress.info(stepLine(steps[0]!));

    /** Applies the best promotion that `fits`, measures the mix and records it; false when none is left. */
    const promote = async (fits: (state: GroupState, bytes: number) => boolean): Promise<boolean> => {
      const current = steps.at(-1)!;
      const next = nextPromotion(states, ladder, current.bytes, fits);
      if (!next) return false;
      next.state.level++;
      const overrides = overridesOf();
      const measured = await measure(run.quantType, overrides);
      if (!fits(next.state, measured.bytes)) {
        // The GGUF's alignment padding can take a promotion just past the size the tensors predicted.
        next.state.level--;
        next.state.blocked = true;
        return true;
      }
      steps.push({
        step: steps.length,
        group: next.state.group.name,
        from: ladder[next.state.level - 1]!,
        type: ladder[next.state.level]!,
        ...measured,
        overrides,
      });
      progress.info(stepLine(steps.at(-1)!));
      return true;
    };

    let confirmations = 0;
    const confirm = async (step: TuneStep & { overrides: TensorTypeOverride[] }) => {
      const dir = join(scratch, `confirm-${confirmations++}`);
      progress.info(`tune: confirming step ${step.step} with the full evaluation`);
      const evaluated = await timed('confirmations', () => confirmMix(options, step.overrides, dir, scratch, context));
      step.confirmation = confirmationOf(evaluated.comparison, evaluated.passed);
      progress.info(
        `tune: step ${step.step} ${step.confirmation.passed ? 'passes' : 'fails'}: ${step.confirmation.reasons.join('; ')}`,
      );
      return evaluated;
    };

    let chosen: { step: TuneStep & { overrides: TensorTypeOverride[] }; run: RunResult & { dir: string } } | undefined;
    if (options.target === 'smallest') {
      // The proxy: the calibration ΔWER within the threshold and the calibration KLD within a limit,
      // --max-kld at first; each failed confirmation scales the limit by how far the full evaluation missed.
      let kldLimit = run.maxKld ?? Infinity;
      for (;;) {
        const current = steps.at(-1)!;
        const last = nextPromotion(states, ladder, current.bytes, () => true) === undefined;
        if (last || (current.calibration.deltaWer <= run.threshold && current.calibration.meanKld <= kldLimit)) {
          const evaluated = await confirm(current);
          if (evaluated.passed) {
            chosen = { step: current, run: evaluated };
            break;
          }
          kldLimit = Math.min(kldLimit, current.calibration.meanKld * missRatio(evaluated.comparison, run.threshold));
          if (last) break;
        }
        await promote(() => true);
      }
    } else {
      const maxSize = options.maxSizeBytes!;
      if (start.bytes > maxSize) {
        throw new QuantgateError(
          `the size limit (max-size) ${formatBytes(maxSize)} is below the uniform ${run.quantType} GGUF, ${formatBytes(start.bytes)}, the smallest file tune can make; raise it`,
        );
      }
      while (await promote((state, bytes) => !state.blocked && bytes <= maxSize));
      // The lowest KLD, the smaller file on a tie.
      const best = steps.reduce((a, b) =>
        b.calibration.meanKld < a.calibration.meanKld ||
        (b.calibration.meanKld === a.calibration.meanKld && b.bytes < a.bytes)
          ? b
          : a,
      );
      chosen = { step: best, run: await confirm(best) };
    }
    passes.finish(
      `${steps.length - 1} promotion${steps.length === 2 ? '' : 's'}, ${confirmations} full evaluation${confirmations === 1 ? '' : 's'}`,
    );

    const result: TuneResult = {
      target: options.target,
      passed: chosen?.run.passed ?? false,
      quantType: run.quantType,
      allowTypes: options.allowTypes,
      budget: {
        threshold: run.threshold,
        gateMode: run.gateMode,
        ...(run.maxKld !== undefined && { maxKld: run.maxKld }),
        ...(options.maxSizeBytes !== undefined && { maxSizeBytes: options.maxSizeBytes }),
      },
      model: calibration.model.repoId ?? calibration.model.dir,
      ...(calibration.model.revision !== undefined && { modelRevision: calibration.model.revision }),
      engine: ranking.engine,
      calibrationUtterances: ranking.calibrationUtterances,
      sensitivity: {
        method: ranking.method,
        metric: ranking.metric,
        grouping: ranking.grouping,
        groups: ranking.groups,
      },
      steps: steps.map(({ overrides: _overrides, ...step }) => step),
      ...(chosen && { chosen: chosen.step.step }),
      overrides: (chosen?.step.overrides ?? []).map(formatTensorType),
      size: {
        ...(chosen && { bytes: chosen.step.bytes }),
        uniform: { [run.quantType]: start.bytes, f16: uniformF16.bytes },
      },
      uniformF16,
      ...(chosen?.step.confirmation && { confirmed: chosen.step.confirmation }),
      cost: { calibrationPasses, seconds },
    };
    if (!chosen) return { result };
    await moveEntries(chosen.run.dir, run.outDir);
    const moved = (path: string) => join(run.outDir, relative(chosen!.run.dir, path));
    const { quantized, comparison, results } = chosen.run;
    const written = await writeTuneResults(result, run.outDir);
    return {
      result,
      output: {
        comparison,
        model: {
          format: quantized.format,
          files: quantized.files.map(moved),
          manifestPath: moved(quantized.manifestPath),
        },
        evalResults: { textPath: moved(results.textPath), jsonPath: moved(results.jsonPath) },
        ...written,
      },
    };
  } finally {
    await calibration?.close();
    await rm(scratch, { recursive: true, force: true });
    releaseTempPath(scratch);
  }
}

/**
 * The glob that promotes a group: its layer-and-role glob, or for a group of one tensor the name
 * with glob characters escaped, so that it matches that tensor alone.
 */
function groupGlob(group: TensorGroup): string {
  const only = group.tensors.length === 1 ? group.tensors[0]! : undefined;
  return only && only.name === group.name ? group.name.replace(/[*?[]/g, '[$&]') : group.name;
}

/**
 * The promotion with the most sensitivity per byte among those `fits` accepts: a group's score
 * times the share of its rounding noise the next type removes, over the bytes the next type adds.
 * Ties go to the higher-ranked group.
 */
function nextPromotion(
  states: readonly GroupState[],
  ladder: readonly QuantType[],
  currentBytes: number,
  fits: (state: GroupState, bytes: number) => boolean,
): { state: GroupState; value: number } | undefined {
  let best: { state: GroupState; value: number } | undefined;
  for (const state of states) {
    const from = ladder[state.level];
    const to = ladder[state.level + 1];
    if (from === undefined || to === undefined) continue;
    const added = state.group.tensors.reduce(
      (sum, tensor) =>
        sum + tensorByteSize(ggmlType(to), tensor.elements) - tensorByteSize(ggmlType(from), tensor.elements),
      0,
    );
    if (!fits(state, currentBytes + added)) continue;
    const value = (state.score * (NOISE[from] - NOISE[to])) / NOISE[ladder[0]!] / Math.max(added, 1);
    if (!best || value > best.value || (value === best.value && state.rank < best.state.rank)) best = { state, value };
  }
  return best;
}

function ggmlType(type: QuantType): GgmlTypeName {
  return type.toUpperCase() as GgmlTypeName;
}

/** ΔWER and mean KLD of a measured mix on the calibration utterances. */
function figuresOf(reference: VariantRecord, measured: CandidateMeasure, normalize: Normalizer): CalibrationFigures {
  const truth = new Map(reference.utterances.map(({ id, text }) => [id, normalize(text)]));
  const both = new Set(measured.record.transcripts.map(({ id }) => id));
  const wer = (record: VariantRecord) =>
    scoreCorpus(
      record.transcripts
        .filter(({ id }) => truth.has(id) && both.has(id))
        .map(({ id, text }) => ({ id, reference: truth.get(id)!, hypothesis: normalize(text) })),
    ).total.werPercent;
  return { deltaWer: wer(measured.record) - wer(reference), meanKld: measured.meanKld };
}

/**
 * The full evaluation of a mix into `dir`: `run` with the mix's --tensor-type lines. Without a
 * results store of the user's, one in the scratch folder lets every confirmation after the first
 * reuse the reference's pass.
 */
async function confirmMix(
  options: TuneOptions,
  tensorTypes: TensorTypeOverride[],
  dir: string,
  scratch: string,
  context: RunContext,
): Promise<RunResult & { dir: string }> {
  const { run } = options;
  const store =
    run.reuse && run.resultsCache === undefined && defaultResultsStoreRoot(context.env ?? process.env) === undefined
      ? { resultsCache: join(scratch, 'results') }
      : {};
  // The search ranks the groups itself; a confirmation that fails only sends it on to the next promotion.
  const result = await runPipeline({ ...run, ...store, tensorTypes, outDir: dir, sensitivity: 'never' }, context);
  return { ...result, dir };
}

function confirmationOf(comparison: ScoredComparison, passed: boolean): Confirmation {
  return {
    deltaWer: comparison.delta.points,
    interval: [comparison.delta.low, comparison.delta.high],
    ...(comparison.kld?.available && { meanKld: comparison.kld.mean }),
    passed,
    reasons: [comparison.gate.reason, ...(comparison.tokenGates ?? []).map((gate) => gate.reason)],
    utterances: comparison.utteranceCount,
  };
}

/**
 * How far a failed evaluation missed, as the ratio of each failed limit to the figure it tested
 * (below 1): the calibration KLD limit is scaled by the smallest. 1 when only another gate failed.
 */
function missRatio(comparison: ScoredComparison, threshold: number): number {
  const ratios: number[] = [];
  if (comparison.gate.verdict === 'fail') {
    const tested = { point: comparison.delta.points, lenient: comparison.delta.low, strict: comparison.delta.high }[
      comparison.gate.mode
    ];
    ratios.push(threshold / tested);
  }
  for (const gate of comparison.tokenGates ?? [])
    if (gate.gate === 'max-kld' && gate.verdict === 'fail') ratios.push(gate.limit / gate.value);
  return Math.min(1, ...ratios);
}

function stepLine(step: TuneStep): string {
  const what = step.group === undefined ? `every weight at ${step.type}` : `${step.group} → ${step.type}`;
  return `tune: step ${step.step}: ${what}, ${formatBytes(step.bytes)}, calibration ΔWER ${formatPoints(step.calibration.deltaWer)} points, mean KLD ${formatNats(step.calibration.meanKld)} nats`;
}

/** Moves every entry of `from` into `to`, replacing what has the same name there. */
async function moveEntries(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from)) {
    await rm(join(to, entry), { recursive: true, force: true });
    await rename(join(from, entry), join(to, entry));
  }
}
