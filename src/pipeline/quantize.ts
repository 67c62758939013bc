// The quantize stage: safetensors weights in, a GGUF out (one file, byte shards or gguf-split
// files) with its manifest. Tensors stream from disk in bounded chunks through the worker pool and
// straight into the output, so memory stays flat whatever the model's size; nothing appears under
// the output names until it is complete.

import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { QuantgateError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import type { QuantizedModel } from '../engines/engine.js';
import { GGML_TYPES } from '../formats/gguf/constants.js';
import { copyIntoByteShards, writeByteShards } from '../formats/gguf/byte-shards.js';
import { openGgufModel } from '../formats/gguf/open.js';
import { planGguf, type GgufLayout } from '../formats/gguf/layout.js';
import { verifyManifest, writeManifest, type Manifest, type ManifestTypes } from '../formats/gguf/manifest.js';
import {
  DEFAULT_MAX_SHARD_BYTES,
  defaultOutputName,
  manifestPath as manifestPathOf,
  outputPaths,
  type OutputFormat,
  type ShardFormat,
} from '../formats/gguf/output-layout.js';
import type { WrittenFile } from '../formats/gguf/sink.js';
import { planGgufSplit, writeGgufSplit } from '../formats/gguf/split.js';
import { writeGgufFile, type GgufDataWriter } from '../formats/gguf/writer.js';
import { openSafetensors, type SafetensorsReader, type SafetensorsTensor } from '../formats/safetensors.js';
import type { SourceType, TargetType } from '../quant/codec.js';
import {
  formatTensorType,
  planTensors,
  presetArchitecture,
  type PlanOptions,
  type PlannedTensor,
  type PresetName,
  type TensorPlan,
} from '../quant/plan.js';
import { createConvertPool, type ConvertPool } from '../quant/pool.js';
import { modelDigests } from '../reuse/result-key.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { buildGgufMetadata } from './gguf-metadata.js';

export interface QuantizeOptions extends PlanOptions {
  /** A model folder, a .safetensors file or a safetensors index. */
  model: string;
  outDir: string;
  /** Base name of the outputs; see `outputName`. */
  name?: string;
  /** Largest file written; 0 writes one file whatever its size. */
  maxShardBytes?: number;
  shardFormat?: ShardFormat;
  /**
   * Beside byte shards, keep the single .gguf they are cut from, as the seed does: native runtimes
   * load the file, browsers the shards. Default true for byte shards; gguf-split has no single file.
   */
  keepSingleFile?: boolean;
  /** Where the weights came from, recorded in the GGUF and the manifest. */
  repoId?: string;
  revision?: string;
  /** Stop after planning; nothing is written. */
  dryRun?: boolean;
  threads?: number;
  progress?: Progress;
  /** Called with the plan before anything is written. */
  onPlan?: (plan: TensorPlan) => void;
  /** Stops the workers at once; the output's temp files are removed and the signal's reason thrown. */
  signal?: AbortSignal;
}

export interface QuantizeResult {
  plan: TensorPlan;
  /** Absent after a dry run. */
  output?: QuantizedModel;
}

/** Source bytes per conversion job: large enough to amortize the hand-off, small enough to keep memory flat. */
const CHUNK_SOURCE_BYTES = 4 << 20;

export async function quantizeModel(options: QuantizeOptions): Promise<QuantizeResult> {
  const progress = options.progress ?? silentProgress;
  if (options.keepSingleFile === true && options.shardFormat === 'gguf-split') {
    throw new QuantgateError(
      '--keep-single-file keeps the .gguf that byte shards are cut from; gguf-split files are not cut from one, so use --shard-format bytes or leave --keep-single-file out',
    );
  }
  const reader = await openSafetensors(options.model);
  try {
    const config = await readConfig(reader.source);
    const preset = options.preset ?? detectPreset(config, options.repoId);
    const plan = planTensors(
      reader.tensors.map((tensor) => ({ name: tensor.name, dtype: tensor.dtype, shape: tensor.shape })),
      { type: options.type, keep: options.keep, skip: options.skip, tensorTypes: options.tensorTypes, preset },
    );
    // The metadata and the header layout can still fail on the input, so they come before the plan is shown.
    const metadata = buildGgufMetadata({
      architecture: presetArchitecture(preset) ?? architectureOf(config),
      name: modelName(options),
      fileType: plan.fileType,
      repoId: options.repoId,
      revision: options.revision,
      config,
    });
    const specs = plan.tensors.map((tensor) => ({ name: tensor.name, type: tensor.type, ne: tensor.ne }));
    const single = planGguf(metadata, specs);
    options.onPlan?.(plan);
    if (options.dryRun) return { plan };

    const name = outputName(options);
    const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
    const format: OutputFormat =
      maxShardBytes === 0 || single.totalSize <= maxShardBytes ? 'single' : (options.shardFormat ?? 'bytes');
    const splitParts = format === 'gguf-split' ? planGgufSplit(metadata, specs, { maxFileBytes: maxShardBytes }) : [];

    options.signal?.throwIfAborted();
    const pool = createConvertPool({ threads: options.threads });
    const stopWorkers = () => void pool.close();
    options.signal?.addEventListener('abort', stopWorkers, { once: true });
    const task = progress.task('quantizing', {
      total: plan.tensors.reduce((sum, tensor) => sum + tensor.elements, 0),
      unit: 'count',
      unitName: 'values',
    });
    const fill = (writer: GgufDataWriter) =>
      streamTensors(reader, plan.tensors, pool, writer, (values) => task.advance(values));
    const keepSingleFile = format === 'bytes' && (options.keepSingleFile ?? true);
    let files: WrittenFile[];
    let singleFile: WrittenFile | undefined;
    try {
      if (keepSingleFile)
        ({ files, singleFile } = await writeByteShardsBesideSingle(
          options.outDir,
          name,
          single,
          maxShardBytes,
          fill,
          progress,
        ));
      else files = await writeOutput(format, options.outDir, name, single, splitParts, maxShardBytes, fill);
    } catch (error) {
      // The closed pool's rejection is how a stop shows here; the stop is the cause to report.
      options.signal?.throwIfAborted();
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', stopWorkers);
      await pool.close();
    }
    options.signal?.throwIfAborted();
    task.finish(`${files.length} file${files.length === 1 ? '' : 's'}${singleFile ? ' and the single .gguf' : ''}`);

    const manifestPath = manifestPathOf(options.outDir, name);
    await writeManifest(manifestPath, {
      format,
      files,
      ...(singleFile && { singleFile }),
      tensorCount: plan.tensors.length,
      types: manifestTypes(plan),
      source: { repoId: options.repoId, revision: options.revision, path: options.repoId ? undefined : reader.source },
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      inputsSha256: await outputInputsSha256(options),
    });
    await removeStaleOutputs(options.outDir, name, singleFile ? [format, 'single'] : [format]);
    const outputPath = outputPaths(options.outDir, name)[format];
    const output: QuantizedModel = {
      files: files.map((file) => file.path),
      format,
      ...(singleFile && { singleFile: singleFile.path }),
      manifestPath,
      open: () => openGgufModel(outputPath),
    };
    return { plan, output };
  } finally {
    await reader.close();
  }
}

async function writeOutput(
  format: OutputFormat,
  outDir: string,
  name: string,
  single: GgufLayout,
  splitParts: readonly GgufLayout[],
  maxShardBytes: number,
  fill: (writer: GgufDataWriter) => Promise<void>,
): Promise<WrittenFile[]> {
  const paths = outputPaths(outDir, name);
  switch (format) {
    case 'single':
      return [await writeGgufFile(paths.single, single, fill)];
    case 'bytes':
      return writeByteShards(paths.bytes, single, maxShardBytes, fill);
    case 'gguf-split':
      return writeGgufSplit(paths['gguf-split'], name, splitParts, fill);
  }
}

/**
 * The single .gguf, then its byte shards copied from it: the tensors are converted once, and each
 * output appears under its name only when complete.
 */
async function writeByteShardsBesideSingle(
  outDir: string,
  name: string,
  single: GgufLayout,
  maxShardBytes: number,
  fill: (writer: GgufDataWriter) => Promise<void>,
  progress: Progress,
): Promise<{ files: WrittenFile[]; singleFile: WrittenFile }> {
  const paths = outputPaths(outDir, name);
  const singleFile = await writeGgufFile(paths.single, single, fill);
  const task = progress.task('cutting byte shards', { total: singleFile.size, unit: 'bytes' });
  const files = await copyIntoByteShards(paths.single, paths.bytes, maxShardBytes, (bytes) => task.advance(bytes));
  task.finish();
  return { files, singleFile };
}

/** A switch of format must not leave the previous format's files looking current. */
async function removeStaleOutputs(outDir: string, name: string, written: readonly OutputFormat[]): Promise<void> {
  const paths = outputPaths(outDir, name);
  for (const format of Object.keys(paths) as OutputFormat[]) {
    if (!written.includes(format)) await rm(paths[format], { recursive: true, force: true });
  }
}

/**
 * Feeds every planned tensor to the writer in order. Conversion jobs run on the pool several at a
 * time across tensor boundaries (the workers read their chunks themselves), while results are
 * written strictly in order.
 */
async function streamTensors(
  reader: SafetensorsReader,
  tensors: readonly PlannedTensor[],
  pool: ConvertPool,
  writer: GgufDataWriter,
  onValues: (count: number) => void,
): Promise<void> {
  const window = pool.threads * 3;
  const jobs: Job[] = [];
  const produced = produceJobs(reader, tensors, pool);
  const fillWindow = () => {
    while (jobs.length < window) {
      const next = produced.next();
      if (next.done) return;
      jobs.push(next.value);
    }
  };
  try {
    for (const tensor of tensors) {
      await writer.writeTensor(
        tensor.name,
        (async function* () {
          let written = 0;
          while (written < tensor.bytes) {
            fillWindow();
            const job = jobs.shift();
            if (!job || job.tensor !== tensor) throw new Error(`conversion jobs out of step at tensor ${tensor.name}`);
            const data = await job.result;
            written += data.byteLength;
            onValues(job.elements);
            yield data;
          }
        })(),
      );
    }
  } finally {
    // Settle what is still in flight so no rejection goes unhandled.
    await Promise.allSettled(jobs.map((job) => job.result));
  }
}

interface Job {
  tensor: PlannedTensor;
  elements: number;
  result: Promise<Uint8Array>;
}

/**
 * One conversion job per chunk of CHUNK_SOURCE_BYTES of every planned tensor, submitted to the
 * pool as it is taken. The pool's workers read the chunks from the safetensors file themselves,
 * so this thread only writes results.
 */
function* produceJobs(reader: SafetensorsReader, tensors: readonly PlannedTensor[], pool: ConvertPool): Generator<Job> {
  for (const planned of tensors) {
    const source = reader.tensor(planned.name) as SafetensorsTensor;
    const elementBytes = source.byteLength / Math.max(source.elementCount, 1);
    const blockSize = GGML_TYPES[planned.type].blockSize;
    const chunkElements = Math.max(blockSize, Math.floor(CHUNK_SOURCE_BYTES / elementBytes / blockSize) * blockSize);
    for (let start = 0; start < source.elementCount; start += chunkElements) {
      const elements = Math.min(chunkElements, source.elementCount - start);
      const range = {
        path: source.file,
        position: source.dataOffset + start * elementBytes,
        length: elements * elementBytes,
      };
      const result = pool
        .convert({ source: planned.sourceDtype as SourceType, target: planned.type as TargetType, range })
        .then(({ data, firstNonFinite }) => {
          if (firstNonFinite >= 0) throw nonFiniteError(planned, start + firstNonFinite);
          if (planned.type === 'F16') checkHalfRange(planned, data, start);
          return data;
        });
      // Rejections are handled when the writer reaches this job; mark them seen until then.
      result.catch(() => undefined);
      yield { tensor: planned, elements, result };
    }
  }
}

function nonFiniteError(tensor: PlannedTensor, element: number): QuantgateError {
  return new QuantgateError(
    `tensor ${tensor.name} holds a value that is infinite or not a number (first at element ${element}), which cannot be quantized; fix the checkpoint or leave the tensor out with --skip '${tensor.name}'`,
  );
}

/** Values beyond ±65504 become infinities in F16; refuse rather than ship them. */
function checkHalfRange(tensor: PlannedTensor, data: Uint8Array, firstElement: number): void {
  const halves = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  for (let i = 0; i < halves.length; i++) {
    if ((halves[i]! & 0x7c00) === 0x7c00) {
      throw new QuantgateError(
        `tensor ${tensor.name} has a value beyond the F16 range (±65504) at element ${firstElement + i}; keep it in F32 with --keep '${tensor.name}'`,
      );
    }
  }
}

/** What the manifest says of the tensor types: enough to know, before downloading, what a runtime must read. */
function manifestTypes(plan: TensorPlan): ManifestTypes {
  return {
    fileType: plan.fileType,
    quantType: plan.requested,
    tensorTypes: plan.tensorTypes.map(formatTensorType),
    byType: Object.fromEntries(
      Object.entries(plan.byType).map(([type, totals]) => [
        type,
        { tensors: totals.tensors, parameters: totals.elements, bytes: totals.bytes },
      ]),
    ),
  };
}

async function readConfig(weightsPath: string): Promise<Record<string, unknown> | undefined> {
  const path = join(dirname(weightsPath), 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // JSON.parse's own wording stays in the debug output (QUANTGATE_DEBUG=1), as the cause.
    throw new QuantgateError(`${path} is not valid JSON; fix or remove it`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new QuantgateError(`${path} is not a JSON object; fix or remove it`);
  return parsed as Record<string, unknown>;
}

/** Kyutai's STT checkpoints get their preset unless the user chose another. */
function detectPreset(config: Record<string, unknown> | undefined, repoId: string | undefined): PresetName | undefined {
  if (repoId?.startsWith('kyutai/stt-') || config?.model_type === 'stt') return 'kyutai-stt';
  return undefined;
}

function architectureOf(config: Record<string, unknown> | undefined): string {
  if (typeof config?.model_type === 'string' && config.model_type) return config.model_type;
  const architectures = config?.architectures;
  if (Array.isArray(architectures) && typeof architectures[0] === 'string') return architectures[0];
  return 'unknown';
}

function modelName(options: Pick<QuantizeOptions, 'repoId' | 'model'>): string {
  if (options.repoId) return options.repoId.split('/').pop()!;
  const base = basename(options.model.replace(/[/\\]+$/, ''));
  return base.replace(/\.safetensors(\.index\.json)?$/, '') || 'model';
}

/** The base name of every output file: the one the older `--out` gave, or the model's name and the type, e.g. `stt-1b-en_fr-q4`. */
function outputName(options: Pick<QuantizeOptions, 'name' | 'repoId' | 'model' | 'type'>): string {
  return options.name ?? defaultOutputName(modelName(options), options.type ?? 'q4_0');
}

/**
 * Identifies a quantized output across CI runs: the exact source commit, this quantizer's version
 * and every option that changes the bytes. Only Hub models have a commit to key on.
 */
export function quantizedCacheKey(options: QuantizeOptions): string | undefined {
  if (!options.repoId || !options.revision) return undefined;
  const digest = createHash('sha256').update(settingsOf(options)).digest('hex').slice(0, 16);
  return `quantgate-gguf-${options.repoId.replace('/', '--')}-${options.revision}-${TOOL_VERSION}-${digest}`;
}

/** Every setting that changes the output's bytes, as canonical JSON. */
function settingsOf(options: QuantizeOptions): string {
  return JSON.stringify([
    options.type ?? 'q4_0',
    options.keep ?? [],
    options.skip ?? [],
    (options.tensorTypes ?? []).map(formatTensorType),
    options.preset ?? null,
    options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES,
    options.shardFormat ?? 'bytes',
    options.keepSingleFile ?? null,
  ]);
}

/**
 * The sha256 of everything that decides a quantization's bytes: quantgate's version, the source
 * (its Hub commit, or the sha256 of every file of a local folder) and the settings. Equal values
 * give byte-identical outputs, which is what lets a run keep an output it finds in its folder.
 */
export async function outputInputsSha256(options: QuantizeOptions): Promise<string> {
  const source = await modelDigests({ dir: options.model, repoId: options.repoId, revision: options.revision });
  return createHash('sha256')
    .update(JSON.stringify([TOOL_VERSION, source, settingsOf(options)]))
    .digest('hex');
}

/** Every path a quantization of `options` may write: its possible outputs and its manifest. */
export function quantizedPaths(options: QuantizeOptions): string[] {
  const name = outputName(options);
  return [...Object.values(outputPaths(options.outDir, name)), manifestPathOf(options.outDir, name)];
}

/**
 * The earlier output of the same quantization, when its manifest names this source (and records
 * `inputsSha256`, when given) and every file still matches its size and SHA-256; the plan is
 * recomputed from the source's header.
 */
export async function reuseQuantized(
  options: QuantizeOptions,
  inputsSha256?: string,
): Promise<QuantizeResult | undefined> {
  const name = outputName(options);
  const manifestPath = manifestPathOf(options.outDir, name);
  let manifest: Manifest;
  try {
    manifest = await verifyManifest(manifestPath);
  } catch {
    return undefined;
  }
  if (
    manifest.source.repoId !== options.repoId ||
    manifest.source.revision !== options.revision ||
    manifest.tool.version !== TOOL_VERSION ||
    (inputsSha256 !== undefined && manifest.inputsSha256 !== inputsSha256)
  )
    return undefined;
  if ((manifest.singleFile !== undefined) !== (manifest.format === 'bytes' && (options.keepSingleFile ?? true)))
    return undefined;
  const { plan } = await quantizeModel({ ...options, dryRun: true });
  const outputPath = outputPaths(options.outDir, name)[manifest.format];
  const files = manifest.files.map((file) => join(options.outDir, ...file.path.split('/')));
  const singleFile = manifest.singleFile && join(options.outDir, ...manifest.singleFile.path.split('/'));
  return {
    plan,
    output: {
      files,
      format: manifest.format,
      ...(singleFile && { singleFile }),
      manifestPath,
      open: () => openGgufModel(outputPath),
    },
  };
}
