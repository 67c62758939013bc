// `quantgate sensitivity`: how much quantizing each group of tensors alone costs. The exact method
// runs the reference once on a calibration subset, keeping its output distributions; then, for each
// group, it writes a GGUF where only that group's weights take the type the plan gives them and
// every other tensor stays F32 (exact for F32, F16 and BF16 sources), runs that candidate against
// the reference's steps, and scores the group by the mean KL divergence per step. One candidate pass
// per group is the cost; the reference and the decoded audio are shared by every pass.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdTempPath, releaseTempPath } from '../common/atomic.js';
import { QuantgateError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import { openDataset } from '../datasets/dataset.js';
import { givesTokenMetrics, runsOnOnnxruntime } from '../engines/catalogue.js';
import { resolveDevice } from '../engines/device.js';
import type { Device, EngineFactory, ModelSource, QuantizedModel } from '../engines/engine.js';
import { engineFactories, selectEngine } from '../engines/registry.js';
import { tensorByteSize, type GgmlTypeName } from '../formats/gguf/constants.js';
import { downloadSnapshot } from '../hub/snapshot.js';
import type { PlannedTensor, QuantType, TensorTypeOverride } from '../quant/plan.js';
import type { ReferenceStep, UtteranceDamage } from '../scoring/token-damage.js';
import { AudioSpool } from './audio-spool.js';
import type { RunOptions } from './options.js';
import { quantizeModel, type QuantizeOptions } from './quantize.js';
import { checkMemory, resolveDatasetSpec, resolveModel, stepsOf, type RunContext } from './run.js';
import { decodedBatches, runVariant, type VariantInput } from './variant-pass.js';

export const SENSITIVITY_METHODS = ['exact'] as const;
export type SensitivityMethod = (typeof SENSITIVITY_METHODS)[number];

export const SENSITIVITY_GROUPINGS = ['tensor', 'layer'] as const;
export type SensitivityGrouping = (typeof SENSITIVITY_GROUPINGS)[number];

export const DEFAULT_CALIBRATION_SAMPLES = 16;

/**
 * The type a weight falls back to when it cannot take the type asked for (plan.ts): the bytes a
 * group saves are counted against it, since a weight left unquantized would ship in it.
 */
export const FALLBACK_TYPE: GgmlTypeName = 'F16';

/** The types whose rounding is measured: the block types. F16 and F32 weights are not groups. */
const MEASURED_TYPES: readonly GgmlTypeName[] = ['Q4_0', 'Q8_0'];

export interface SensitivityOptions {
  /** The model, the quantization, the dataset and the engine, as `run` reads them; `maxSamples` is ignored. */
  run: RunOptions;
  method: SensitivityMethod;
  grouping: SensitivityGrouping;
  /** The first N utterances of the dataset selection. */
  calibrationSamples: number;
}

export interface GroupSensitivity {
  /** 1 for the most sensitive group. */
  rank: number;
  /** The tensor's name, or the layer-and-role glob (e.g. `layers.7.ffn.*`). */
  group: string;
  /** The quantized tensors in the group, in the model's order. */
  tensors: string[];
  parameters: number;
  /** Bytes of the group at FALLBACK_TYPE less its bytes at the plan's types. */
  bytesSaved: number;
  /** The mean KL divergence per step (nats) of the candidate with only this group quantized. */
  score: number;
  /** The score over the sum of every group's score; 0 for all when nothing moved at all. */
  share: number;
}

export interface SensitivityResult {
  method: SensitivityMethod;
  metric: 'mean-kld';
  grouping: SensitivityGrouping;
  quantType: QuantType;
  fallbackType: GgmlTypeName;
  engine: string;
  /** Utterances the reference transcribed, which every candidate pass reads. */
  calibrationUtterances: number;
  /** Most sensitive first; ties in name order, so the ranking is the same on every run. */
  groups: GroupSensitivity[];
  /** Wall-clock seconds: kept out of the JSON so that two runs give the same file. */
  seconds: { reference: number; groups: number };
}

export async function runSensitivity(
  options: SensitivityOptions,
  context: RunContext = {},
): Promise<SensitivityResult> {
  const run = options.run;
  const progress = context.progress ?? silentProgress;
  const env = context.env ?? process.env;
  const signal = context.signal;
  if (run.engine === 'command') throw commandEngineError();
  const model = await resolveModel(run, context.fetchSnapshot ?? downloadSnapshot, {
    token: run.hfToken,
    hubUrl: run.hubUrl,
    cacheDir: run.cacheDir,
    offline: run.offline,
    env,
    progress,
    onSecret: context.onSecret,
    signal,
  });
  // Opening a candidate per group would print its coverage once per group; the group task says enough.
  const factory = await selectEngine(engineFactories({ candidateMode: run.candidateMode }), run.engine, model);
  if (!givesTokenMetrics(factory.name)) throw commandEngineError();

  const quantizeOptions: QuantizeOptions = {
    model: model.dir,
    outDir: '',
    keep: run.keep,
    skip: run.skip,
    preset: run.preset,
    repoId: model.repoId,
    revision: model.revision,
    maxShardBytes: 0,
    threads: run.threads,
    signal,
  };
  const { plan } = await quantizeModel({
    ...quantizeOptions,
    type: run.quantType,
    tensorTypes: run.tensorTypes,
    dryRun: true,
  });
  const groups = groupTensors(
    plan.tensors.filter((tensor) => MEASURED_TYPES.includes(tensor.type)),
    options.grouping,
  );
  if (groups.length === 0)
    throw new QuantgateError(
      `the plan gives no weight a block type (${MEASURED_TYPES.join(', ')}), so there is nothing to measure; use --quant-type q4_0 or q8_0`,
    );

  const spec = await resolveDatasetSpec(run, model, context.fetchSnapshot ?? downloadSnapshot, {
    token: run.hfToken,
    hubUrl: run.hubUrl,
    cacheDir: run.cacheDir,
    offline: run.offline,
    env,
    progress,
  });
  const scratch = await mkdtemp(join(tmpdir(), 'quantgate-sensitivity-'));
  holdTempPath(scratch);
  const spool = await AudioSpool.create(scratch);
  try {
    /** The GGUF with only `group` at its planned types and every other tensor F32. */
    const quantizeGroup = async (group: TensorGroup, index: number): Promise<QuantizedModel> => {
      const { output } = await quantizeModel({
        ...quantizeOptions,
        outDir: join(scratch, `group-${index}`),
        type: 'f32',
        tensorTypes: group.tensors.map(literalOverride),
      });
      return output!;
    };
    const device = await resolveDevice(run.device, {
      env,
      progress,
      onnxruntime: runsOnOnnxruntime(factory.name),
      ...(context.onnxruntimeLocation && { location: context.onnxruntimeLocation }),
    });
    let first: QuantizedModel | undefined = await quantizeGroup(groups[0]!, 0);
    const batchSize = await checkMemory(factory, model, first, device, run, progress);

    const referenceStarted = performance.now();
    const steps = await referenceSteps(factory, model, {
      device,
      progress,
      signal,
      k: run.baseTopK,
      open: async (sampleRate) => {
        const dataset = await openDataset(spec, {
          sampleRate,
          maxSamples: options.calibrationSamples,
          maxDurationSeconds: run.maxDurationSeconds,
          maxFailedUtterances: run.maxFailedUtterances,
          ...(signal && { signal }),
        });
        return {
          batches: decodedBatches(dataset, batchSize, spool),
          total: dataset.info.selected,
          batchSize,
          close: () => dataset.close(),
        };
      },
    });
    const referenceSeconds = (performance.now() - referenceStarted) / 1000;
    if (spool.size === 0)
      throw new QuantgateError(
        'the reference transcribed none of the calibration utterances; check the dataset, or raise --calibration-samples',
      );

    const groupsStarted = performance.now();
    const task = progress.task(`sensitivity (${options.method}, one candidate pass per group)`, {
      total: groups.length,
      unitName: 'groups',
    });
    const scores: number[] = [];
    for (const [index, group] of groups.entries()) {
      signal?.throwIfAborted();
      const quantized = first ?? (await quantizeGroup(group, index));
      first = undefined;
      const record = await runVariant(
        factory,
        model,
        { kind: 'candidate', quantized },
        { device, progress: silentProgress, signal, tokens: { kind: 'against', steps: stepsOf(steps) } },
        async () => ({ batches: spool.batches(batchSize), total: spool.size, batchSize }),
      );
      await rm(join(scratch, `group-${index}`), { recursive: true, force: true });
      if (!record.damages) throw new Error(`the ${factory.name} engine gave no token damage for the candidate`);
      scores.push(meanKld(record.damages));
      task.advance(1);
    }
    task.finish();
    return {
      method: options.method,
      metric: 'mean-kld',
      grouping: options.grouping,
      quantType: run.quantType,
      fallbackType: FALLBACK_TYPE,
      engine: factory.name,
      calibrationUtterances: spool.size,
      groups: rankGroups(groups, scores),
      seconds: { reference: referenceSeconds, groups: (performance.now() - groupsStarted) / 1000 },
    };
  } finally {
    await spool.close();
    await rm(scratch, { recursive: true, force: true });
    releaseTempPath(scratch);
  }
}

function commandEngineError(): QuantgateError {
  return new QuantgateError(
    "sensitivity measures the KL divergence of the models' output distributions, which the command engine cannot see (it reads only the text its commands print); use a built-in engine (kyutai-stt, onnx-ctc)",
  );
}

/** The reference's pass over the calibration subset, keeping each utterance's steps. */
async function referenceSteps(
  factory: EngineFactory,
  model: ModelSource,
  options: {
    device: Device;
    progress: Progress;
    signal: AbortSignal | undefined;
    k: number;
    open: (sampleRate: number) => Promise<VariantInput>;
  },
): Promise<Map<string, ReferenceStep[]>> {
  const steps = new Map<string, ReferenceStep[]>();
  await runVariant(
    factory,
    model,
    { kind: 'reference' },
    {
      device: options.device,
      progress: options.progress,
      signal: options.signal,
      tokens: {
        kind: 'reference',
        k: options.k,
        onReferenceSteps: async (transcript, utteranceSteps) => void steps.set(transcript.id, utteranceSteps),
      },
    },
    (engine) => options.open(engine.sampleRate),
  );
  return steps;
}

/** A group's quantized tensors, in the model's order. */
export interface TensorGroup {
  name: string;
  tensors: PlannedTensor[];
}

/**
 * Groups in the order their first tensor appears: one per tensor, or by layer and role. By layer,
 * a tensor name with a numeric segment (the layer index) followed by at least two more segments
 * belongs to the glob of everything up to the segment after the index (the role) and `*` in place
 * of the rest: `layers.7.ffn.up.weight` and `layers.7.ffn.down.weight` make `layers.7.ffn.*`,
 * `layers.7.conv.weight` makes `layers.7.conv.*`. Any other name (`ctc_head.weight`) is a group of
 * its own.
 */
export function groupTensors(tensors: readonly PlannedTensor[], grouping: SensitivityGrouping): TensorGroup[] {
  const groups = new Map<string, PlannedTensor[]>();
  for (const tensor of tensors) {
    const name = grouping === 'layer' ? layerGroupOf(tensor.name) : tensor.name;
    const members = groups.get(name);
    if (members) members.push(tensor);
    else groups.set(name, [tensor]);
  }
  return [...groups].map(([name, members]) => ({ name, tensors: members }));
}

/** The layer-and-role glob of a tensor name, or the name itself when it has no layer index. */
export function layerGroupOf(name: string): string {
  const segments = name.split('.');
  const layer = segments.findIndex((segment) => /^\d+$/.test(segment));
  if (layer < 0 || layer + 2 >= segments.length) return name;
  return `${segments.slice(0, layer + 2).join('.')}.*`;
}

/** An override that matches exactly this tensor, at the type the plan gave it. */
function literalOverride(tensor: PlannedTensor): TensorTypeOverride {
  return { glob: tensor.name.replace(/[*?[]/g, '[$&]'), type: tensor.type.toLowerCase() as QuantType };
}

/** The mean KL divergence per step over every utterance, as the run's token summary counts it. */
function meanKld(damages: readonly UtteranceDamage[]): number {
  let total = 0;
  let steps = 0;
  for (const damage of damages) {
    for (const kld of damage.klds) total += kld;
    steps += damage.klds.length;
  }
  return steps === 0 ? 0 : total / steps;
}

function rankGroups(groups: readonly TensorGroup[], scores: readonly number[]): GroupSensitivity[] {
  const total = scores.reduce((sum, score) => sum + score, 0);
  const rows = groups.map((group, i) => {
    const parameters = group.tensors.reduce((sum, tensor) => sum + tensor.elements, 0);
    const bytes = group.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0);
    return {
      group: group.name,
      tensors: group.tensors.map((tensor) => tensor.name),
      parameters,
      bytesSaved: tensorByteSize(FALLBACK_TYPE, parameters) - bytes,
      score: scores[i]!,
      share: total > 0 ? scores[i]! / total : 0,
    };
  });
  rows.sort((a, b) => b.score - a.score || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return rows.map((row, i) => ({ rank: i + 1, ...row }));
}
