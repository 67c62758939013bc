// The datasets stage: opens a parquet dataset, a LibriSpeech folder or a manifest, selects the
// utterances of this run (see selection.ts), and yields each one decoded to mono float32 at the
// engine's sample rate, in dataset order.
//
// An utterance whose audio or transcript cannot be read, or whose audio is longer than
// `maxDurationSeconds`, is yielded as a FailedUtterance in its place (it still counts toward
// `maxSamples`, so every shard selects the same utterances whatever fails). Once more than
// `maxFailedUtterances` have failed, the iteration throws, naming them. Problems with the dataset
// as a whole (unreadable files, missing columns, network errors) throw at once.

import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { AudioDecoder } from '../audio/decode.js';
import type { Resampler } from '../audio/resample.js';
import { mapAhead } from '../common/concurrency.js';
import { QuantgateError, describeError } from '../common/errors.js';
import { openLibriSpeechFolder } from './librispeech-folder.js';
import { openManifest } from './manifest.js';
import type { ParquetSourceOptions } from './parquet.js';
import { isUrl } from './random-access.js';
import { checkSelection, formatShard, selectUtterances, type Shard } from './selection.js';
import type { DatasetKind, DatasetSource, SourceRecord } from './source.js';
import type { FailedUtterance, Utterance } from './utterance.js';

export type DatasetSpec =
  | ({ kind: 'parquet' } & ParquetSourceOptions)
  | { kind: 'librispeech'; dir: string }
  | { kind: 'manifest'; path: string };

export interface DatasetOptions {
  /** The rate the engine asks for; all audio is resampled to it. */
  sampleRate: number;
  /** The first N utterances in dataset order (default 100); 0 selects all. */
  maxSamples?: number;
  /** Longer audio fails its utterance (default: no limit). */
  maxDurationSeconds?: number;
  /** Failed utterances tolerated before the iteration throws (default 0). */
  maxFailedUtterances?: number;
  shard?: Shard;
  /** Aborting it stops the parquet reader's process at once (reads reject with its reason). */
  signal?: AbortSignal;
}

interface DatasetSummary {
  kind: DatasetKind;
  /** Repository id, folder or file. */
  name: string;
  split?: string;
  revision?: string;
  /** Utterances in the dataset. */
  available: number;
}

export interface DatasetInfo extends DatasetSummary {
  /** Utterances this run yields (after --max-samples and --shard). */
  selected: number;
  shard?: Shard;
}

/** Iterate it one pass at a time; each pass yields the same utterances. */
export interface Dataset extends AsyncIterable<Utterance | FailedUtterance> {
  readonly info: DatasetInfo;
  /** Releases the open files and the decoders; call once done. */
  close(): Promise<void>;
}

export function isFailedUtterance(item: Utterance | FailedUtterance): item is FailedUtterance {
  return 'error' in item;
}

