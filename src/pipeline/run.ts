// The job, walked once: get the model (Hub, local folder, or the embedded demo), quantize it,
// open the dataset, transcribe every utterance with the reference and then with the candidate
// variant of the same engine (one loaded at a time, after a check that the machine's memory holds
// it), score both, gate, and write eval_results.{txt,json}. The CLI's `run` and the action are
// thin shells over `runPipeline`.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { copyFileAtomic, holdTempPath, releaseTempPath } from '../common/atomic.js';
import { QuantgateError } from '../common/errors.js';
import { formatBytes } from '../common/format.js';
import { silentProgress, type Progress } from '../common/progress.js';
import { openDataset, datasetSpecFromPath, fingerprintSelection, type DatasetSpec } from '../datasets/dataset.js';
import { selectParquetFiles } from '../datasets/parquet-files.js';
import { formatShard } from '../datasets/selection.js';
import type { Device, Engine, EngineFactory, ModelSource, QuantizedModel } from '../engines/engine.js';
import { resolveDevice } from '../engines/device.js';
import { givesTokenMetrics, runsOnOnnxruntime } from '../engines/catalogue.js';
import { engineFactories, selectEngine } from '../engines/registry.js';
import type { SnapshotRequest, SnapshotResult } from '../hub/snapshot.js';
import type { TensorPlan } from '../quant/plan.js';
import { writeEvalResults } from '../report/results-files.js';
import type { OnnxruntimeLocation } from '../runtime/location.js';
import { compareSystemsInSlices, pairById, type SystemOutput } from '../scoring/compare.js';
import { createNormalizer } from '../scoring/normalize/index.js';
import {
  REFERENCE_BASE_NAME,
  readReferenceBase,
  requireSameIdentity,
  ReferenceBaseWriter,
  type ReferenceBase,
  type ReferenceBaseIdentity,
} from '../scoring/reference-base.js';
import type { ReferenceStep } from '../scoring/token-damage.js';
import { verdictOf } from '../scoring/token-gate.js';
import { sensitivityAfterGate, wantsSensitivity } from './run-sensitivity.js';
import { withoutTokenMetrics, withTokenDamage } from '../scoring/token-results.js';
import type { ScoredComparison } from '../scoring/types.js';
import { defaultResultsStoreRoot } from '../reuse/results-store.js';
import type { VariantRecord } from '../reuse/variant-record.js';
import { AudioSpool } from './audio-spool.js';
import { ASSUMED_MAX_SECONDS, fitBatchSize, neededBytes, readAvailableMemory } from './memory.js';
import { DEFAULT_DATASET, type RunOptions } from './options.js';
import { demoPaths } from './demo.js';
import { decodedAudioKey, runIdentity, VariantResults, type ResultsCache, type RunIdentity } from './results-reuse.js';
import { decodedBatches, runVariant, type VariantInput } from './variant-pass.js';
import {
  outputInputsSha256,
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
  /** Carries the results store's entries between CI runs (the action's Actions cache). */
  resultsCache?: ResultsCache;
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
  /** The results files, and the reference base where the engine gives token metrics. */
  results: { textPath: string; jsonPath: string; referenceBasePath?: string };
}

