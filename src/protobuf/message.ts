// Protobuf messages driven by field tables: one decoder and one encoder for every ONNX message, so
// each message is described once (field number, key, kind) instead of being hand-coded twice.
// Absent optional fields stay `undefined` and are not written, present ones are written even when
// they hold the default (proto2 presence, which ONNX uses). Fields a table does not name are kept
// verbatim and written back in field-number order, so protobuf's own output re-encodes byte for byte.

import { MalformedProtoError, ProtoReader, ProtoWriter, WireType } from './wire.js';

/** A field the schema does not name, kept verbatim (tag included) so it survives a round trip. */
export interface UnknownField {
  field: number;
  bytes: Uint8Array;
}

export interface Message {
  unknownFields: UnknownField[];
}

/**
 * How a scalar is stored: `int64` decodes to a bigint, `int64-number` to a number (it must be a
 * safe integer: sizes and versions), `int32` covers protobuf int32 and enums.
 */
export type ScalarKind = 'string' | 'bytes' | 'int32' | 'int64' | 'int64-number' | 'float';

type MessageKeys<T> = Exclude<keyof T, 'unknownFields'> & string;

export interface FieldSpec<K extends string = string> {
  number: number;
  key: K;
  /** A scalar kind, or the schema of a nested message (a thunk, so schemas can refer to each other). */
  kind: ScalarKind | (() => MessageSchema<Message>);
  repeated?: boolean;
  /** Written packed; a decoder accepts packed and unpacked encodings either way. */
  packed?: boolean;
}

export interface MessageSchema<T extends Message> {
  readonly name: string;
  /** Ascending field numbers. */
  readonly fields: readonly FieldSpec[];
  readonly byNumber: ReadonlyMap<number, FieldSpec>;
  /** Never set: ties the schema to its message type. */
  readonly message?: T;
}

/** A schema whose keys are checked against the message type `T`. */
export function defineSchema<T extends Message>(name: string, fields: FieldSpec<MessageKeys<T>>[]): MessageSchema<T> {
  const sorted = [...fields].sort((a, b) => a.number - b.number);
  return { name, fields: sorted, byNumber: new Map(sorted.map((spec) => [spec.number, spec])) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export function decodeMessage<T extends Message>(schema: MessageSchema<T>, reader: ProtoReader): T {
  const message: Record<string, unknown> = { unknownFields: [] };
  for (const spec of schema.fields) if (spec.repeated) message[spec.key] = [];
  const unknown = message.unknownFields as UnknownField[];
  while (!reader.done) {
    const start = reader.offset;
    const { field, wireType } = reader.tag();
    const spec = schema.byNumber.get(field);
    if (!spec) {
      reader.skip(wireType);
      unknown.push({ field, bytes: reader.since(start) });
    } else if (spec.repeated) {
      const list = message[spec.key] as unknown[];
      if (wireType === WireType.LENGTH_DELIMITED && isPackable(spec.kind)) {
        const packed = reader.nested();
        while (!packed.done) list.push(readValue(packed, schema, spec));
      } else {
        expectWireType(schema, spec, wireType, start);
        list.push(readValue(reader, schema, spec));
      }
    } else {
      // A singular field seen twice: the last one wins, as protobuf parsers do for scalars.
      expectWireType(schema, spec, wireType, start);
      message[spec.key] = readValue(reader, schema, spec);
    }
  }
  return message as unknown as T;
}

export function encodeMessage<T extends Message>(
  schema: MessageSchema<T>,
  message: T,
  writer = new ProtoWriter(),
): ProtoWriter {
  const fields = message as unknown as Record<string, unknown>;
  const unknown =
    message.unknownFields.length > 1
      ? [...message.unknownFields].sort((a, b) => a.field - b.field)
      : message.unknownFields;
  let next = 0;
  for (const spec of schema.fields) {
    while (next < unknown.length && unknown[next].field < spec.number) writer.raw(unknown[next++].bytes);
    const value = fields[spec.key];
    if (value === undefined) continue;
    if (!spec.repeated) {
      writeValue(writer, spec, value);
    } else if (spec.packed) {
      writePacked(writer, spec, value as unknown[]);
    } else {
      for (const item of value as unknown[]) writeValue(writer, spec, item);
    }
  }
  while (next < unknown.length) writer.raw(unknown[next++].bytes);
  return writer;
}

function isPackable(kind: FieldSpec['kind']): boolean {
  return kind === 'int32' || kind === 'int64' || kind === 'int64-number' || kind === 'float';
}

function wireTypeOf(kind: FieldSpec['kind']): WireType {
  switch (kind) {
    case 'int32':
    case 'int64':
    case 'int64-number':
      return WireType.VARINT;
    case 'float':
      return WireType.FIXED32;
    default:
      return WireType.LENGTH_DELIMITED;
  }
}

function expectWireType(schema: MessageSchema<Message>, spec: FieldSpec, wireType: number, offset: number): void {
  const expected = wireTypeOf(spec.kind);
  if (wireType !== expected) {
    throw new MalformedProtoError(
      `${schema.name}.${spec.key} (field ${spec.number}) has wire type ${wireType}, expected ${expected}`,
      offset,
    );
  }
}

function readValue(reader: ProtoReader, schema: MessageSchema<Message>, spec: FieldSpec): unknown {
  const start = reader.offset;
  switch (spec.kind) {
    case 'string':
      try {
        return utf8.decode(reader.lengthDelimited());
      } catch (error) {
        if (error instanceof MalformedProtoError) throw error;
        throw new MalformedProtoError(`${schema.name}.${spec.key} is not valid UTF-8`, start);
      }
    case 'bytes':
      return reader.lengthDelimited();
    case 'int32':
      return Number(BigInt.asIntN(32, reader.varint()));
    case 'int64':
      return BigInt.asIntN(64, reader.varint());
    case 'int64-number': {
      const value = Number(BigInt.asIntN(64, reader.varint()));
      if (!Number.isSafeInteger(value))
        throw new MalformedProtoError(`${schema.name}.${spec.key} is beyond 2^53`, start);
      return value;
    }
    case 'float':
      return reader.float();
    default:
      return decodeMessage(spec.kind(), reader.nested());
  }
}

function writeValue(writer: ProtoWriter, spec: FieldSpec, value: unknown): void {
  switch (spec.kind) {
    case 'string':
      writer.lengthDelimited(spec.number, utf8Encoder.encode(value as string));
      return;
    case 'bytes':
      writer.lengthDelimited(spec.number, value as Uint8Array);
      return;
    case 'int32':
    case 'int64':
    case 'int64-number':
      writer.tag(spec.number, WireType.VARINT);
      writer.varint(value as number | bigint);
      return;
    case 'float':
      writer.tag(spec.number, WireType.FIXED32);
      writer.float(value as number);
      return;
    default:
      writer.message(spec.number, encodeMessage(spec.kind(), value as Message));
  }
}

function writePacked(writer: ProtoWriter, spec: FieldSpec, values: unknown[]): void {
  if (values.length === 0) return;
  const body = new ProtoWriter();
  for (const value of values) {
    if (spec.kind === 'float') body.float(value as number);
    else body.varint(value as number | bigint);
  }
  writer.message(spec.number, body);
}
