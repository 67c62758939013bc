import {
  decodeMessage,
  defineSchema,
  encodeMessage,
  type Message,
  type MessageSchema,
} from '../../src/protobuf/message.js';
import { MalformedProtoError, ProtoReader, ProtoWriter, WireType } from '../../src/protobuf/wire.js';

interface Sample extends Message {
  id?: number;
  name?: string;
  ratio?: number;
  offset?: bigint;
  code?: number;
  blob?: Uint8Array;
  child?: Sample;
  dims: number[];
  ints: bigint[];
  values: number[];
  children: Sample[];
}

const SampleSchema: MessageSchema<Sample> = defineSchema<Sample>('Sample', [
  { number: 1, key: 'id', kind: 'int64-number' },
  { number: 2, key: 'name', kind: 'string' },
  { number: 4, key: 'ratio', kind: 'float' },
  { number: 5, key: 'offset', kind: 'int64' },
  { number: 6, key: 'code', kind: 'int32' },
  { number: 7, key: 'blob', kind: 'bytes' },
  { number: 8, key: 'child', kind: () => SampleSchema },
  { number: 10, key: 'dims', kind: 'int64-number', repeated: true },
  { number: 11, key: 'ints', kind: 'int64', repeated: true },
  { number: 12, key: 'values', kind: 'float', repeated: true, packed: true },
  { number: 15, key: 'children', kind: () => SampleSchema, repeated: true },
]);

function sample(fields: Partial<Sample>): Sample {
  return { dims: [], ints: [], values: [], children: [], unknownFields: [], ...fields };
}

const decode = (bytes: Uint8Array) => decodeMessage(SampleSchema, new ProtoReader(bytes));
const encode = (message: Sample) => encodeMessage(SampleSchema, message).finish();

/** Hand-written protobuf: a list of (field, wire type, value) entries. */
function wire(entries: [number, WireType, number | bigint | Uint8Array | number[]][]): Uint8Array {
  const writer = new ProtoWriter();
  for (const [field, type, value] of entries) {
    if (type === WireType.LENGTH_DELIMITED) {
      writer.lengthDelimited(field, value instanceof Uint8Array ? value : Uint8Array.from(value as number[]));
    } else {
      writer.tag(field, type);
      if (type === WireType.FIXED32) writer.float(value as number);
      else writer.varint(value as number | bigint);
    }
  }
  return writer.finish();
}

describe('schema-driven messages', () => {
  it('round-trips every kind, nested messages and presence of default values', () => {
    const message = sample({
      id: 0,
      name: 'naïve ✓',
      ratio: -0.25,
      offset: -(2n ** 63n),
      code: -7,
      blob: Uint8Array.from([0, 255]),
      child: sample({ name: '' }),
      dims: [0, 3, 2 ** 40],
      ints: [-1n, 2n ** 63n - 1n],
      values: [1.5, -2, 0],
      children: [sample({ id: 1 }), sample({ id: 2 })],
    });
    const decoded = decode(encode(message));
    expect(decoded).toEqual(message);
    expect(decoded.id).toBe(0);
    expect(decoded.child?.name).toBe('');
    expect(decode(encode(sample({}))).id).toBeUndefined();
  });

  it('reads repeated numbers packed or unpacked, and writes them as the schema says', () => {
    const unpackedFloats = [[12, WireType.FIXED32, 1.5] as const, [12, WireType.FIXED32, -2] as const];
    const packedDims = new ProtoWriter();
    packedDims.varint(2);
    packedDims.varint(300);
    const bytes = wire([
      [10, WireType.LENGTH_DELIMITED, packedDims.finish()],
      ...unpackedFloats.map((entry) => [...entry] as [number, WireType, number]),
      [11, WireType.VARINT, -5n],
    ]);
    const decoded = decode(bytes);
    expect(decoded.dims).toEqual([2, 300]);
    expect(decoded.values).toEqual([1.5, -2]);
    expect(decoded.ints).toEqual([-5n]);
    const floats = new Uint8Array(8);
    new DataView(floats.buffer).setFloat32(0, 1.5, true);
    new DataView(floats.buffer).setFloat32(4, -2, true);
    expect(encode(decoded)).toEqual(
      wire([
        [10, WireType.VARINT, 2],
        [10, WireType.VARINT, 300],
        [11, WireType.VARINT, -5n],
        [12, WireType.LENGTH_DELIMITED, floats],
      ]),
    );
  });

  it('keeps unknown fields verbatim and writes them back in field-number order', () => {
    const bytes = wire([
      [1, WireType.VARINT, 9],
      [3, WireType.LENGTH_DELIMITED, [1, 2, 3]],
      [7, WireType.LENGTH_DELIMITED, [4]],
      [9, WireType.FIXED32, 2.5],
      [13, WireType.VARINT, -1n],
      [20, WireType.LENGTH_DELIMITED, [5, 6]],
    ]);
    const decoded = decode(bytes);
    expect(decoded.unknownFields.map((field) => field.field)).toEqual([3, 9, 13, 20]);
    expect(Array.from(decoded.unknownFields[0].bytes)).toEqual([0x1a, 3, 1, 2, 3]);
    expect(encode(decoded)).toEqual(bytes);
    // Known fields written after decoding still land between the unknown ones by number.
    expect(encode({ ...decoded, values: [1] })).toEqual(
      wire([
        [1, WireType.VARINT, 9],
        [3, WireType.LENGTH_DELIMITED, [1, 2, 3]],
        [7, WireType.LENGTH_DELIMITED, [4]],
        [9, WireType.FIXED32, 2.5],
        [12, WireType.LENGTH_DELIMITED, [0, 0, 0x80, 0x3f]],
        [13, WireType.VARINT, -1n],
        [20, WireType.LENGTH_DELIMITED, [5, 6]],
      ]),
    );
  });

  it('lets the last of a repeated singular field win', () => {
    expect(
      decode(
        wire([
          [1, WireType.VARINT, 1],
          [1, WireType.VARINT, 2],
        ]),
      ).id,
    ).toBe(2);
  });

  it.each([
    [
      'a known field with the wrong wire type',
      wire([[2, WireType.VARINT, 1]]),
      /Sample.name \(field 2\) has wire type 0, expected 2 at byte 0/,
    ],
    [
      'a string that is not UTF-8',
      wire([[2, WireType.LENGTH_DELIMITED, [0xc3, 0x28]]]),
      /Sample.name is not valid UTF-8/,
    ],
    ['an int64-number beyond 2^53', wire([[1, WireType.VARINT, 2n ** 60n]]), /Sample.id is beyond 2\^53/],
    ['a nested message cut short', wire([[8, WireType.LENGTH_DELIMITED, [0x12, 0x05, 0x61]]]), /runs past the end/],
  ])('refuses %s', (_, bytes, message) => {
    expect(() => decode(bytes)).toThrow(MalformedProtoError);
    expect(() => decode(bytes)).toThrow(message);
  });
});
