import { MalformedProtoError, ProtoReader, ProtoWriter, WireType } from '../../src/protobuf/wire.js';

function varintBytes(value: number | bigint): number[] {
  const writer = new ProtoWriter();
  writer.varint(value);
  return Array.from(writer.finish());
}

describe('varints', () => {
  it('encodes as protobuf does, negatives in ten bytes', () => {
    expect(varintBytes(0)).toEqual([0]);
    expect(varintBytes(150)).toEqual([0x96, 0x01]);
    expect(varintBytes(2 ** 53 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(varintBytes(-1)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(varintBytes(-1n)).toEqual(varintBytes(-1));
  });

  it.each([0n, 1n, 127n, 128n, 300n, 2n ** 31n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -300n, -(2n ** 63n)])(
    'round-trips %p as int64',
    (value) => {
      const reader = new ProtoReader(Uint8Array.from(varintBytes(value)));
      expect(BigInt.asIntN(64, reader.varint())).toBe(value);
      expect(reader.done).toBe(true);
    },
  );

  it('reads safe integers as numbers and refuses larger ones there', () => {
    expect(new ProtoReader(Uint8Array.from(varintBytes(2 ** 53 - 1))).uint()).toBe(2 ** 53 - 1);
    expect(() => new ProtoReader(Uint8Array.from(varintBytes(2n ** 60n))).uint()).toThrow(/beyond 2\^53/);
  });
});

describe('ProtoReader', () => {
  it('reads tags, floats and length-delimited fields as views', () => {
    const writer = new ProtoWriter();
    writer.tag(5, WireType.FIXED32);
    writer.float(1.5);
    writer.lengthDelimited(300, Uint8Array.from([7, 8, 9]));
    const bytes = writer.finish();
    const reader = new ProtoReader(bytes);
    expect(reader.tag()).toEqual({ field: 5, wireType: WireType.FIXED32 });
    expect(reader.float()).toBe(1.5);
    expect(reader.tag()).toEqual({ field: 300, wireType: WireType.LENGTH_DELIMITED });
    const value = reader.lengthDelimited();
    expect(Array.from(value)).toEqual([7, 8, 9]);
    expect(value.buffer).toBe(bytes.buffer);
    expect(reader.done).toBe(true);
  });

  it('skips every wire type it knows', () => {
    const bytes = Uint8Array.from([0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 2, 9, 9, 0x25, 1, 2, 3, 4]);
    const reader = new ProtoReader(bytes);
    while (!reader.done) reader.skip(reader.tag().wireType);
    expect(reader.offset).toBe(bytes.length);
  });

  it.each([
    ['a truncated varint', [0x08, 0x96], /truncated varint at byte 1/],
    ['a varint of eleven bytes', [0x08, ...Array(10).fill(0xff), 0x01], /longer than 10 bytes/],
    ['a length past the end', [0x0a, 0x05, 1, 2], /5 bytes runs past the end/],
    ['field number 0', [0x00, 0x01], /field number 0/],
    ['a group (wire type 3)', [0x0b, 0x0c], /unsupported wire type 3/],
    ['a truncated float', [0x0d, 1, 2], /4 bytes runs past the end/],
  ])('refuses %s', (_, bytes, message) => {
    const read = () => {
      const reader = new ProtoReader(Uint8Array.from(bytes));
      while (!reader.done) reader.skip(reader.tag().wireType);
    };
    expect(read).toThrow(MalformedProtoError);
    expect(read).toThrow(message);
  });

  it('keeps a nested reader inside its field', () => {
    const reader = new ProtoReader(Uint8Array.from([0x0a, 0x02, 0x08, 0x01, 0x10, 0x02]));
    reader.tag();
    const nested = reader.nested();
    expect(nested.tag()).toEqual({ field: 1, wireType: WireType.VARINT });
    expect(nested.uint()).toBe(1);
    expect(nested.done).toBe(true);
    expect(reader.tag()).toEqual({ field: 2, wireType: WireType.VARINT });
  });
});

describe('ProtoWriter', () => {
  it('keeps large byte fields as views and frames nested messages', () => {
    const payload = new Uint8Array(4096).map((_, i) => i % 251);
    const child = new ProtoWriter();
    child.lengthDelimited(9, payload);
    const parent = new ProtoWriter();
    parent.tag(1, WireType.VARINT);
    parent.varint(8);
    parent.message(2, child);
    expect(parent.parts()).toContain(payload);
    const bytes = parent.finish();
    expect(bytes.length).toBe(parent.length);

    const reader = new ProtoReader(bytes);
    reader.tag();
    expect(reader.uint()).toBe(8);
    expect(reader.tag()).toEqual({ field: 2, wireType: WireType.LENGTH_DELIMITED });
    const nested = reader.nested();
    expect(nested.tag()).toEqual({ field: 9, wireType: WireType.LENGTH_DELIMITED });
    expect(Buffer.from(nested.lengthDelimited()).equals(payload)).toBe(true);
    expect(reader.done).toBe(true);
  });

  it('writes many small fields across growing scratch space', () => {
    const writer = new ProtoWriter();
    for (let i = 0; i < 20000; i++) {
      writer.tag(1, WireType.VARINT);
      writer.varint(i);
    }
    const reader = new ProtoReader(writer.finish());
    const read: number[] = [];
    while (!reader.done) {
      reader.tag();
      read.push(reader.uint());
    }
    expect(read).toEqual(Array.from({ length: 20000 }, (_, i) => i));
  });
});
