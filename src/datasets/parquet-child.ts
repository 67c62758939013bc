// The parquet reader's child process (started by parquet.ts through common/isolated-process.ts):
// everything that parses a dataset's parquet bytes runs here, so a fault in hyparquet ends this
// process and not quantgate. The parent owns the files (local or HTTP) and answers `slice` calls
// with their bytes; this side parses footers and row groups, checks them first (parquet-checks.ts),
// and returns plain values.
//
//   open { file, byteLength }  → { rows, groupRows: number[], columns: ColumnSummary[] }
//   read { file, byteLength, rowGroup, rowStart, rowEnd, columns } → rows, as objects by column
// `file` is the parent's name for the file, never reused; `rowStart`/`rowEnd` count rows within it.
// The process serves one dataset after another, so it keeps the footers of recent files only.

import { parquetMetadata, parquetReadObjects, parquetSchema, type FileMetaData, type SchemaTree } from 'hyparquet';
import { serveParent, type ChildContext } from '../common/isolated-process.js';
import { QuantgateError } from '../common/errors.js';
import { checkColumnChunk, checkFileMetadata, checkFooterTail, chunkRange } from './parquet-checks.js';

/** A top-level column, as the parent needs it to pick and check the audio, text and id columns. */
export interface ColumnSummary {
  name: string;
  /** A leaf of bytes (BYTE_ARRAY). */
  binary: boolean;
  /** A leaf of integers (INT32, INT64). */
  integer: boolean;
  /** A struct with a binary `bytes` field: the Hub's Audio feature. */
  audioStruct: boolean;
  /** Its type or fields, for messages. */
  description: string;
}

export interface OpenParams {
  file: number;
  byteLength: number;
}

export interface OpenResult {
  rows: number;
  groupRows: number[];
  columns: ColumnSummary[];
}

export interface ReadParams extends OpenParams {
  rowGroup: number;
  rowStart: number;
  rowEnd: number;
  columns: string[];
}

/** The first read of the footer guesses its size; a larger footer costs one more read. */
const FOOTER_GUESS_BYTES = 64 * 1024;

/** Footers kept: a file read again after this many others were opened costs one more footer read. */
const FOOTERS_KEPT = 64;
const opened = new Map<number, FileMetaData>();

serveParent({
  open: async (params: OpenParams, context) => summarize(await metadataOf(params, context)),
  read: async (params: ReadParams, context) => readRows(params, context),
});

async function metadataOf({ file, byteLength }: OpenParams, context: ChildContext): Promise<FileMetaData> {
  const known = opened.get(file);
  if (known) return known;
  const source = remoteFile(file, byteLength, context);
  const guess = Math.min(FOOTER_GUESS_BYTES, byteLength);
  let footer = new Uint8Array(await source.slice(byteLength - guess, byteLength));
  const length = checkFooterTail(footer.subarray(footer.length - 8), byteLength);
  if (length + 8 > footer.length) footer = new Uint8Array(await source.slice(byteLength - length - 8, byteLength));
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(footer.subarray(footer.length - length - 8));
  } catch (error) {
    throw new Error('its footer metadata is malformed', { cause: error });
  }
  checkFileMetadata(metadata, byteLength);
  opened.set(file, metadata);
  if (opened.size > FOOTERS_KEPT) opened.delete(opened.keys().next().value!);
  return metadata;
}

function summarize(metadata: FileMetaData): OpenResult {
  const isBinary = (column: SchemaTree) => column.children.length === 0 && column.element.type === 'BYTE_ARRAY';
  const columns = parquetSchema(metadata).children.map((column): ColumnSummary => ({
    name: column.element.name,
    binary: isBinary(column),
    integer: column.children.length === 0 && ['INT32', 'INT64'].includes(column.element.type ?? ''),
    audioStruct: column.children.some((child) => child.element.name === 'bytes' && isBinary(child)),
    description:
      column.children.length > 0
        ? `a struct of ${column.children.map((child) => child.element.name).join(', ')}`
        : (column.element.converted_type ?? column.element.type ?? 'untyped'),
  }));
  return {
    rows: Number(metadata.num_rows),
    groupRows: metadata.row_groups.map((group) => Number(group.num_rows)),
    columns,
  };
}

