// The job, walked once: get the model (Hub, local folder, or the embedded demo), quantize it,
// open the dataset, transcribe every utterance with the reference and then with the candidate
// variant of the same engine (one loaded at a time, after a check that the machine's memory holds
// it), score both, gate, and write eval_results.{txt,json}. The CLI's `run` and the action are
// thin shells over `runPipeline`.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QuantgateError } from '../common/errors.js';
import { formatBytes } from '../common/format.js';
import { silentProgress, type Progress } from '../common/progress.js';
import {
  openDataset,
  datasetSpecFromPath,
  isFailedUtterance,
  type DatasetSpec,
  type Dataset,
} from '../datasets/dataset.js';
import { selectParquetFiles } from '../datasets/parquet-files.js';
import { formatShard } from '../datasets/selection.js';
import type { FailedUtterance, Utterance } from '../datasets/utterance.js';
import type {
  Device,
  Engine,
  EngineFactory,
  ModelSource,
  QuantizedModel,
  Transcript,
  Variant,
} from '../engines/engine.js';
import { resolveDevice } from '../engines/device.js';
import { runsOnOnnxruntime } from '../engines/catalogue.js';
import { engineFactories, selectEngine } from '../engines/registry.js';
import { downloadSnapshot, prepareSnapshot, type SnapshotRequest, type SnapshotResult } from '../hub/snapshot.js';
import type { TensorPlan } from '../quant/plan.js';
import { writeEvalResults } from '../report/results-files.js';
import type { OnnxruntimeLocation } from '../runtime/location.js';
import { compareSystemsInSlices, pairById, type SystemOutput } from '../scoring/compare.js';
import { createNormalizer } from '../scoring/normalize/index.js';
import type { ScoredComparison } from '../scoring/types.js';
import { AudioSpool } from './audio-spool.js';
import { ASSUMED_MAX_SECONDS, fitBatchSize, neededBytes, readAvailableMemory } from './memory.js';
import { DEFAULT_DATASET, type RunOptions } from './options.js';
import { demoPaths } from './demo.js';
import {
  quantizedCacheKey,
  quantizedPaths,
  quantizeModel,
  reuseQuantized,
  type QuantizeOptions,
  type QuantizeResult,
} from './quantize.js';

/** Carries the quantized output between CI runs (the action's Actions cache). */
export interface QuantizedCache {
  /** Restores whatever was saved under `key` into `paths`; true on a hit. */
  restore(key: string, paths: string[]): Promise<boolean>;
  save(key: string, paths: string[]): Promise<void>;
}

/** What the shells provide: where progress goes, how the Hub is reached, what to mask. */
export interface RunContext {
  progress?: Progress;
  env?: NodeJS.ProcessEnv;
  /** Fetches a Hub snapshot; the action wraps it with the Actions cache. */
  fetchSnapshot?: (request: SnapshotRequest) => Promise<SnapshotResult>;
  quantizedCache?: QuantizedCache;
  /** Runs one stage; the action folds each into a log group. By default a heading line announces it. */
  stage?: <T>(name: string, work: () => Promise<T>) => Promise<T>;
  onSecret?: (secret: string) => void;
  /** Stops the run: every stage watches it, and ends by throwing its reason. */
  signal?: AbortSignal;
  /** The onnxruntime-node the action installed, which Node cannot resolve; the resolved one unless given. */
  onnxruntimeLocation?: OnnxruntimeLocation;
  /** Told each stage's name as it starts, so a stop can say which one it interrupted. */
  onStage?: (name: string) => void;
}

export interface RunResult {
  comparison: ScoredComparison;
  passed: boolean;
  /** True when only a shard of the dataset was evaluated; the gate is decided when the shards are merged. */
  partial: boolean;
  model: ModelSource;
  plan: TensorPlan;
  quantized: QuantizedModel;
  results: { textPath: string; jsonPath: string };
}