export async function runPipeline(options: RunOptions, context: RunContext = {}): Promise<RunResult> {
  const progress = context.progress ?? silentProgress;
  const env = context.env ?? process.env;
  // The Hub client loads only when a run reaches the Hub (the demo and local folders never do).
  const fetchSnapshot =
    context.fetchSnapshot ??
    (async (request: SnapshotRequest) => (await import('../hub/snapshot.js')).downloadSnapshot(request));
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

  const model = await timed('model', () => resolveModel(options, fetchSnapshot, hub));

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
  const tokenMetrics = givesTokenMetrics(factory.name);
  const basePath = join(options.outDir, REFERENCE_BASE_NAME);
  const spool = await AudioSpool.create(options.outDir);
  const scratch = await mkdtemp(join(tmpdir(), 'quantgate-results-'));
  holdTempPath(scratch);
  try {
    const datasetOptions = (engine: Engine) => ({
      sampleRate: engine.sampleRate,
      maxSamples: options.maxSamples,
      maxDurationSeconds: options.maxDurationSeconds,
      maxFailedUtterances: options.maxFailedUtterances,
      shard: options.shard,
      ...(context.signal && { signal: context.signal }),
    });
    /** Decodes the dataset for a pass, spooling its audio for a later pass when `spoolIt`. */
    const datasetInput = async (engine: Engine, batchSize: number, spoolIt: boolean): Promise<VariantInput> => {
      const dataset = await openDataset(spec, datasetOptions(engine));
      return {
        batches: decodedBatches(dataset, batchSize, spoolIt ? spool : undefined),
        total: dataset.info.selected,
        batchSize,
        close: () => dataset.close(),
      };
    };

    // The variants run one after the other, so only one is ever loaded: the reference first,
    // decoding the audio and spooling it, then the candidate on the spooled audio. A variant whose
    // results are stored under its key is not run at all, nor is the reference given a base.
    const prepared = await timed('reference', async () => {
      // Choosing the device can mean fetching onnxruntime's CUDA provider, so its time counts as loading.
      const device = await resolveDevice(options.device, {
        env,
        progress,
        onnxruntime: runsOnOnnxruntime(factory.name),
        ...(context.onnxruntimeLocation && { location: context.onnxruntimeLocation }),
      });
      const batchSize = await checkMemory(factory, model, quantized!, device, options, progress);
      const selection = await fingerprintSelection(spec, {
        maxSamples: options.maxSamples,
        shard: options.shard,
        ...(context.signal && { signal: context.signal }),
      });
      const base = options.referenceBase ? await readReferenceBase(options.referenceBase) : undefined;
      const identity = await runIdentity(options, {
        engine: factory.name,
        device,
        batchSize,
        ...(tokenMetrics && { baseTopK: options.baseTopK }),
        model,
        quantized: quantized!,
        selection,
        ...(base && { baseSha256: base.sha256 }),
      });
      const store = openResultsStore(options, env, progress, context.resultsCache);
      const reference = await referenceResults({
        base,
        identity,
        store,
        run: () =>
          runReference(factory, model, {
            device,
            progress,
            signal: context.signal,
            k: tokenMetrics ? options.baseTopK : undefined,
            basePath,
            identity: identity.base,
            input: (engine) => datasetInput(engine, batchSize, true),
          }),
        basePath,
        scratch,
        referenceBase: options.referenceBase,
        tokenMetrics,
        progress,
      });
      if (store && !reference.reused && !reference.fromBase && spool.size > 0)
        await store.saveFiles(decodedAudioKey(identity.reference), await spool.storedFiles());
      return { device, batchSize, selection, identity, store, reference };
    });
    const { reference, identity, store, selection } = prepared;
    /** The audio the reused reference decoded, when the store kept it. */
    const storedAudio = async (): Promise<AudioSpool | undefined> => {
      const key = decodedAudioKey(identity.reference);
      const entry = await store?.loadFiles(key);
      if (!entry) return undefined;
      const audio = await AudioSpool.openStored(entry.dir);
      if (typeof audio === 'string') {
        progress.info(
          `warning: the stored decoded audio ${key.slice(0, 12)}… does not read back (${audio}); decoding the dataset`,
        );
        return undefined;
      }
      progress.info(`candidate: decoded audio of the reference reused (key ${key.slice(0, 12)}…)`);
      return audio;
    };

    const candidate = await timed('candidate', async () => {
      const stored = await store?.load(identity.candidate);
      if (stored) {
        progress.info(`candidate: reused (key ${identity.candidate.slice(0, 12)}…)`);
        return { record: stored.record, reused: true };
      }
      const steps = tokenMetrics ? await reference.steps() : undefined;
      const record = await runVariant(
        factory,
        model,
        { kind: 'candidate', quantized: quantized! },
        {
          device: prepared.device,
          progress,
          signal: context.signal,
          tokens: steps ? { kind: 'against', steps: stepsOf(steps) } : { kind: 'none' },
        },
        async (engine) => {
          const audio = spool.size > 0 ? spool : reference.reused ? await storedAudio() : undefined;
          if (!audio) return datasetInput(engine, prepared.batchSize, false);
          if (engine.sampleRate !== reference.record.sampleRate) {
            throw new Error(
              `the ${factory.name} candidate asked for audio at ${engine.sampleRate} Hz but the reference at ${reference.record.sampleRate} Hz`,
            );
          }
          return {
            batches: audio.batches(prepared.batchSize),
            total: audio.size,
            batchSize: prepared.batchSize,
            ...(audio !== spool && { close: () => audio.close() }),
          };
        },
      );
      await store?.save(identity.candidate, record, scratch);
      return { record, reused: false };
    });
    // The ground truth and the failed utterances come from the pass that read the dataset.
    const truth = reference.fromBase ? candidate.record : reference.record;

    const comparison = await timed('score', async () => {
      const scored = await compareSystemsInSlices(
        pairById(
          truth.utterances,
          systemOutputs(reference.record, reference.fromBase ? truth.utterances : undefined),
          systemOutputs(candidate.record),
        ),
        { name: options.normalizer, normalize: createNormalizer(options.normalizer) },
        {
          dataset: { name: selection.name, split: selection.split, revision: selection.revision },
          failedUtterances: truth.failed,
          gate: { mode: options.gateMode, thresholdPoints: options.threshold },
          bootstrap: { seed: options.seed, resamples: options.resamples },
          run: {
            modelId: model.repoId ?? model.dir,
            modelRevision: model.revision,
            engine: factory.name,
            device: prepared.device,
            shard: options.shard ? formatShard(options.shard) : undefined,
            reused: { reference: reference.reused, candidate: candidate.reused },
            // Filled as the stages end, so the results file has every stage before it.
            stageSeconds,
          },
        },
        context.signal,
      );
      if (!tokenMetrics)
        return withoutTokenMetrics(
          scored,
          `the ${factory.name} engine sees only the text it is given, not the models' output distributions`,
        );
      if (!candidate.record.damages)
        throw new Error(`the ${factory.name} engine gave no token damage for the candidate`);
      return withTokenDamage(scored, candidate.record.damages, {
        bootstrap: { seed: options.seed, resamples: options.resamples },
        gates: { maxKld: options.maxKld, minTop1Agreement: options.minTop1Agreement, mode: options.gateMode },
      });
    });
    const partial = options.shard !== undefined;
    const sensitivity = wantsSensitivity(options, comparison, partial)
      ? await sensitivityAfterGate(options, factory.name, context, (work) => timed('sensitivity', work))
      : undefined;
    if (sensitivity) comparison.sensitivity = sensitivity;
    const results = {
      ...(await writeEvalResults(options.outDir, comparison)),
      ...(tokenMetrics && { referenceBasePath: basePath }),
    };
    return {
      comparison,
      passed: partial || verdictOf(comparison) === 'pass',
      partial,
      model,
      plan,
      quantized: quantized!,
      results,
    };
  } finally {
    await Promise.all([spool.close(), rm(scratch, { recursive: true, force: true })]);
    releaseTempPath(scratch);
  }
}