async function readRows(params: ReadParams, context: ChildContext): Promise<Record<string, unknown>[]> {
  const metadata = await metadataOf(params, context);
  const group = metadata.row_groups[params.rowGroup];
  if (!group) throw new QuantgateError(`the file has no row group ${params.rowGroup}`);
  const file = cachingFile(remoteFile(params.file, params.byteLength, context));
  const tree = parquetSchema(metadata);
  for (const chunk of group.columns) {
    const meta = chunk.meta_data!;
    if (!params.columns.includes(meta.path_in_schema[0]!)) continue;
    const column = meta.path_in_schema.join('.');
    const levels = levelsOf(tree, meta.path_in_schema);
    // Without repetition, a column holds one value (or null) per row.
    if (levels.maxRepetitionLevel === 0 && meta.num_values !== group.num_rows) {
      throw new QuantgateError(
        `column "${column}" holds ${meta.num_values} values, but its row group declares ${group.num_rows} rows`,
      );
    }
    const { start, end } = chunkRange(meta);
    const bytes = new Uint8Array(await file.slice(start, end));
    file.keep(start, bytes);
    checkColumnChunk(bytes, { column, codec: meta.codec, values: Number(meta.num_values), ...levels });
    context.progress();
  }
  try {
    // utf8: false keeps the audio bytes binary; string-annotated columns still decode as text.
    return await parquetReadObjects({
      file,
      metadata,
      columns: params.columns,
      rowStart: params.rowStart,
      rowEnd: params.rowEnd,
      utf8: false,
      onPage: () => context.progress(),
    });
  } catch (error) {
    throw new Error('the parquet decoder rejected its data', { cause: error });
  }
}

/** The highest repetition and definition levels of a column: its repeated and its optional ancestors. */
function levelsOf(tree: SchemaTree, path: string[]): { maxRepetitionLevel: number; maxDefinitionLevel: number } {
  let node = tree;
  let maxRepetitionLevel = 0;
  let maxDefinitionLevel = 0;
  for (const name of path) {
    const child = node.children.find((candidate) => candidate.element.name === name);
    if (!child) throw new QuantgateError(`a column chunk names column "${path.join('.')}", which the schema lacks`);
    if (child.element.repetition_type === 'REPEATED') maxRepetitionLevel++;
    if (child.element.repetition_type !== 'REQUIRED') maxDefinitionLevel++;
    node = child;
  }
  if (node.children.length > 0)
    throw new QuantgateError(`a column chunk names column "${path.join('.')}", which is a group, not a leaf`);
  return { maxRepetitionLevel, maxDefinitionLevel };
}

interface ByteSource {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
}

function remoteFile(file: number, byteLength: number, context: ChildContext): ByteSource {
  return {
    byteLength,
    slice: async (start, end = byteLength) => (await context.call('slice', { file, start, end })) as ArrayBuffer,
  };
}

/**
 * Keeps the byte ranges read while checking a row group, so that hyparquet, which reads the same
 * column chunks (merged with small gaps between them), asks the parent only for what is missing.
 */
function cachingFile(source: ByteSource): ByteSource & { keep(start: number, bytes: Uint8Array): void } {
  const pieces: { start: number; bytes: Uint8Array }[] = [];
  return {
    byteLength: source.byteLength,
    keep(start, bytes) {
      pieces.push({ start, bytes });
      pieces.sort((a, b) => a.start - b.start);
    },
    async slice(start, end = source.byteLength) {
      const output = new Uint8Array(Math.max(0, end - start));
      let at = start;
      for (const piece of pieces) {
        const pieceEnd = piece.start + piece.bytes.length;
        if (pieceEnd <= at || piece.start >= end) continue;
        if (piece.start > at) output.set(new Uint8Array(await source.slice(at, piece.start)), at - start);
        const from = Math.max(at, piece.start);
        const to = Math.min(end, pieceEnd);
        output.set(piece.bytes.subarray(from - piece.start, to - piece.start), from - start);
        at = to;
      }
      if (at < end) output.set(new Uint8Array(await source.slice(at, end)), at - start);
      return output.buffer;
    },
  };
}
