// Hugging Face parquet datasets (local files or http(s) URLs), read one row group at a time:
// only the footers are read up front, then just the audio, text and id columns of the row groups
// that hold the requested rows. The audio column is the Hub's Audio feature, a struct whose
// `bytes` field holds the encoded file (openslr/librispeech_asr: FLAC), or a plain binary column.
// Files are read in name order, rows in file order.

import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData, type SchemaTree } from 'hyparquet';
import { QuantgateError, describeError } from '../common/errors.js';
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
}

interface OpenedFile {
  file: RandomAccessFile;
  metadata: FileMetaData;
  /** Index of this file's first row in the whole dataset. */
  firstRow: number;
  rows: number;
}

const DEFAULT_COLUMNS = { audio: 'audio', text: 'text', id: 'id' };
/** The first footer read guesses the metadata's size; a larger footer costs one more read. */
const FOOTER_GUESS_BYTES = 64 * 1024;

export async function openParquetSource(options: ParquetSourceOptions): Promise<DatasetSource> {
  if (options.files.length === 0) throw new QuantgateError('no parquet files given for the dataset; pass at least one parquet path or URL');
  const locations = [...options.files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const handles: RandomAccessFile[] = [];
  try {
    const opened: OpenedFile[] = [];
    let firstRow = 0;
    for (const location of locations) {
      const file = await openRandomAccess(location, options.http);
      handles.push(file);
      const metadata = await readMetadata(file);
      const rows = Number(metadata.num_rows);
      opened.push({ file, metadata, firstRow, rows });
      firstRow += rows;
    }
    const columns = resolveColumns(opened, options.columns ?? {});
    return {
      kind: 'parquet',
      name: options.name ?? (locations.length === 1 ? locations[0] : `${locations[0]} and ${locations.length - 1} more files`),
      split: options.split,
      revision: options.revision,
      size: firstRow,
      records: (start, end) => readRecords(opened, columns, start, end),
      close: () => closeAll(handles),
    };
  } catch (error) {
    await closeAll(handles);
    throw error;
  }
}

async function readMetadata(file: RandomAccessFile): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(file, { initialFetchSize: FOOTER_GUESS_BYTES });
  } catch (error) {
    if (error instanceof QuantgateError) throw error;
    throw new QuantgateError(`${file.location} is not a readable parquet file (${describeError(error)}); download it again`, { cause: error });
  }
}

/** Checks every file has the columns, with types a reader can use; resolves the id column. */
function resolveColumns(files: OpenedFile[], wanted: Partial<ParquetColumns>): ParquetColumns {
  const audio = wanted.audio ?? DEFAULT_COLUMNS.audio;
  const text = wanted.text ?? DEFAULT_COLUMNS.text;
  const id = wanted.id ?? (topColumns(files[0].metadata).has(DEFAULT_COLUMNS.id) ? DEFAULT_COLUMNS.id : undefined);
  for (const { file, metadata } of files) {
    const top = topColumns(metadata);
    const require = (name: string, option: string, role: string, fits: (column: SchemaTree) => boolean, shape: string) => {
      const column = top.get(name);
      if (!column) throw new QuantgateError(`${file.location}: no column "${name}" (columns: ${[...top.keys()].join(', ')}); set ${option} to the column holding the ${role}`);
      if (!fits(column)) throw new QuantgateError(`${file.location}: column "${name}" is ${describeColumn(column)}, not ${shape}; set ${option} to the column holding the ${role}`);
    };
    require(audio, '--audio-column', 'audio', isAudioColumn, 'audio (a struct with a binary "bytes" field, or binary)');
    require(text, '--text-column', 'transcripts', isBinary, 'text');
    if (id !== undefined) require(id, '--id-column', 'utterance ids', (column) => isBinary(column) || ['INT32', 'INT64'].includes(column.element.type ?? ''), 'a string or integer');
  }
  return { audio, text, id };
}

function topColumns(metadata: FileMetaData): Map<string, SchemaTree> {
  return new Map(parquetSchema(metadata).children.map((child) => [child.element.name, child]));
}

async function* readRecords(files: OpenedFile[], columns: ParquetColumns, start: number, end: number): AsyncGenerator<SourceRecord> {
  const names = [columns.audio, columns.text, ...(columns.id ? [columns.id] : [])];
  for (const { file, metadata, firstRow, rows } of files) {
    if (firstRow + rows <= start || firstRow >= end) continue;
    let groupStart = 0;
    for (const [groupIndex, group] of metadata.row_groups.entries()) {
      const groupEnd = groupStart + Number(group.num_rows);
      const from = Math.max(groupStart, start - firstRow);
      const to = Math.min(groupEnd, end - firstRow);
      if (from < to) {
        let values;
        try {
          // utf8: false keeps the audio bytes binary; string-annotated columns still decode as text.
          values = await parquetReadObjects({ file, metadata, columns: names, rowStart: from, rowEnd: to, utf8: false });
        } catch (error) {
          if (error instanceof QuantgateError) throw error;
          throw new QuantgateError(`${file.location}: cannot read row group ${groupIndex} (${describeError(error)}); the file is corrupt or uses an encoding this reader lacks — download it again or re-save it with snappy compression`, { cause: error });
        }
        for (const [offset, row] of values.entries()) yield toRecord(row, columns, firstRow + from + offset);
      }
      groupStart = groupEnd;
    }
  }
}

function toRecord(row: Record<string, unknown>, columns: ParquetColumns, index: number): SourceRecord {
  const rawId = columns.id ? row[columns.id] : undefined;
  const id = rawId === undefined || rawId === null ? String(index) : typeof rawId === 'string' ? rawId : String(rawId);
  return {
    id,
    load: async () => {
      const text = asText(row[columns.text]);
      if (text === undefined) throw new QuantgateError(`row ${index} has no transcript in column "${columns.text}"; fix the dataset or remove the row`);
      return { text, audio: audioBytes(row[columns.audio], columns.audio, index) };
    },
  };
}

function audioBytes(value: unknown, column: string, index: number): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'object' && value !== null && 'bytes' in value && value.bytes instanceof Uint8Array) return value.bytes;
  const path = typeof value === 'object' && value !== null && 'path' in value && typeof value.path === 'string' ? ` (only a path, ${value.path})` : '';
  throw new QuantgateError(`row ${index} has no audio bytes in column "${column}"${path}; use a dataset revision that embeds the audio, such as refs/convert/parquet`);
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}

function isBinary(column: SchemaTree): boolean {
  return column.children.length === 0 && column.element.type === 'BYTE_ARRAY';
}

function isAudioColumn(column: SchemaTree): boolean {
  return isBinary(column) || column.children.some((child) => child.element.name === 'bytes' && isBinary(child));
}

function describeColumn(column: SchemaTree): string {
  if (column.children.length > 0) return `a struct of ${column.children.map((child) => child.element.name).join(', ')}`;
  return column.element.converted_type ?? column.element.type ?? 'untyped';
}

async function closeAll(files: RandomAccessFile[]): Promise<void> {
  await Promise.all(files.map((file) => file.close()));
}
