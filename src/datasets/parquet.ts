// Hugging Face parquet datasets (local files or http(s) URLs), read one row group at a time:
// only the footers are read up front, then just the audio, text and id columns of the row groups
// that hold the requested rows. The audio column is the Hub's Audio feature, a struct whose
// `bytes` field holds the encoded file (openslr/librispeech_asr: FLAC), or a plain binary column.
// Files are read in name order, rows in file order.
// The bytes are parsed in a child process (parquet-child.ts), never in quantgate's own: this side
// opens the files and feeds it byte ranges; a reader that fails, runs out of memory, stalls or is
// aborted becomes one QuantgateError naming the file, the row group and the cause. One reader
// process serves the sources open in this process in turn, and outlives the last of them briefly,
// so that sources opened one after another do not each pay for a process start.

import { debugLog } from '../common/debug.js';
import { QuantgateError } from '../common/errors.js';
import { ChildFailure, ChildFault, IsolatedProcess } from '../common/isolated-process.js';
import type { ColumnSummary, OpenParams, OpenResult, ReadParams } from './parquet-child.js';
import { openRandomAccess, type HttpOptions, type RandomAccessFile } from './random-access.js';
import type { DatasetSource, SourceRecord } from './source.js';

export interface ParquetColumns {
  audio: string;
  text: string;
  /** Without one, a column named `id` is used if present, else the row's position in the dataset. */
  id?: string;
}

export interface ParquetSourceOptions {
  /** Local paths or http(s) URLs. */
  files: string[];
  /** The repository id, for reports; defaults to the file list. */
  name?: string;
  split?: string;
  revision?: string;
  columns?: Partial<ParquetColumns>;
  http?: HttpOptions;
  /** Aborting it stops the reader's process at once; the pending read rejects with its reason. */
  signal?: AbortSignal;
}

interface OpenedFile {
  file: RandomAccessFile;
  /** The reader process's name for the file, unique in this process. */
  index: number;
  /** Rows per row group. */
  groupRows: number[];
  columns: ColumnSummary[];
  /** Index of this file's first row in the whole dataset. */
  firstRow: number;
  rows: number;
}

const DEFAULT_COLUMNS = { audio: 'audio', text: 'text', id: 'id' };
/**
 * The reader process's heap: far above what decoding a row group of a speech dataset needs (audio
 * bytes live outside the heap), well below what would starve the models in a small runner.
 */
const READER_HEAP_MB = 512;
/** A footer or row group whose decoding reports no progress (a page) for this long is stopped. */
const READER_STALL_MS = 30_000;
/**
 * How long the reader process outlives the last source that used it: long enough for the next
 * source of a sequence (the shards of a job, the fuzzer's inputs) to find it running, short
 * enough that it does not idle through the rest of a run.
 */
const READER_LINGER_MS = 2000;
const CORRUPT = 'the file is corrupt — download it again';
const LACKING =
  'the file is corrupt or uses a parquet feature this reader lacks — download it again or re-save it with snappy compression';