export async function runPipeline(options: RunOptions, context: RunContext = {}): Promise<RunResult> {
  const progress = context.progress ?? silentProgress;
  const env = context.env ?? process.env;
  const fetchSnapshot = context.fetchSnapshot ?? downloadSnapshot;
  const stageSeconds: Record<string, number> = {};
  const runStage =
    context.stage ?? (<T>(name: string, work: () => Promise<T>) => (progress.info(`── ${name}`), work()));
  const timed = <T>(stage: string, work: () => Promise<T>): Promise<T> =>
    runStage(stage, async () => {
      context.onStage?.(stage);
      context.signal?.throwIfAborted();
      const started = performance.now();
      try {
        return await work();
      } finally {
        stageSeconds[stage] = (performance.now() - started) / 1000;
      }
    });
  const hub = {
    token: options.hfToken,
    hubUrl: options.hubUrl,
    cacheDir: options.cacheDir,
    offline: options.offline,
    env,
    progress,
    onSecret: context.onSecret,
    signal: context.signal,
  };

  const model = await timed('model', async (): Promise<ModelSource> => {
    if (options.modelPath) return { dir: options.modelPath };
    if (!options.modelId) return { dir: demoPaths().model };
    const snapshot = await fetchSnapshot({ ...hub, repoId: options.modelId, revision: options.revision });
    progress.info(`${snapshot.repoId}@${snapshot.revision}: ${snapshot.files.length} files in ${snapshot.dir}`);
    return { dir: snapshot.dir, repoId: snapshot.repoId, revision: snapshot.revision };
  });

  const factories = engineFactories({
    referenceCommand: options.referenceCommand,
    candidateCommand: options.candidateCommand,
    timeoutSeconds: options.commandTimeoutSeconds,
    candidateMode: options.candidateMode,
    progress,
  });
  const factory = await selectEngine(factories, options.engine, model);

  const quantizeOptions: QuantizeOptions = {
    model: model.dir,
    outDir: options.outDir,
    type: options.quantType,
    keep: options.keep,
    skip: options.skip,
    tensorTypes: options.tensorTypes,
    preset: options.preset,
    maxShardBytes: options.maxShardBytes,
    shardFormat: options.shardFormat,
    keepSingleFile: options.keepSingleFile,
    repoId: model.repoId,
    revision: model.revision,
    threads: options.threads,
    progress,
    signal: context.signal,
  };
  const { plan, output: quantized } = await timed('quantize', () =>
    quantizeThroughCache(quantizeOptions, context.quantizedCache, progress),
  );

  const spec = await timed('dataset', () => resolveDatasetSpec(options, model, fetchSnapshot, hub));
  const spool = await AudioSpool.create(options.outDir);
  try {
    // The variants run one after the other, so only one is ever loaded: the reference first,
    // decoding the audio and spooling it, then the candidate on the spooled audio.
    let dataset: Dataset | undefined;
    const reference = await timed('reference', async () => {
      // Choosing the device can mean fetching onnxruntime's CUDA provider, so its time counts as loading.
      const device = await resolveDevice(options.device, {
        env,
        progress,
        onnxruntime: runsOnOnnxruntime(factory.name),
        ...(context.onnxruntimeLocation && { location: context.onnxruntimeLocation }),
      });
      const batchSize = await checkMemory(factory, model, quantized!, device, options, progress);
      return runVariant(factory, model, { kind: 'reference' }, device, progress, context.signal, async (engine) => {
        dataset = await openDataset(spec, {
          sampleRate: engine.sampleRate,
          maxSamples: options.maxSamples,
          maxDurationSeconds: options.maxDurationSeconds,
          maxFailedUtterances: options.maxFailedUtterances,
          shard: options.shard,
          ...(context.signal && { signal: context.signal }),
        });
        return {
          batches: decodedBatches(dataset, spool, batchSize),
          total: dataset.info.selected,
          batchSize,
          close: () => dataset!.close(),
        };
      });
    });
    const candidate = await timed('candidate', () =>
      runVariant(
        factory,
        model,
        { kind: 'candidate', quantized: quantized! },
        reference.device,
        progress,
        context.signal,
        async (engine) => {
          if (engine.sampleRate !== reference.sampleRate) {
            throw new Error(
              `the ${factory.name} candidate asked for audio at ${engine.sampleRate} Hz but the reference at ${reference.sampleRate} Hz`,
            );
          }
          return { batches: spool.batches(reference.batchSize), total: spool.size, batchSize: reference.batchSize };
        },
      ),
    );
    const info = dataset!.info;

    const comparison = await timed('score', () =>
      compareSystemsInSlices(
        pairById(reference.utterances, systemOutputs(reference), systemOutputs(candidate)),
        { name: options.normalizer, normalize: createNormalizer(options.normalizer) },
        {
          dataset: { name: info.name, split: info.split, revision: info.revision },
          failedUtterances: reference.failed,
          gate: { mode: options.gateMode, thresholdPoints: options.threshold },
          bootstrap: { seed: options.seed, resamples: options.resamples },
          run: {
            modelId: model.repoId ?? model.dir,
            modelRevision: model.revision,
            engine: factory.name,
            device: reference.device,
            shard: options.shard ? formatShard(options.shard) : undefined,
            // Filled as the stages end, so the results file has every stage before it.
            stageSeconds,
          },
        },
        context.signal,
      ),
    );
    const results = await writeEvalResults(options.outDir, comparison);
    const partial = options.shard !== undefined;
    return {
      comparison,
      passed: partial || comparison.gate.verdict === 'pass',
      partial,
      model,
      plan,
      quantized: quantized!,
      results,
    };
  } finally {
    await spool.close();
  }
}