export async function openDataset(spec: DatasetSpec, options: DatasetOptions): Promise<Dataset> {
  const maxFailed = checkOptions(options);
  // The audio libraries (WebAssembly FLAC decoder and resampler) load only when audio is decoded,
  // so a run whose results are all reused never pays for them.
  const [{ AudioDecoder, probeAudio }, { Resampler }] = await Promise.all([
    import('../audio/decode.js'),
    import('../audio/resample.js'),
  ]);
  const resampler = new Resampler(options.sampleRate);
  const source = await openSource(spec, options.signal);
  try {
    if (source.size === 0)
      throw new QuantgateError(
        `the dataset ${source.name} has no utterances; check its path${source.kind === 'parquet' ? ', config and split' : ''}`,
      );
    const selection = selectUtterances(source.size, options.maxSamples, options.shard);
    if (selection.end === selection.start) {
      throw new QuantgateError(
        `shard ${formatShard(options.shard!)} selects none of the ${selection.selectedBeforeShard} utterances; use at most ${selection.selectedBeforeShard} shards`,
      );
    }
    const decoder = new AudioDecoder();
    const loader: UtteranceLoader = { decoder, resampler, probeAudio, maxSeconds: options.maxDurationSeconds };
    return {
      info: {
        ...summaryOf(source),
        selected: selection.end - selection.start,
        ...(options.shard ? { shard: options.shard } : {}),
      },
      [Symbol.asyncIterator]: () =>
        loadUtterances(source, source.records(selection.start, selection.end), loader, maxFailed),
      async close() {
        decoder.close();
        await Promise.all([resampler.close(), source.close()]);
      },
    };
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** What a run's selection of utterances is, for keying its results (reuse/result-key.ts). */
export interface SelectionFingerprint extends Omit<DatasetSummary, 'available'> {
  /** The selected utterances' ids, in order. */
  ids: string[];
  /**
   * SHA-256 over each selected utterance's id, transcript and encoded audio, for a dataset without
   * a resolved commit (local files can change under the same name); absent when the commit pins the bytes.
   */
  contentSha256?: string;
}

/** The ids a run of `options` selects, and for local data a digest of their bytes; no audio is decoded. */
/** Utterance files a fingerprint reads at once. */
const FINGERPRINT_READS = 8;

export async function fingerprintSelection(
  spec: DatasetSpec,
  options: Pick<DatasetOptions, 'maxSamples' | 'shard' | 'signal'>,
): Promise<SelectionFingerprint> {
  checkSelection(options.maxSamples, options.shard);
  const source = await openSource(spec, options.signal);
  try {
    const { start, end } = selectUtterances(source.size, options.maxSamples, options.shard);
    const ids: string[] = [];
    const hash = source.revision ? undefined : createHash('sha256');
    // Local files are read a few at a time: one at a time, their latency was most of a reused run.
    const loads = mapAhead(source.records(start, end), hash ? FINGERPRINT_READS : 1, async (record) => {
      options.signal?.throwIfAborted();
      if (!hash) return { id: record.id };
      const loaded = await record.load().catch((error: unknown) => {
        if (error instanceof QuantgateError) return { failed: error.message };
        throw error;
      });
      return { id: record.id, loaded };
    });
    for await (const { id, loaded } of loads) {
      options.signal?.throwIfAborted();
      ids.push(id);
      if (!hash || !loaded) continue;
      // Each field is length-prefixed, so no two selections hash alike by shifting bytes between fields.
      const fields = 'failed' in loaded ? [id, 'failed', loaded.failed] : [id, loaded.text, loaded.audio];
      for (const field of fields) {
        const bytes = typeof field === 'string' ? Buffer.from(field) : field;
        hash.update(`${bytes.length}:`).update(bytes);
      }
    }
    const { available: _available, ...summary } = summaryOf(source);
    return { ...summary, ids, ...(hash && { contentSha256: hash.digest('hex') }) };
  } finally {
    await source.close();
  }
}

/**
 * The spec for a local path or URL: a .parquet file or URL, a .jsonl/.ndjson/.csv manifest, a
 * folder of .parquet files, or a LibriSpeech folder.
 */
export async function datasetSpecFromPath(location: string): Promise<DatasetSpec> {
  const extension = extname(isUrl(location) ? new URL(location).pathname : location).toLowerCase();
  if (extension === '.parquet') return { kind: 'parquet', files: [location] };
  if (isUrl(location))
    throw new QuantgateError(
      `${location}: only parquet files can be read from a URL; download the dataset and pass its local path`,
    );
  if (['.jsonl', '.ndjson', '.csv'].includes(extension)) return { kind: 'manifest', path: location };
  let isFolder: boolean;
  try {
    isFolder = (await stat(location)).isDirectory();
  } catch (error) {
    throw new QuantgateError(`cannot read the dataset ${location} (${describeError(error)}); check the path`, {
      cause: error,
    });
  }
  if (!isFolder)
    throw new QuantgateError(
      `${location} is not a dataset: pass a .parquet file, a .jsonl or .csv manifest, or a LibriSpeech folder`,
    );
  const parquetFiles = (await readdir(location)).filter((name) => name.toLowerCase().endsWith('.parquet'));
  if (parquetFiles.length > 0)
    return { kind: 'parquet', files: parquetFiles.map((name) => join(location, name)), name: location };
  return { kind: 'librispeech', dir: location };
}

/** Validates the options before any file is opened; returns the failure allowance. */
function checkOptions(options: DatasetOptions): number {
  if (options.maxDurationSeconds !== undefined && !(options.maxDurationSeconds > 0)) {
    throw new QuantgateError(`--max-duration must be a number of seconds > 0, got ${options.maxDurationSeconds}`);
  }
  const maxFailed = options.maxFailedUtterances ?? 0;
  if (!Number.isInteger(maxFailed) || maxFailed < 0)
    throw new QuantgateError(`--max-failed-utterances must be a whole number ≥ 0, got ${maxFailed}`);
  checkSelection(options.maxSamples, options.shard);
  return maxFailed;
}

async function openSource(spec: DatasetSpec, signal: AbortSignal | undefined): Promise<DatasetSource> {
  switch (spec.kind) {
    case 'parquet': {
      // The parquet reader (and its HTTP range client) loads only for parquet datasets.
      const { openParquetSource } = await import('./parquet.js');
      return openParquetSource({ ...spec, signal: spec.signal ?? signal });
    }
    case 'librispeech':
      return openLibriSpeechFolder(spec.dir);
    case 'manifest':
      return openManifest(spec.path);
  }
}

function summaryOf(source: DatasetSource): DatasetSummary {
  return {
    kind: source.kind,
    name: source.name,
    ...(source.split ? { split: source.split } : {}),
    ...(source.revision ? { revision: source.revision } : {}),
    available: source.size,
  };
}

interface UtteranceLoader {
  decoder: AudioDecoder;
  resampler: Resampler;
  probeAudio: typeof import('../audio/decode.js').probeAudio;
  maxSeconds: number | undefined;
}

async function* loadUtterances(
  source: DatasetSource,
  records: AsyncIterable<SourceRecord>,
  loader: UtteranceLoader,
  maxFailed: number,
): AsyncGenerator<Utterance | FailedUtterance> {
  const failed: FailedUtterance[] = [];
  const seen = new Set<string>();
  for await (const record of records) {
    if (seen.has(record.id)) {
      throw new QuantgateError(
        `utterance id "${record.id}" occurs twice in ${source.name}; ids must be unique — fix the dataset${source.kind === 'parquet' ? ' or set --id-column' : ''}`,
      );
    }
    seen.add(record.id);
    const item = await loadUtterance(record, loader);
    if (isFailedUtterance(item)) {
      failed.push(item);
      if (failed.length > maxFailed) throw tooManyFailures(failed, maxFailed);
    }
    yield item;
  }
}

async function loadUtterance(
  record: SourceRecord,
  { decoder, resampler, probeAudio, maxSeconds }: UtteranceLoader,
): Promise<Utterance | FailedUtterance> {
  const checkDuration = (frames: number | undefined, rate: number) => {
    if (maxSeconds !== undefined && frames !== undefined && frames / rate > maxSeconds) {
      throw new QuantgateError(
        `its audio lasts ${(frames / rate).toFixed(1)} s, over --max-duration ${maxSeconds} s; raise --max-duration or remove the utterance`,
      );
    }
  };
  try {
    const { text, audio } = await record.load();
    const header = probeAudio(audio);
    checkDuration(header.frames, header.sampleRate);
    const decoded = await decoder.decode(audio);
    checkDuration(decoded.samples.length, decoded.sampleRate);
    return {
      id: record.id,
      text,
      audio: await resampler.resample(decoded.samples, decoded.sampleRate),
      sampleRate: resampler.targetRate,
    };
  } catch (error) {
    if (error instanceof QuantgateError) return { id: record.id, error: error.message };
    throw error;
  }
}

function tooManyFailures(failed: FailedUtterance[], maxFailed: number): QuantgateError {
  const shown = failed.slice(0, 5).map(({ id, error }) => `${id} (${error})`);
  const more = failed.length > shown.length ? `, and ${failed.length - shown.length} more` : '';
  return new QuantgateError(
    `${failed.length} utterance${failed.length === 1 ? '' : 's'} failed, more than --max-failed-utterances ${maxFailed} allows: ${shown.join(', ')}${more}; fix or remove them, or raise --max-failed-utterances`,
  );
}
