// Checks on a parquet file's structure, made before hyparquet decodes it, so that the common
// corruptions get a precise message instead of a crash, a hang or a runaway allocation inside the
// library (docs/ROBUSTNESS.md lists what hyparquet 1.33 does with each). Checked: the footer's
// counts and offsets, the schema's child counts, and every page header of the column chunks read,
// parsed here with a bounded Thrift reader of our own; for pages stored uncompressed, and for the
// levels of v2 pages (never compressed), the run lengths of the repetition and definition levels.
// Every failure is a QuantgateError whose message names the part at fault, without a fix (the
// caller adds the file, the row group and what to do).

import type { ColumnMetaData, FileMetaData, SchemaElement } from 'hyparquet';
import { QuantgateError } from '../common/errors.js';

/** hyparquet decodes these codecs itself; other codecs need decompressors it does not have. */
const SUPPORTED_CODECS = new Set(['UNCOMPRESSED', 'SNAPPY']);
/** A page larger than this is refused: no writer makes one, and it would be allocated whole. */
const MAX_PAGE_BYTES = 1 << 30;
const MAX_SCHEMA_DEPTH = 64;
const PARQUET_MAGIC = 0x31524150; // "PAR1", little-endian

/** The footer's length, from the last 8 bytes of the file: metadata length, then "PAR1". */
export function checkFooterTail(tail: Uint8Array, fileBytes: number): number {
  if (fileBytes < 12) throw new QuantgateError(`it has ${fileBytes} bytes, too few for a parquet file`);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (view.getUint32(4, true) !== PARQUET_MAGIC)
    throw new QuantgateError('it does not end with the parquet marker PAR1');
  const length = view.getUint32(0, true);
  if (length > fileBytes - 12)
    throw new QuantgateError(
      `its footer declares ${length} bytes of metadata, but the file has only ${fileBytes - 12} bytes before it`,
    );
  return length;
}

/** Checks the metadata hyparquet parsed from the footer, before anything else uses it. */
export function checkFileMetadata(metadata: FileMetaData, fileBytes: number): void {
  checkSchema(metadata.schema);
  const rows = metadata.num_rows;
  if (typeof rows !== 'bigint' || rows < 0n)
    throw new QuantgateError(`its footer declares ${describeCount(rows)} rows`);
  if (!Array.isArray(metadata.row_groups)) throw new QuantgateError('its footer lists no row groups');
  let groupRows = 0n;
  const dataEnd = fileBytes - 8 - metadata.metadata_length;
  for (const [index, group] of metadata.row_groups.entries()) {
    const where = `row group ${index}`;
    if (typeof group.num_rows !== 'bigint' || group.num_rows < 0n)
      throw new QuantgateError(`${where} declares ${describeCount(group.num_rows)} rows`);
    groupRows += group.num_rows;
    if (!Array.isArray(group.columns)) throw new QuantgateError(`${where} lists no column chunks`);
    for (const [columnIndex, column] of group.columns.entries()) {
      const meta = column.meta_data;
      if (!meta)
        throw new QuantgateError(
          `${where}, column chunk ${columnIndex} has no metadata (an encrypted or external chunk, which this reader does not support)`,
        );
      checkChunkMetadata(meta, `${where}, column "${(meta.path_in_schema ?? []).join('.')}"`, dataEnd);
    }
  }
  if (groupRows !== rows)
    throw new QuantgateError(`its footer declares ${rows} rows, but its row groups hold ${groupRows}`);
}

function checkChunkMetadata(meta: ColumnMetaData, where: string, dataEnd: number): void {
  if (!Array.isArray(meta.path_in_schema) || meta.path_in_schema.length === 0)
    throw new QuantgateError(`${where} names no column`);
  const counts: [string, unknown][] = [
    ['values', meta.num_values],
    ['compressed bytes', meta.total_compressed_size],
    ['data page offset', meta.data_page_offset],
  ];
  if (meta.dictionary_page_offset !== undefined) counts.push(['dictionary page offset', meta.dictionary_page_offset]);
  for (const [name, value] of counts) {
    if (typeof value !== 'bigint' || value < 0n)
      throw new QuantgateError(`${where} declares ${describeCount(value)} ${name}`);
  }
  const { start, end } = chunkRange(meta);
  if (start < 4 || end > dataEnd)
    throw new QuantgateError(
      `${where} lies at bytes ${start} to ${end}, outside the file's data (bytes 4 to ${dataEnd})`,
    );
}

/**
 * The byte range of a column chunk, as hyparquet reads it: from the dictionary page offset if set
 * (not 0), else the data page offset, for the chunk's compressed size.
 */
export function chunkRange(meta: ColumnMetaData): { start: number; end: number } {
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
  return { start, end: start + Number(meta.total_compressed_size) };
}