/**
 * The batch size that fits this machine's memory, from the engine's estimate of each variant:
 * the one asked for, or a smaller one with a line saying so. Engines without an estimate are not checked.
 */
async function checkMemory(
  factory: EngineFactory,
  model: ModelSource,
  quantized: QuantizedModel,
  device: Device,
  options: RunOptions,
  progress: Progress,
): Promise<number> {
  if (!factory.estimateMemory) return options.batchSize;
  const estimateOptions = { device, maxSeconds: options.maxDurationSeconds ?? ASSUMED_MAX_SECONDS };
  const estimates = [
    await factory.estimateMemory(model, { kind: 'reference' }, estimateOptions),
    await factory.estimateMemory(model, { kind: 'candidate', quantized }, estimateOptions),
  ];
  const available = await readAvailableMemory();
  const fit = fitBatchSize({ estimates, batchSize: options.batchSize, availableBytes: available, device });
  const need = `about ${formatBytes(fit.neededBytes)} at batch size ${fit.batchSize} for utterances up to ${estimateOptions.maxSeconds} s`;
  if (fit.batchSize === options.batchSize) {
    progress.info(`memory: the run needs ${need}; ${formatBytes(available)} is available`);
  } else {
    progress.info(
      `memory: batch size ${options.batchSize} would need about ${formatBytes(neededBytes(estimates, options.batchSize))} but ${formatBytes(available)} is available, so the run uses batch size ${fit.batchSize} (${need})`,
    );
  }
  return fit.batchSize;
}

interface VariantRun {
  device: Device;
  sampleRate: number;
  batchSize: number;
  /** The engine's transcripts (with tokens, where the engine gives them) and the milliseconds each took. */
  transcripts: (Transcript & { ms: number })[];
  /** The utterances transcribed, in order, with their true transcripts. */
  utterances: { id: string; text: string }[];
  failed: FailedUtterance[];
}

/** Where a variant's pass reads its batches, and utterances that could not be decoded, one at a time. */
interface VariantInput {
  batches: AsyncIterable<Utterance[] | FailedUtterance>;
  total: number;
  batchSize: number;
  /** Releases what the batches are read from, once the pass ends. */
  close?: () => Promise<void>;
}

/** Opens one variant, transcribes every batch `input` gives it once open, and closes it. */
async function runVariant(
  factory: EngineFactory,
  model: ModelSource,
  variant: Variant,
  device: Device,
  progress: Progress,
  signal: AbortSignal | undefined,
  input: (engine: Engine) => Promise<VariantInput>,
): Promise<VariantRun> {
  const engine = await factory.open(model, variant, { device });
  let source: VariantInput | undefined;
  try {
    source = await input(engine);
    const { batches, total, batchSize } = source;
    const run: VariantRun = {
      device: engine.device,
      sampleRate: engine.sampleRate,
      batchSize,
      transcripts: [],
      utterances: [],
      failed: [],
    };
    const task = progress.task(`transcribing (${variant.kind})`, { total, unitName: 'utterances' });
    for await (const batch of batches) {
      if (!Array.isArray(batch)) {
        run.failed.push(batch);
        task.advance(1);
        continue;
      }
      const started = performance.now();
      const transcripts: Transcript[] = await engine.transcribe(batch, signal);
      const msEach = (performance.now() - started) / batch.length;
      run.transcripts.push(...transcripts.map((transcript) => ({ ...transcript, ms: msEach })));
      run.utterances.push(...batch.map(({ id, text }) => ({ id, text })));
      task.advance(batch.length);
    }
    task.finish();
    return run;
  } finally {
    await Promise.allSettled([source?.close?.(), engine.close()]);
  }
}