export async function openParquetSource(options: ParquetSourceOptions): Promise<DatasetSource> {
  if (options.files.length === 0)
    throw new QuantgateError('no parquet files given for the dataset; pass at least one parquet path or URL');
  const locations = [...options.files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const reader = useReader(options.signal);
  const handles = new Map<number, RandomAccessFile>();
  const close = async () => {
    reader.release();
    await Promise.all([...handles.values()].map((file) => file.close()));
  };
  try {
    const opened: OpenedFile[] = [];
    let firstRow = 0;
    for (const location of locations) {
      const file = await openRandomAccess(location, options.http);
      const index = nextFileIndex++;
      handles.set(index, file);
      const summary = await ask<OpenResult>(
        reader,
        handles,
        'open',
        { file: index, byteLength: file.byteLength } satisfies OpenParams,
        (cause) => `${location} is not a readable parquet file (${cause}); download it again`,
      );
      opened.push({
        file,
        index,
        groupRows: summary.groupRows,
        columns: summary.columns,
        firstRow,
        rows: summary.rows,
      });
      firstRow += summary.rows;
    }
    const columns = resolveColumns(opened, options.columns ?? {});
    return {
      kind: 'parquet',
      name:
        options.name ??
        (locations.length === 1 ? locations[0] : `${locations[0]} and ${locations.length - 1} more files`),
      split: options.split,
      revision: options.revision,
      size: firstRow,
      records: (start, end) => readRecords(reader, handles, opened, columns, start, end),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

const readerProcess = new IsolatedProcess({
  entry: new URL('./parquet-child.js', import.meta.url),
  heapMb: READER_HEAP_MB,
  stallMs: READER_STALL_MS,
});
let readerUsers = 0;
let readerLingering: NodeJS.Timeout | undefined;
let nextFileIndex = 0;

/** One source's use of the reader process: its requests carry the source's signal. */
interface ReaderUse {
  request<T>(
    method: 'open' | 'read',
    params: OpenParams | ReadParams,
    onCall: Parameters<IsolatedProcess['request']>[2],
  ): Promise<T>;
  /** The source is done; the process ends READER_LINGER_MS after its last user leaves, unless another comes. */
  release(): void;
}

function useReader(signal: AbortSignal | undefined): ReaderUse {
  readerUsers++;
  clearTimeout(readerLingering);
  let released = false;
  return {
    request: (method, params, onCall) => readerProcess.request(method, params, onCall, signal),
    release() {
      if (released) return;
      released = true;
      if (--readerUsers > 0) return;
      // Unreferenced: the timer must not keep quantgate alive, and at exit the child is killed anyway.
      readerLingering = setTimeout(() => void readerProcess.close(), READER_LINGER_MS).unref();
    },
  };
}

/** Checks every file has the columns, with types a reader can use; resolves the id column. */
function resolveColumns(files: OpenedFile[], wanted: Partial<ParquetColumns>): ParquetColumns {
  const audio = wanted.audio ?? DEFAULT_COLUMNS.audio;
  const text = wanted.text ?? DEFAULT_COLUMNS.text;
  const id =
    wanted.id ??
    (files[0].columns.some((column) => column.name === DEFAULT_COLUMNS.id) ? DEFAULT_COLUMNS.id : undefined);
  for (const { file, columns } of files) {
    const require = (
      name: string,
      option: string,
      role: string,
      fits: (column: ColumnSummary) => boolean,
      shape: string,
    ) => {
      const column = columns.find((candidate) => candidate.name === name);
      if (!column)
        throw new QuantgateError(
          `${file.location}: no column "${name}" (columns: ${columns.map((candidate) => candidate.name).join(', ')}); set ${option} to the column holding the ${role}`,
        );
      if (!fits(column))
        throw new QuantgateError(
          `${file.location}: column "${name}" is ${column.description}, not ${shape}; set ${option} to the column holding the ${role}`,
        );
    };
    require(audio, '--audio-column', 'audio', (column) =>
      column.binary || column.audioStruct, 'audio (a struct with a binary "bytes" field, or binary)');
    require(text, '--text-column', 'transcripts', (column) => column.binary, 'text');
    if (id !== undefined)
      require(id, '--id-column', 'utterance ids', (column) => column.binary || column.integer, 'a string or integer');
  }
  return { audio, text, id };
}

async function* readRecords(
  reader: ReaderUse,
  handles: Map<number, RandomAccessFile>,
  files: OpenedFile[],
  columns: ParquetColumns,
  start: number,
  end: number,
): AsyncGenerator<SourceRecord> {
  const names = [columns.audio, columns.text, ...(columns.id ? [columns.id] : [])];
  for (const { file, index, groupRows, firstRow, rows } of files) {
    if (firstRow + rows <= start || firstRow >= end) continue;
    let groupStart = 0;
    for (const [rowGroup, groupSize] of groupRows.entries()) {
      const groupEnd = groupStart + groupSize;
      const from = Math.max(groupStart, start - firstRow);
      const to = Math.min(groupEnd, end - firstRow);
      if (from < to) {
        const params: ReadParams = {
          file: index,
          byteLength: file.byteLength,
          rowGroup,
          rowStart: from,
          rowEnd: to,
          columns: names,
        };
        const values = await ask<Record<string, unknown>[]>(
          reader,
          handles,
          'read',
          params,
          (cause, lacking) => `${file.location}, row group ${rowGroup}: ${cause}; ${lacking ? LACKING : CORRUPT}`,
        );
        for (const [offset, row] of values.entries()) yield toRecord(row, columns, firstRow + from + offset);
      }
      groupStart = groupEnd;
    }
  }
}

/**
 * One request to the reader process, its slice calls answered from `handles`. Failures become a
 * QuantgateError whose message `explain(cause, lacking)` words: it names the file (and row group),
 * the cause in our words, and the fix; `lacking` says the cause may be a parquet feature this
 * reader lacks rather than corruption. A library's own text goes only to debug output
 * (QUANTGATE_DEBUG=1). Errors reading the file (network, truncation) and an abort pass through.
 */
async function ask<T>(
  reader: ReaderUse,
  handles: Map<number, RandomAccessFile>,
  method: 'open' | 'read',
  params: OpenParams | ReadParams,
  explain: (cause: string, lacking: boolean) => string,
): Promise<T> {
  try {
    return await reader.request<T>(method, params, async (_call, args) => {
      const { file, start, end } = args as { file: number; start: number; end: number };
      return handles.get(file)!.slice(start, end);
    });
  } catch (error) {
    if (error instanceof ChildFailure) {
      debug(error.library);
      return fail(
        explain(error.verdict ?? 'the parquet reader failed on its data', error.library !== undefined),
        error,
      );
    }
    if (error instanceof ChildFault) {
      debug(error.detail);
      const cause =
        error.fault === 'stalled'
          ? `the parquet reader made no progress for ${READER_STALL_MS / 1000} s and was stopped`
          : error.fault === 'out of memory'
            ? `decoding it needed more than the reader's ${READER_HEAP_MB} MB of memory`
            : 'the parquet reader crashed on it';
      return fail(explain(cause, false), error);
    }
    throw error;
  }
}

function fail(message: string, cause: unknown): never {
  throw new QuantgateError(message, { cause });
}

function debug(text: string | undefined): void {
  if (text) debugLog('parquet reader', text);
}

function toRecord(row: Record<string, unknown>, columns: ParquetColumns, index: number): SourceRecord {
  const rawId = columns.id ? row[columns.id] : undefined;
  const id = rawId === undefined || rawId === null ? String(index) : typeof rawId === 'string' ? rawId : String(rawId);
  return {
    id,
    load: async () => {
      const text = asText(row[columns.text]);
      if (text === undefined)
        throw new QuantgateError(
          `row ${index} has no transcript in column "${columns.text}"; fix the dataset or remove the row`,
        );
      return { text, audio: audioBytes(row[columns.audio], columns.audio, index) };
    },
  };
}

function audioBytes(value: unknown, column: string, index: number): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'object' && value !== null && 'bytes' in value && value.bytes instanceof Uint8Array)
    return value.bytes;
  const path =
    typeof value === 'object' && value !== null && 'path' in value && typeof value.path === 'string'
      ? ` (only a path, ${value.path})`
      : '';
  throw new QuantgateError(
    `row ${index} has no audio bytes in column "${column}"${path}; use a dataset revision that embeds the audio, such as refs/convert/parquet`,
  );
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}
