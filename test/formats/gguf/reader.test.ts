import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../../src/common/errors.js';
import { GgufValueType } from '../../../src/formats/gguf/constants.js';
import { dumpGguf } from '../../../src/formats/gguf/dump.js';
import { planGguf } from '../../../src/formats/gguf/layout.js';
import { openGguf } from '../../../src/formats/gguf/reader.js';
import { writeGgufFile } from '../../../src/formats/gguf/writer.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

let reference: Buffer;
let dir: string;
beforeAll(async () => {
  reference = await readFile(fixture('gguf', 'reference.gguf'));
  dir = await makeTempDir();
});

/** Where the header field after `name`'s string starts: a key's type, or a tensor's n_dims. */
function after(bytes: Buffer, name: string): number {
  const at = bytes.indexOf(Buffer.from(name, 'utf8'));
  if (at < 0) throw new Error(`no ${name} in the fixture`);
  return at + Buffer.byteLength(name);
}

let counter = 0;
async function save(bytes: Uint8Array): Promise<string> {
  const path = join(dir, `case-${counter++}.gguf`);
  await writeFile(path, bytes);
  return path;
}

/** The error opening `bytes` as a file, checked to be one line naming the file, without the name. */
async function refusal(bytes: Uint8Array): Promise<string> {
  const path = await save(bytes);
  const error: unknown = await openGguf(path).then(
    async (file) => {
      await file.close();
      throw new Error('expected the file to be refused');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(QuantgateError);
  const message = (error as Error).message;
  expect(message.startsWith(`${path}: `)).toBe(true);
  expect(message).not.toContain('\n');
  return message.slice(path.length + 2);
}

/** The error opening the reference with `change` applied. */
async function openError(change: (bytes: Buffer) => Buffer | void): Promise<string> {
  const copy = Buffer.from(reference);
  return refusal(change(copy) ?? copy);
}

describe('openGguf reads', () => {
  test('the tensors and keys of the reference, with offsets relative to the data section', async () => {
    const file = await openGguf(fixture('gguf', 'reference.gguf'));
    try {
      expect(file.version).toBe(3);
      expect(file.dataOffset).toBe(1152);
      expect(file.metadata.find((entry) => entry.key === 't.u64')).toEqual({
        key: 't.u64',
        type: GgufValueType.UINT64,
        value: 18000000000000000000n,
      });
      expect(file.metadata.find((entry) => entry.key === 't.arr_str')).toEqual({
        key: 't.arr_str',
        type: GgufValueType.ARRAY,
        itemType: GgufValueType.STRING,
        value: ['alpha', '', 'γάμμα'],
      });
      expect(file.tensors[6]).toEqual({ name: 'conv.weight', type: 'F32', ne: [3, 5, 2], offset: 24480, size: 120 });
      const odd = file.tensors[5]!;
      const chunks = [];
      for await (const chunk of file.readChunks(odd.name, 8)) chunks.push(chunk);
      expect(chunks.map((chunk) => chunk.byteLength)).toEqual([8, 8, 8, 4]);
      const whole = Buffer.concat(chunks);
      expect(whole).toEqual(reference.subarray(1152 + odd.offset, 1152 + odd.offset + odd.size));
      expect(Buffer.from(await file.read(odd.name))).toEqual(whole);
      await expect(file.read('nope')).rejects.toThrow(/has no tensor named nope/);
    } finally {
      await file.close();
    }
  });

  test('GGUF version 2, whose layout is the same', async () => {
    const v2 = Buffer.from(reference);
    v2.writeUInt32LE(2, 4);
    const file = await openGguf(await save(v2));
    try {
      expect(file.version).toBe(2);
      expect((await dumpGguf(file)).split('\n').slice(1)).toEqual(
        (await readFile(fixture('gguf', 'reference.dump.txt'), 'utf8')).split('\n').slice(1),
      );
    } finally {
      await file.close();
    }
  });
});

describe('openGguf refuses, with one line naming the file and the problem', () => {
  test('a file that is not GGUF, or not a version it reads', async () => {
    expect(await openError((bytes) => void bytes.write('GGML', 0, 'latin1'))).toBe(
      'starts with "GGML" instead of "GGUF"; it is not a GGUF file — point to a .gguf file',
    );
    expect(await openError((bytes) => void bytes.writeUInt32LE(1, 4))).toMatch(
      /^is GGUF version 1; quantgate reads versions 2 and 3/,
    );
    expect(await openError((bytes) => void bytes.writeUInt32LE(4, 4))).toMatch(/^is GGUF version 4;/);
    expect(await openError((bytes) => void bytes.writeUInt32BE(3, 4))).toMatch(
      /version 0x3000000, which is a big-endian GGUF/,
    );
    await expect(openGguf(join(dir, 'absent.gguf'))).rejects.toThrow(
      /^cannot open .*absent\.gguf \(.*ENOENT.*\); check the path$/,
    );
  });

  test('a header cut short', async () => {
    expect(await openError((bytes) => bytes.subarray(0, 6))).toBe(
      'ends inside the header: the version at byte 4 needs 4 bytes but the file has 6; it is truncated — download it again',
    );
    expect(await openError((bytes) => bytes.subarray(0, 20))).toBe(
      'claims 8 for the tensor count, more than the 4 bytes left can hold; the file is corrupt or truncated — download it again',
    );
    expect(await openError((bytes) => bytes.subarray(0, 0x223))).toBe(
      'claims 3 for the length of t.arr_str, more than the 10 bytes left can hold; the file is corrupt or truncated — download it again',
    );
    expect(await openError((bytes) => bytes.subarray(0, 0x43e))).toBe(
      'says a tensor name is 9 bytes long at byte 1076 but only 2 bytes are left; the file is truncated or corrupt — download it again',
    );
  });

  test('lengths and counts larger than the file, before allocating them', async () => {
    expect(await openError((bytes) => void bytes.writeBigUInt64LE(2n ** 40n, 24))).toMatch(
      /^says key 0 is 1099511627776 bytes long at byte 24 but only \d+ bytes are left/,
    );
    expect(await openError((bytes) => void bytes.writeBigUInt64LE(2n ** 62n, 8))).toMatch(
      /^claims 4611686018427387904 for the tensor count, more than the \d+ bytes left can hold/,
    );
    expect(await openError((bytes) => void bytes.writeBigUInt64LE(2n ** 62n, 16))).toMatch(
      /^claims 4611686018427387904 for the key count/,
    );
    expect(await openError((bytes) => void bytes.writeBigUInt64LE(2n ** 40n, after(bytes, 't.arr_i32') + 8))).toMatch(
      /^claims 1099511627776 for the length of t\.arr_i32/,
    );
  });

  test('unknown value types and nested arrays', async () => {
    expect(await openError((bytes) => void bytes.writeInt32LE(13, after(bytes, 't.u8')))).toBe(
      'key t.u8 has unknown GGUF type 13; the file is corrupt or newer than quantgate — convert it again',
    );
    expect(
      await openError((bytes) => void bytes.writeInt32LE(GgufValueType.ARRAY, after(bytes, 't.arr_i32') + 4)),
    ).toMatch(/^key t\.arr_i32 is an array of unknown GGUF type 9/);
  });

  test('duplicate keys', async () => {
    expect(await openError((bytes) => void bytes.write('t.i8', after(bytes, 't.u8') - 4, 'latin1'))).toMatch(
      /^has the key t\.i8 twice/,
    );
  });

  test('tensor infos ggml would refuse', async () => {
    expect(await openError((bytes) => void bytes.writeInt32LE(12, after(bytes, 'odd.bias') + 4 + 8))).toMatch(
      /^gives tensor odd\.bias ggml type 12, which quantgate does not read \(it reads F32=0, F16=1, Q4_0=2, Q8_0=8, BF16=30\)/,
    );
    expect(await openError((bytes) => void bytes.writeUInt32LE(5, after(bytes, 'odd.bias')))).toMatch(
      /^gives tensor odd\.bias 5 dimensions, more than ggml's 4/,
    );
    expect(await openError((bytes) => void bytes.writeBigInt64LE(-1n, after(bytes, 'odd.bias') + 4))).toMatch(
      /^gives tensor odd\.bias dimension 0 of -1 elements/,
    );
    expect(
      await openError(
        (bytes) => void bytes.writeBigInt64LE(48n, after(bytes, 'transformer.layers.0.self_attn.in_proj_weight') + 4),
      ),
    ).toMatch(/48 elements per row, not a multiple of the Q4_0 block size 32/);
  });

  test('a block-quantized tensor without dimensions', async () => {
    // GGUF v3, one tensor, no keys; tensor "w": 0 dimensions, type Q4_0 (2), offset 0.
    const name = Buffer.from('w');
    const header = Buffer.alloc(4 + 4 + 8 + 8 + 8 + name.length + 4 + 4 + 8);
    let at = header.writeUInt32LE(0x46554747, 0);
    at = header.writeUInt32LE(3, at);
    at = header.writeBigUInt64LE(1n, at);
    at = header.writeBigUInt64LE(0n, at);
    at = header.writeBigUInt64LE(BigInt(name.length), at);
    at += name.copy(header, at);
    at = header.writeUInt32LE(0, at);
    at = header.writeInt32LE(2, at);
    header.writeBigUInt64LE(0n, at);
    expect(await refusal(Buffer.concat([header, Buffer.alloc(64)]))).toBe(
      'gives Q4_0 tensor w no dimensions (a single value), not a multiple of the Q4_0 block size 32; the file is corrupt — convert it again',
    );
  });

  test('offsets that do not follow from the sizes and the alignment', async () => {
    const odd = after(reference, 'odd.bias') + 4 + 8 + 4;
    expect(await openError((bytes) => void bytes.writeBigUInt64LE(24449n, odd))).toBe(
      "tensor odd.bias is at data offset 24449 but ggml expects 24448 (the previous tensors' sizes, each padded to 32); the file is corrupt — convert it again",
    );
  });

  test('data that runs past the end of the file', async () => {
    expect(await openError((bytes) => bytes.subarray(0, bytes.byteLength - 1))).toBe(
      'tensor bf.weight ends at byte 25952 but the file has 25951; it is truncated — download it again',
    );
  });

  test('a name of 64 bytes or more, duplicate names, and a bad alignment key', async () => {
    const name = 'n'.repeat(70);
    const header = Buffer.alloc(24 + 8 + 70 + 4 + 8 + 4 + 8);
    header.write('GGUF', 0, 'latin1');
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(1n, 8);
    header.writeBigUInt64LE(70n, 24);
    header.write(name, 32, 'latin1');
    header.writeUInt32LE(1, 102);
    header.writeBigInt64LE(1n, 106);
    expect(await refusal(Buffer.concat([header, Buffer.alloc(64)]))).toBe(
      `has tensor name "${name}" of 70 bytes; ggml refuses names of 64 bytes or more — convert it with shorter names`,
    );

    const aligned = join(dir, 'aligned.gguf');
    const layout = planGguf(
      [{ key: 'general.alignment', type: GgufValueType.UINT32, value: 64 }],
      [
        { name: 'ta', type: 'F32', ne: [4] },
        { name: 'tb', type: 'F32', ne: [4] },
      ],
    );
    await writeGgufFile(aligned, layout, async (writer) => {
      await writer.writeTensor('ta', [new Uint8Array(16)]);
      await writer.writeTensor('tb', [new Uint8Array(16)]);
    });
    const good = await readFile(aligned);
    const twice = Buffer.from(good);
    twice.write('ta', after(twice, 'tb') - 2, 'latin1');
    expect(await refusal(twice)).toMatch(/^has tensor ta twice; the file is corrupt/);
    const badAlignment = Buffer.from(good);
    badAlignment.writeUInt32LE(48, after(badAlignment, 'general.alignment') + 4);
    expect(await refusal(badAlignment)).toMatch(/^has general\.alignment 48, not a power of two/);
    const wrongType = Buffer.from(good);
    wrongType.writeInt32LE(GgufValueType.INT32, after(wrongType, 'general.alignment'));
    expect(await refusal(wrongType)).toMatch(/^stores general\.alignment as GGUF type 5, not UINT32/);
  });
});