/** What scoring reads of a variant's transcripts. */
function systemOutputs(run: VariantRun): (SystemOutput & { id: string })[] {
  return run.transcripts.map(({ id, text, ms }) => ({ id, text, ms }));
}

/** The dataset's utterances in batches, each spooled as it is decoded; failed utterances pass through alone. */
async function* decodedBatches(
  dataset: Dataset,
  spool: AudioSpool,
  batchSize: number,
): AsyncGenerator<Utterance[] | FailedUtterance> {
  let batch: Utterance[] = [];
  for await (const item of dataset) {
    if (isFailedUtterance(item)) {
      yield item;
      continue;
    }
    batch.push(item);
    if (batch.length >= batchSize) {
      await spool.append(batch);
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await spool.append(batch);
    yield batch;
  }
}

/** A cached output is used only once its manifest's checksums hold; otherwise quantize and save. */
async function quantizeThroughCache(
  options: QuantizeOptions,
  cache: QuantizedCache | undefined,
  progress: Progress,
): Promise<QuantizeResult> {
  const key = quantizedCacheKey(options);
  if (cache && key && (await cache.restore(key, quantizedPaths(options)))) {
    const reused = await reuseQuantized(options);
    if (reused) {
      progress.info(`quantized output restored from cache entry ${key} and verified`);
      return reused;
    }
    progress.info(`the cache entry ${key} did not hold an intact output; quantizing again`);
  }
  const result = await quantizeModel(options);
  if (cache && key) await cache.save(key, quantizedPaths(options));
  return result;
}

async function resolveDatasetSpec(
  options: RunOptions,
  model: ModelSource,
  fetchSnapshot: (request: SnapshotRequest) => Promise<SnapshotResult>,
  hub: Omit<SnapshotRequest, 'repoId'>,
): Promise<DatasetSpec> {
  const columns = options.columns;
  const location = options.dataset ?? (model.dir === demoPaths().model ? demoPaths().testset : DEFAULT_DATASET);
  if (existsSync(location) || /^https?:\/\//.test(location)) {
    const spec = withColumns(await datasetSpecFromPath(location), columns);
    // Parquet URLs are read with range requests: their retries are logged, and the run's environment names the proxy.
    return spec.kind === 'parquet'
      ? { ...spec, http: { log: (line) => hub.progress?.info(line), ...(hub.env && { env: hub.env }) } }
      : spec;
  }
  if (!/^[\w.-]+\/[\w.-]+$/.test(location)) {
    throw new QuantgateError(
      `--dataset ${location} is neither a local path nor a Hub dataset id (org/name); check the path or the id`,
    );
  }
  const request = { ...hub, repoId: location, repoType: 'dataset' as const, revision: options.datasetRevision };
  const listing = await prepareSnapshot({ ...request, include: ['*.parquet'] });
  const wanted = selectParquetFiles(
    listing.plan.files.map((file) => file.path),
    { config: options.datasetConfig, split: options.split },
  );
  const snapshot = await fetchSnapshot({ ...request, revision: listing.plan.revision, include: wanted });
  return {
    kind: 'parquet',
    files: wanted.map((path) => join(snapshot.dir, path)),
    name: location,
    split: options.split,
    revision: snapshot.revision,
    columns,
  };
}

function withColumns(spec: DatasetSpec, columns: RunOptions['columns']): DatasetSpec {
  return spec.kind === 'parquet' ? { ...spec, columns: { ...spec.columns, ...columns } } : spec;
}