/** The model the options name: a local folder, a Hub snapshot, or the embedded demo model. */
export async function resolveModel(
  options: Pick<RunOptions, 'modelPath' | 'modelId' | 'revision'>,
  fetchSnapshot: (request: SnapshotRequest) => Promise<SnapshotResult>,
  hub: Omit<SnapshotRequest, 'repoId'>,
): Promise<ModelSource> {
  if (options.modelPath) return { dir: options.modelPath };
  if (!options.modelId) return { dir: demoPaths().model };
  const snapshot = await fetchSnapshot({ ...hub, repoId: options.modelId, revision: options.revision });
  hub.progress?.info(`${snapshot.repoId}@${snapshot.revision}: ${snapshot.files.length} files in ${snapshot.dir}`);
  return { dir: snapshot.dir, repoId: snapshot.repoId, revision: snapshot.revision };
}

function openResultsStore(
  options: RunOptions,
  env: NodeJS.ProcessEnv,
  progress: Progress,
  cache: ResultsCache | undefined,
): VariantResults | undefined {
  if (!options.reuse) return undefined;
  const root = options.resultsCache ?? defaultResultsStoreRoot(env);
  if (root) return new VariantResults(root, progress, cache);
  progress.info('results are not kept for reuse: neither XDG_CACHE_HOME nor HOME is set; give --results-cache <dir>');
  return undefined;
}

/** The reference's results, wherever they came from, and its steps for the candidate to be measured against. */
interface ReferenceResults {
  record: VariantRecord;
  reused: boolean;
  /** Taken from `--reference-base`: the reference did not run, and the dataset is read by the candidate. */
  fromBase: boolean;
  /** Each utterance's reference steps, read when the candidate needs them. */
  steps(): Promise<Map<string, ReferenceStep[]>>;
}

/**
 * The reference from `--reference-base`, from the results store, or from a pass of its own; the
 * base file ends up beside eval_results.json in every case (and is removed for an engine without
 * token metrics, so no stale one stays there).
 */
