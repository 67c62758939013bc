// A calibration session: what `sensitivity` and `tune` share. It resolves the model and an engine
// that gives token metrics, plans the quantization as `run` would, runs the reference once on the
// first utterances of the dataset selection (keeping each step's distribution and the decoded
// audio, and on request a sample of the inputs of the quantized weights), and then measures any
// number of candidates against it, each a GGUF written to scratch, evaluated on the same audio and
// deleted.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdTempPath, releaseTempPath } from '../common/atomic.js';
import { QuantgateError } from '../common/errors.js';
import { silentProgress } from '../common/progress.js';
import { openDataset } from '../datasets/dataset.js';
import { givesTokenMetrics, runsOnOnnxruntime } from '../engines/catalogue.js';
import { resolveDevice } from '../engines/device.js';
import type { Device, EngineFactory, ModelSource, QuantizedModel } from '../engines/engine.js';
import { engineFactories, selectEngine } from '../engines/registry.js';
import { downloadSnapshot } from '../hub/snapshot.js';
import type { PlannedTensor, QuantType, TensorPlan, TensorTypeOverride } from '../quant/plan.js';
import type { VariantRecord } from '../reuse/variant-record.js';
import type { ReferenceStep, UtteranceDamage } from '../scoring/token-damage.js';
import { ActivationSample } from './activation-sample.js';
import { AudioSpool } from './audio-spool.js';
import type { RunOptions } from './options.js';
import { quantizeModel, type QuantizeOptions } from './quantize.js';
import { checkMemory, resolveDatasetSpec, resolveModel, stepsOf, type RunContext } from './run.js';
import { decodedBatches, runVariant } from './variant-pass.js';

export const DEFAULT_CALIBRATION_SAMPLES = 16;

/** A quantization to measure: every eligible weight at `type`, then the overrides, as `--tensor-type` applies them. */
export interface CalibrationCandidate {
  type: QuantType;
  tensorTypes: readonly TensorTypeOverride[];
}

/** What the reference pass keeps besides its transcripts, its steps and the decoded audio. */
export interface CalibrationCapture {
  /** The weights of the plan whose inputs the reference hands over, sampled (activation-sample.ts). */
  activations?: (plan: TensorPlan) => readonly PlannedTensor[];
}

export interface CandidateMeasure {
  /** The candidate's transcripts and its damage per utterance against the reference. */
  record: VariantRecord & { damages: UtteranceDamage[] };
  /** The mean KL divergence per step over every step of every utterance, as the run's `kld.mean` counts it. */
  meanKld: number;
  /** The GGUF's size in bytes. */
  bytes: number;
}

export class Calibration {
  private constructor(
    /** The options the calibration was opened with. */
    readonly run: RunOptions,
    readonly model: ModelSource,
    readonly factory: EngineFactory,
    /** The plan of `run`'s quantization (`--quant-type`, `--tensor-type`, `--keep`, …). */
    readonly plan: TensorPlan,
    readonly device: Device,
    readonly batchSize: number,
    /** The reference's pass over the calibration utterances. */
    readonly reference: VariantRecord,
    readonly referenceSeconds: number,
    private readonly steps: Map<string, ReferenceStep[]>,
    private readonly quantizeOptions: QuantizeOptions,
    private readonly scratch: string,
    private readonly spool: AudioSpool,
    private pending: { key: string; quantized: QuantizedModel; dir: string } | undefined,
    /** The inputs of the weights `capture.activations` chose, as the reference saw them. */
    readonly activations: ActivationSample | undefined,
    private measured = 0,
  ) {}

