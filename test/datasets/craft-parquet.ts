// Parquet files built byte by byte, for the reader's robustness tests: a Thrift compact-protocol
// writer and the few structures of parquet.thrift the tests need, so that a test can set any
// field to any value, or leave out a required one, which no parquet writer would do.

/** A Thrift value with its wire type. */
export type Thrift =
  | { i32: number }
  | { i64: number | bigint }
  | { binary: Uint8Array | string }
  | { bool: boolean }
  | { list: Thrift[]; of: 'i32' | 'binary' | 'struct' }
  | { struct: ThriftFields };
/** Field id → value; an undefined value leaves the field out. */
export type ThriftFields = Record<number, Thrift | undefined>;

const TYPE = { i32: 5, i64: 6, binary: 8, list: 9, struct: 12 };

function varint(value: bigint): number[] {
  const bytes: number[] = [];
  do {
    const low = Number(value & 0x7fn);
    value >>= 7n;
    bytes.push(value > 0n ? low | 0x80 : low);
  } while (value > 0n);
  return bytes;
}

const zigzag = (value: number | bigint) => {
  const big = BigInt(value);
  return big >= 0n ? 2n * big : -2n * big - 1n;
};

function typeOf(value: Thrift): number {
  if ('bool' in value) return value.bool ? 1 : 2;
  return TYPE[Object.keys(value)[0] as keyof typeof TYPE];
}

function encodeValue(value: Thrift, out: number[]): void {
  if ('i32' in value) out.push(...varint(zigzag(value.i32)));
  else if ('i64' in value) out.push(...varint(zigzag(value.i64)));
  else if ('binary' in value) {
    const bytes = typeof value.binary === 'string' ? new TextEncoder().encode(value.binary) : value.binary;
    out.push(...varint(BigInt(bytes.length)), ...bytes);
  } else if ('bool' in value) out.push(value.bool ? 1 : 0);
  else if ('list' in value) {
    const type = TYPE[value.of];
    if (value.list.length < 15) out.push((value.list.length << 4) | type);
    else out.push(0xf0 | type, ...varint(BigInt(value.list.length)));
    for (const item of value.list) encodeValue(item, out);
  } else encodeFields(value.struct, out);
}

function encodeFields(fields: ThriftFields, out: number[]): void {
  let last = 0;
  for (const [key, value] of Object.entries(fields).sort(([a], [b]) => Number(a) - Number(b))) {
    if (value === undefined) continue;
    const id = Number(key);
    const type = typeOf(value);
    if (id > last && id - last <= 15) out.push(((id - last) << 4) | type);
    else out.push(type, ...varint(zigzag(id)));
    last = id;
    if (!('bool' in value)) encodeValue(value, out);
  }
  out.push(0);
}

export function thriftStruct(fields: ThriftFields): Uint8Array {
  const out: number[] = [];
  encodeFields(fields, out);
  return new Uint8Array(out);
}

// parquet.thrift's numbers.
export const BYTE_ARRAY = 6;
export const REQUIRED = 0;
export const OPTIONAL = 1;
export const UTF8 = 0;
export const UNCOMPRESSED = 0;
export const SNAPPY = 1;
export const PLAIN = 0;
export const RLE = 3;
export const DATA_PAGE = 0;
export const DATA_PAGE_V2 = 3;

export interface CraftedColumn {
  name: string;
  repetition: number;
  utf8?: boolean;
  codec: number;
  values: number;
  /** Page headers and bodies, back to back. */
  pages: Uint8Array;
}

export interface CraftedFile {
  rows: number | bigint;
  columns: CraftedColumn[];
  /** Replaces the root's child count. */
  rootChildren?: number;
  /** Rows the row group declares; defaults to `rows`. */
  groupRows?: number | bigint;
  /** Changes to the footer's fields after it is built (undefined removes one). */
  footer?: ThriftFields;
}

/** One page: a PageHeader, then the body. */
export function page(header: ThriftFields, body: Uint8Array): Uint8Array {
  return concat(thriftStruct(header), body);
}

/** A v1 data page header's fields for `values` values in `bodyBytes` bytes, stored as they are. */
export function dataPageHeader(values: number, bodyBytes: number, storedBytes = bodyBytes): ThriftFields {
  return {
    1: { i32: DATA_PAGE },
    2: { i32: bodyBytes },
    3: { i32: storedBytes },
    5: { struct: { 1: { i32: values }, 2: { i32: PLAIN }, 3: { i32: RLE }, 4: { i32: RLE } } },
  };
}

/** PLAIN byte arrays: each a 4-byte little-endian length, then the bytes. */
export function plainByteArrays(values: (Uint8Array | string)[]): Uint8Array {
  return concat(
    ...values.map((value) => {
      const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      return concat(uint32(bytes.length), bytes);
    }),
  );
}

/** An RLE run of the hybrid level encoding: `count` copies of the one-byte `level`. */
export function rleRun(count: number, level: number): Uint8Array {
  return new Uint8Array([...varint(BigInt(count) * 2n), level]);
}

/** A level stream as v1 data pages store it: a 4-byte length, then the runs. */
export function v1Levels(runs: Uint8Array): Uint8Array {
  return concat(uint32(runs.length), runs);
}

/** Snappy's framing-free format, as parquet uses it, with the data as literals only. */
export function snappyLiteral(data: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [new Uint8Array(varint(BigInt(data.length)))];
  for (let at = 0; at < data.length; at += 60) {
    const piece = data.subarray(at, at + 60);
    chunks.push(new Uint8Array([(piece.length - 1) << 2]), piece);
  }
  return concat(...chunks);
}

export function craftParquet(file: CraftedFile): Uint8Array {
  const chunks: Uint8Array[] = [new TextEncoder().encode('PAR1')];
  let offset = 4;
  const columnChunks: Thrift[] = file.columns.map((column) => {
    const start = offset;
    chunks.push(column.pages);
    offset += column.pages.length;
    const meta: ThriftFields = {
      1: { i32: BYTE_ARRAY },
      2: { list: [{ i32: PLAIN }, { i32: RLE }], of: 'i32' },
      3: { list: [{ binary: column.name }], of: 'binary' },
      4: { i32: column.codec },
      5: { i64: column.values },
      6: { i64: column.pages.length },
      7: { i64: column.pages.length },
      9: { i64: start },
    };
    return { struct: { 2: { i64: start }, 3: { struct: meta } } };
  });
  const schema: Thrift[] = [
    { struct: { 4: { binary: 'schema' }, 5: { i32: file.rootChildren ?? file.columns.length } } },
    ...file.columns.map((column): Thrift => ({
      struct: {
        1: { i32: BYTE_ARRAY },
        3: { i32: column.repetition },
        4: { binary: column.name },
        ...(column.utf8 ? { 6: { i32: UTF8 } } : {}),
      },
    })),
  ];
  const footer = thriftStruct({
    1: { i32: 2 },
    2: { list: schema, of: 'struct' },
    3: { i64: file.rows },
    4: {
      list: [
        {
          struct: {
            1: { list: columnChunks, of: 'struct' },
            2: { i64: offset - 4 },
            3: { i64: file.groupRows ?? file.rows },
          },
        },
      ],
      of: 'struct',
    },
    ...file.footer,
  });
  chunks.push(footer, uint32(footer.length), new TextEncoder().encode('PAR1'));
  return concat(...chunks);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function uint32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}