async function referenceResults(options: {
  base: ReferenceBase | undefined;
  identity: RunIdentity;
  store: VariantResults | undefined;
  run: () => Promise<{ record: VariantRecord; steps: Map<string, ReferenceStep[]> | undefined }>;
  basePath: string;
  scratch: string;
  referenceBase: string | undefined;
  tokenMetrics: boolean;
  progress: Progress;
}): Promise<ReferenceResults> {
  const { base, identity, store, basePath, progress } = options;
  if (base) {
    requireSameIdentity(base.header, identity.base, options.referenceBase!);
    if (resolve(options.referenceBase!) !== resolve(basePath)) await copyFileAtomic(options.referenceBase!, basePath);
    progress.info(`reference: taken from the reference base ${options.referenceBase}, not run`);
    // The base holds the utterances its reference could decode; those that failed then fail the
    // candidate's pass as well, and scoring pairs the ones both have.
    const utterances = [...base.utterances];
    return {
      record: {
        device: base.header.identity.device as Device,
        sampleRate: 0,
        batchSize: 0,
        utterances: [],
        transcripts: utterances.map(([id, { text }]) => ({ id, text })),
        failed: [],
      },
      reused: false,
      fromBase: true,
      steps: async () => stepsByUtterance(base),
    };
  }
  const stored = await store?.load(identity.reference);
  if (stored) {
    progress.info(`reference: reused (key ${identity.reference.slice(0, 12)}…)`);
    if (options.tokenMetrics) await copyFileAtomic(join(stored.entry.dir, REFERENCE_BASE_NAME), basePath);
    else await rm(basePath, { force: true });
    return {
      record: stored.record,
      reused: true,
      fromBase: false,
      steps: async () => stepsByUtterance(await readReferenceBase(basePath)),
    };
  }
  if (!options.tokenMetrics) await rm(basePath, { force: true });
  const { record, steps } = await options.run();
  await store?.save(
    identity.reference,
    record,
    options.scratch,
    steps ? [{ name: REFERENCE_BASE_NAME, path: basePath }] : [],
  );
  return { record, reused: false, fromBase: false, steps: async () => steps ?? new Map() };
}

/** The reference's pass; with `k`, its steps are kept and written to the base file as each utterance ends. */
async function runReference(
  factory: EngineFactory,
  model: ModelSource,
  options: {
    device: Device;
    progress: Progress;
    signal: AbortSignal | undefined;
    k: number | undefined;
    basePath: string;
    identity: ReferenceBaseIdentity;
    input: (engine: Engine) => Promise<VariantInput>;
  },
): Promise<{ record: VariantRecord; steps: Map<string, ReferenceStep[]> | undefined }> {
  const { k } = options;
  const variantOptions = { device: options.device, progress: options.progress, signal: options.signal };
  if (k === undefined) {
    const record = await runVariant(
      factory,
      model,
      { kind: 'reference' },
      { ...variantOptions, tokens: { kind: 'none' } },
      options.input,
    );
    return { record, steps: undefined };
  }
  const steps = new Map<string, ReferenceStep[]>();
  let writer: ReferenceBaseWriter | undefined;
  try {
    const record = await runVariant(
      factory,
      model,
      { kind: 'reference' },
      {
        ...variantOptions,
        tokens: {
          kind: 'reference',
          k,
          onReferenceSteps: async (transcript, utteranceSteps, vocabulary) => {
            writer ??= await ReferenceBaseWriter.create(options.basePath, {
              identity: options.identity,
              distribution: k >= vocabulary ? 'full' : 'top-k',
              k: Math.min(k, vocabulary),
              vocabulary,
            });
            await writer.append(transcript.id, transcript.text, utteranceSteps);
            steps.set(transcript.id, utteranceSteps);
          },
        },
      },
      options.input,
    );
    if (writer) await writer.commit();
    return { record, steps };
  } catch (error) {
    await writer?.abort();
    throw error;
  }
}

function stepsByUtterance(base: ReferenceBase): Map<string, ReferenceStep[]> {
  return new Map([...base.utterances].map(([id, utterance]) => [id, utterance.steps]));
}

export function stepsOf(steps: Map<string, ReferenceStep[]>): (id: string) => readonly ReferenceStep[] {
  return (id) => {
    const found = steps.get(id);
    if (!found)
      throw new QuantgateError(
        `the reference has no steps for utterance ${id}, which the candidate transcribed: the reference base lacks it; give the base of this run's selection, or run without --reference-base`,
      );
    return found;
  };
}

/**
 * The batch size that fits this machine's memory, from the engine's estimate of each variant:
 * the one asked for, or a smaller one with a line saying so. Engines without an estimate are not checked.
 */
export async function checkMemory(
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

/** What scoring reads of a variant's transcripts, only of the utterances `among` when given. */
function systemOutputs(run: VariantRecord, among?: readonly { id: string }[]): (SystemOutput & { id: string })[] {
  const wanted = among && new Set(among.map(({ id }) => id));
  return run.transcripts.filter(({ id }) => !wanted || wanted.has(id)).map(({ id, text, ms }) => ({ id, text, ms }));
}

/**
 * An output already in the folder with the same inputs is kept, as is a cached one, each only once
 * its manifest's checksums hold; otherwise quantize (and save to the cache).
 */
async function quantizeThroughCache(
  options: QuantizeOptions,
  cache: QuantizedCache | undefined,
  progress: Progress,
): Promise<QuantizeResult> {
  const inputsSha256 = await outputInputsSha256(options);
  const kept = await reuseQuantized(options, inputsSha256);
  if (kept) {
    progress.info(`quantized output in ${options.outDir} already holds this quantization (verified); kept as it is`);
    return kept;
  }
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

export async function resolveDatasetSpec(
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
  const { prepareSnapshot } = await import('../hub/snapshot.js');
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