  /**
   * Runs the reference on the first `samples` utterances of `run`'s dataset selection. `first` is
   * the candidate whose size checks the memory before anything loads; measuring it first reuses its file.
   */
  static async open(
    run: RunOptions,
    samples: number,
    first: CalibrationCandidate | ((plan: TensorPlan) => CalibrationCandidate),
    context: RunContext = {},
    capture: CalibrationCapture = {},
  ): Promise<Calibration> {
    const progress = context.progress ?? silentProgress;
    const env = context.env ?? process.env;
    const signal = context.signal;
    if (run.engine === 'command') throw commandEngineError();
    const fetchSnapshot = context.fetchSnapshot ?? downloadSnapshot;
    const hub = {
      token: run.hfToken,
      hubUrl: run.hubUrl,
      cacheDir: run.cacheDir,
      offline: run.offline,
      env,
      progress,
    };
    const model = await resolveModel(run, fetchSnapshot, { ...hub, onSecret: context.onSecret, signal });
    // Opening a candidate per measure would print its coverage each time; the caller's task says enough.
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
    const firstCandidate = typeof first === 'function' ? first(plan) : first;
    const captured = capture.activations?.(plan).map(({ name, ne }) => ({ name, ne }));
    const activations = captured && new ActivationSample(captured);
    const spec = await resolveDatasetSpec(run, model, fetchSnapshot, hub);
    const scratch = await mkdtemp(join(tmpdir(), 'quantgate-calibration-'));
    holdTempPath(scratch);
    const spool = await AudioSpool.create(scratch);
    try {
      const device = await resolveDevice(run.device, {
        env,
        progress,
        onnxruntime: runsOnOnnxruntime(factory.name),
        ...(context.onnxruntimeLocation && { location: context.onnxruntimeLocation }),
      });
      const key = candidateKey(firstCandidate);
      const firstDir = join(scratch, 'first');
      const quantized = await quantizeCandidate(quantizeOptions, firstCandidate, firstDir);
      const batchSize = await checkMemory(factory, model, quantized, device, run, progress);

      const started = performance.now();
      const steps = new Map<string, ReferenceStep[]>();
      const reference = await runVariant(
        factory,
        model,
        { kind: 'reference' },
        {
          device,
          progress,
          signal,
          ...(activations && { activations: { tensors: captured!, sink: activations } }),
          tokens: {
            kind: 'reference',
            k: run.baseTopK,
            onReferenceSteps: async (transcript, utteranceSteps) => void steps.set(transcript.id, utteranceSteps),
          },
        },
        async (engine) => {
          const dataset = await openDataset(spec, {
            sampleRate: engine.sampleRate,
            maxSamples: samples,
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
      );
      const referenceSeconds = (performance.now() - started) / 1000;
      if (spool.size === 0)
        throw new QuantgateError(
          'the reference transcribed none of the calibration utterances; check the dataset, or raise --calibration-samples',
        );
      return new Calibration(
        run,
        model,
        factory,
        plan,
        device,
        batchSize,
        reference,
        referenceSeconds,
        steps,
        quantizeOptions,
        scratch,
        spool,
        { key, quantized, dir: firstDir },
        activations,
      );
    } catch (error) {
      await spool.close();
      await rm(scratch, { recursive: true, force: true });
      releaseTempPath(scratch);
      throw error;
    }
  }

  /** The utterances every candidate is measured on. */
  get utterances(): number {
    return this.spool.size;
  }

  /** Writes `candidate`'s GGUF, runs it on the calibration audio against the reference's steps, and deletes it. */
  async measure(candidate: CalibrationCandidate, signal?: AbortSignal): Promise<CandidateMeasure> {
    signal?.throwIfAborted();
    const key = candidateKey(candidate);
    let dir = join(this.scratch, `candidate-${this.measured++}`);
    let quantized: QuantizedModel;
    if (this.pending?.key === key) {
      ({ quantized, dir } = this.pending);
    } else {
      if (this.pending) await rm(this.pending.dir, { recursive: true, force: true });
      quantized = await quantizeCandidate(this.quantizeOptions, candidate, dir);
    }
    this.pending = undefined;
    try {
      let bytes = 0;
      for (const file of quantized.files) bytes += (await stat(file)).size;
      const record = await runVariant(
        this.factory,
        this.model,
        { kind: 'candidate', quantized },
        {
          device: this.device,
          progress: silentProgress,
          ...(signal && { signal }),
          tokens: { kind: 'against', steps: stepsOf(this.steps) },
        },
        async () => ({
          batches: this.spool.batches(this.batchSize),
          total: this.spool.size,
          batchSize: this.batchSize,
        }),
      );
      if (!record.damages) throw new Error(`the ${this.factory.name} engine gave no token damage for the candidate`);
      return { record: { ...record, damages: record.damages }, meanKld: meanKld(record.damages), bytes };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    await this.spool.close();
    await rm(this.scratch, { recursive: true, force: true });
    releaseTempPath(this.scratch);
  }
}

function commandEngineError(): QuantgateError {
  return new QuantgateError(
    "this command measures the KL divergence of the models' output distributions, which the command engine cannot see (it reads only the text its commands print); use a built-in engine (kyutai-stt, onnx-ctc)",
  );
}

function candidateKey(candidate: CalibrationCandidate): string {
  return JSON.stringify([candidate.type, candidate.tensorTypes.map(({ glob, type }) => [glob, type])]);
}

async function quantizeCandidate(
  options: QuantizeOptions,
  candidate: CalibrationCandidate,
  outDir: string,
): Promise<QuantizedModel> {
  const { output } = await quantizeModel({
    ...options,
    outDir,
    type: candidate.type,
    tensorTypes: [...candidate.tensorTypes],
  });
  return output!;
}

/** The mean KL divergence per step over every utterance. */
function meanKld(damages: readonly UtteranceDamage[]): number {
  let total = 0;
  let steps = 0;
  for (const damage of damages) {
    for (const kld of damage.klds) total += kld;
    steps += damage.klds.length;
  }
  return steps === 0 ? 0 : total / steps;
}