/**
 * The schema is a tree stored depth-first, each element saying how many children follow; hyparquet
 * builds it trusting those counts. Every count must be whole and fit in the elements that remain.
 */
function checkSchema(schema: SchemaElement[]): void {
  if (!Array.isArray(schema) || schema.length === 0) throw new QuantgateError('its footer has no schema');
  const remaining: number[] = []; // children still to come, per open ancestor
  for (const [index, element] of schema.entries()) {
    if (typeof element.name !== 'string' || element.name === '')
      throw new QuantgateError(`schema element number ${index} has no name`);
    const name = `"${element.name}"`;
    if (index > 0) {
      if (remaining.length === 0)
        throw new QuantgateError(
          `its schema has ${schema.length - index} elements past the end of the tree its root declares`,
        );
      remaining[remaining.length - 1]!--;
    }
    const children = element.num_children;
    if (children !== undefined && children !== 0) {
      if (!Number.isInteger(children) || children < 0)
        throw new QuantgateError(`schema element ${name} declares ${describeCount(children)} children`);
      if (children > schema.length - index - 1) {
        throw new QuantgateError(
          `schema element ${name} declares ${children} children, but only ${schema.length - index - 1} elements follow it`,
        );
      }
      if (remaining.length >= MAX_SCHEMA_DEPTH)
        throw new QuantgateError(`its schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
      remaining.push(children);
    } else if (index === 0) {
      throw new QuantgateError('its schema has no columns');
    } else if (element.type === undefined) {
      throw new QuantgateError(`schema element ${name} has neither a type nor children`);
    }
    while (remaining.length > 0 && remaining[remaining.length - 1] === 0) remaining.pop();
  }
  if (remaining.length > 0)
    throw new QuantgateError(`its schema ends before the ${remaining.at(-1)} more children an element declares`);
}

/** What the page checks need to know about one column chunk. */
export interface ChunkLayout {
  /** The column's dotted path, for messages. */
  column: string;
  codec: string;
  /** Values the chunk's metadata declares (nulls included). */
  values: number;
  maxRepetitionLevel: number;
  maxDefinitionLevel: number;
}

const DATA_PAGE = 0;
const INDEX_PAGE = 1;
const DICTIONARY_PAGE = 2;
const DATA_PAGE_V2 = 3;
/** Encodings hyparquet decodes values with; the numbers are parquet.thrift's. */
const VALUE_ENCODINGS = new Map([
  [0, 'PLAIN'],
  [2, 'PLAIN_DICTIONARY'],
  [3, 'RLE'],
  [5, 'DELTA_BINARY_PACKED'],
  [6, 'DELTA_LENGTH_BYTE_ARRAY'],
  [7, 'DELTA_BYTE_ARRAY'],
  [8, 'RLE_DICTIONARY'],
  [9, 'BYTE_STREAM_SPLIT'],
]);

/** Walks every page header of a column chunk's bytes and checks what it declares. */
export function checkColumnChunk(bytes: Uint8Array, layout: ChunkLayout): void {
  if (!SUPPORTED_CODECS.has(layout.codec))
    throw new QuantgateError(
      `column "${layout.column}" is compressed with ${layout.codec || 'an unknown codec'}, which this reader does not support`,
    );
  let values = 0;
  let offset = 0;
  for (let page = 0; offset < bytes.length; page++) {
    const where = `column "${layout.column}", page ${page}`;
    const reader = new CompactReader(bytes, offset, bytes.length, `the header of ${where}`);
    const header = reader.struct();
    const start = reader.offset;
    const type = int(header, 1, `${where}: its header`, 'page type', 0, 3);
    const uncompressed = int(header, 2, `${where}: its header`, 'uncompressed size', 0, MAX_PAGE_BYTES);
    const compressed = int(header, 3, `${where}: its header`, 'compressed size', 0, MAX_PAGE_BYTES);
    if (compressed > bytes.length - start)
      throw new QuantgateError(
        `${where} declares ${compressed} bytes, but its column chunk ends ${bytes.length - start} bytes after the page header`,
      );
    const body = bytes.subarray(start, start + compressed);
    if (type === INDEX_PAGE) throw new QuantgateError(`${where} is an index page, which this reader does not support`);
    if (type === DICTIONARY_PAGE) {
      const dictionary = struct(header, 7, where, 'dictionary page header');
      // At least a bit per value (booleans); no writer makes a denser dictionary.
      int(dictionary, 1, `${where}: its dictionary page header`, 'value count', 0, uncompressed * 8);
    } else {
      const pageValues =
        type === DATA_PAGE
          ? checkDataPage(header, body, layout, where)
          : checkDataPageV2(header, body, uncompressed, compressed, layout, where);
      values += pageValues;
      if (values > layout.values)
        throw new QuantgateError(
          `${where} brings the column chunk to ${values} values, more than the ${layout.values} its metadata declares`,
        );
    }
    if (layout.codec === 'UNCOMPRESSED' && type !== DATA_PAGE_V2 && uncompressed !== compressed) {
      throw new QuantgateError(
        `${where} is stored uncompressed, yet declares ${uncompressed} bytes uncompressed and ${compressed} stored`,
      );
    }
    offset = start + compressed;
  }
  if (values !== layout.values)
    throw new QuantgateError(
      `column "${layout.column}" has pages holding ${values} values, but its metadata declares ${layout.values}`,
    );
}

function checkDataPage(header: ThriftStruct, body: Uint8Array, layout: ChunkLayout, where: string): number {
  const page = struct(header, 5, where, 'data page header');
  const context = `${where}: its data page header`;
  const values = int(page, 1, context, 'value count', 0, layout.values);
  valueEncoding(page, 2, context);
  if (layout.codec === 'UNCOMPRESSED') {
    // Each level stream starts with its length as 4 bytes, then the runs.
    let at = 0;
    for (const [max, kind] of [
      [layout.maxRepetitionLevel, 'repetition levels'],
      [layout.maxDefinitionLevel, 'definition levels'],
    ] as const) {
      if (max === 0) continue;
      if (body.length - at < 4) throw new QuantgateError(`${where} ends before its ${kind}`);
      const length = new DataView(body.buffer, body.byteOffset + at, 4).getUint32(0, true);
      if (length > body.length - at - 4)
        throw new QuantgateError(
          `${where} declares ${length} bytes of ${kind}, but only ${body.length - at - 4} follow`,
        );
      checkLevels(body.subarray(at + 4, at + 4 + length), max, values, `${where}: its ${kind}`);
      at += 4 + length;
    }
  }
  return values;
}

function checkDataPageV2(
  header: ThriftStruct,
  body: Uint8Array,
  uncompressed: number,
  compressed: number,
  layout: ChunkLayout,
  where: string,
): number {
  const page = struct(header, 8, where, 'data page v2 header');
  const context = `${where}: its data page v2 header`;
  const values = int(page, 1, context, 'value count', 0, layout.values);
  int(page, 2, context, 'null count', 0, values);
  int(page, 3, context, 'row count', 0, values);
  valueEncoding(page, 4, context);
  const definitionBytes = int(page, 5, context, 'definition levels byte length', 0, compressed);
  const repetitionBytes = int(page, 6, context, 'repetition levels byte length', 0, compressed - definitionBytes);
  if (definitionBytes + repetitionBytes > uncompressed) {
    throw new QuantgateError(
      `${context} puts ${definitionBytes + repetitionBytes} bytes of levels in a page of ${uncompressed} bytes`,
    );
  }
  // v2 levels come first, uncompressed and without a length prefix: repetition, then definition.
  if (layout.maxRepetitionLevel > 0)
    checkLevels(
      body.subarray(0, repetitionBytes),
      layout.maxRepetitionLevel,
      values,
      `${where}: its repetition levels`,
    );
  if (layout.maxDefinitionLevel > 0)
    checkLevels(
      body.subarray(repetitionBytes, repetitionBytes + definitionBytes),
      layout.maxDefinitionLevel,
      values,
      `${where}: its definition levels`,
    );
  return values;
}

function valueEncoding(page: ThriftStruct, field: number, context: string): void {
  const encoding = int(page, field, context, 'encoding', 0, Number.MAX_SAFE_INTEGER);
  if (!VALUE_ENCODINGS.has(encoding))
    throw new QuantgateError(`${context} names encoding ${encoding}, which this reader does not support`);
}

/**
 * Walks the runs of an RLE/bit-packed hybrid level stream: each run must fit in the stream, a
 * repeated level must be one the column can have, and no run may reach past the page's values.
 */
export function checkLevels(stream: Uint8Array, maxLevel: number, values: number, what: string): void {
  const bitWidth = 32 - Math.clz32(maxLevel);
  const valueBytes = Math.ceil(bitWidth / 8);
  const reader = new CompactReader(stream, 0, stream.length, what);
  let seen = 0;
  while (seen < values) {
    if (reader.offset >= stream.length)
      throw new QuantgateError(`${what} end after ${seen} of the page's ${values} values`);
    const header = reader.varint();
    const count = Math.floor(header / 2);
    if (header % 2 === 1) {
      // A bit-packed run: groups of 8 values, `bitWidth` bytes per group; its last group may pad.
      if (count * bitWidth > stream.length - reader.offset)
        throw new QuantgateError(`${what} have a bit-packed run of ${count * 8} values that ends past the page`);
      reader.offset += count * bitWidth;
      seen += count * 8;
    } else {
      if (count > values - seen)
        throw new QuantgateError(`${what} repeat a value ${count} times, past the page's ${values} values`);
      let level = 0;
      for (let i = 0; i < valueBytes; i++) level += reader.byte() * 2 ** (8 * i);
      if (level > maxLevel)
        throw new QuantgateError(`${what} hold level ${level}, above the column's maximum ${maxLevel}`);
      seen += count;
    }
  }
}

type ThriftValue = number | boolean | Uint8Array | ThriftValue[] | ThriftStruct;
type ThriftStruct = Map<number, ThriftValue>;

function struct(parent: ThriftStruct, field: number, where: string, name: string): ThriftStruct {
  const value = parent.get(field);
  if (!(value instanceof Map)) throw new QuantgateError(`${where} has no ${name}`);
  return value;
}

function int(parent: ThriftStruct, field: number, context: string, name: string, min: number, max: number): number {
  const value = parent.get(field);
  if (typeof value !== 'number') throw new QuantgateError(`${context} has no ${name}`);
  if (value < min || value > max)
    throw new QuantgateError(`${context} declares ${name} ${value}, outside ${min} to ${max}`);
  return value;
}

function describeCount(value: unknown): string {
  return typeof value === 'bigint' || typeof value === 'number' ? String(value) : 'no number of';
}

const MAX_THRIFT_DEPTH = 16;

/**
 * Thrift's compact protocol, read within [offset, end) only: integers come back as numbers (i64
 * beyond 2^53 lose precision, which only matters for values the checks refuse anyway), structs as
 * maps from field id to value. Lengths and counts are checked against the bytes left, so a
 * malformed header fails at once rather than allocating or looping.
 */
class CompactReader {
  constructor(
    private readonly bytes: Uint8Array,
    public offset: number,
    private readonly end: number,
    private readonly what: string,
  ) {}

  byte(): number {
    if (this.offset >= this.end)
      throw new QuantgateError(`${this.what} end${this.what.endsWith('s') ? '' : 's'} unexpectedly`);
    return this.bytes[this.offset++]!;
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new QuantgateError(`${this.what} hold${this.what.endsWith('s') ? '' : 's'} a malformed number`);
  }

  private zigzag(): number {
    const value = this.varint();
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  struct(depth = 0): ThriftStruct {
    if (depth > MAX_THRIFT_DEPTH) throw new QuantgateError(`${this.what} nests deeper than ${MAX_THRIFT_DEPTH} levels`);
    const fields: ThriftStruct = new Map();
    let field = 0;
    for (;;) {
      const head = this.byte();
      const type = head & 0x0f;
      if (type === 0) return fields;
      const delta = head >> 4;
      field = delta === 0 ? this.zigzag() : field + delta;
      fields.set(field, type === 1 ? true : type === 2 ? false : this.value(type, depth));
    }
  }

  private value(type: number, depth: number): ThriftValue {
    switch (type) {
      case 1: // bool inside a list: one byte
      case 2:
        return this.byte() === 1;
      case 3:
        return (this.byte() << 24) >> 24;
      case 4:
      case 5:
      case 6:
        return this.zigzag();
      case 7:
        this.skip(8);
        return 0;
      case 8: {
        const length = this.varint();
        const start = this.offset;
        this.skip(length);
        return this.bytes.subarray(start, start + length);
      }
      case 9:
      case 10: {
        const head = this.byte();
        const size = head >> 4 === 15 ? this.varint() : head >> 4;
        this.fits(size);
        const items: ThriftValue[] = [];
        for (let i = 0; i < size; i++) items.push(this.value(head & 0x0f, depth + 1));
        return items;
      }
      case 11: {
        const size = this.varint();
        if (size === 0) return [];
        const types = this.byte();
        this.fits(size * 2);
        const items: ThriftValue[] = [];
        for (let i = 0; i < size; i++)
          items.push(this.value(types >> 4, depth + 1), this.value(types & 0x0f, depth + 1));
        return items;
      }
      case 12:
        return this.struct(depth + 1);
      default:
        throw new QuantgateError(
          `${this.what} hold${this.what.endsWith('s') ? '' : 's'} a field of unknown type ${type}`,
        );
    }
  }

  private skip(length: number): void {
    this.fits(length);
    this.offset += length;
  }

  /** Every element takes at least a byte, so a count beyond the bytes left is malformed. */
  private fits(count: number): void {
    if (count > this.end - this.offset)
      throw new QuantgateError(
        `${this.what} declare${this.what.endsWith('s') ? '' : 's'} ${count} bytes or items, past its end`,
      );
  }
}
