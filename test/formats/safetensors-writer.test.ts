import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openSafetensors } from '../../src/formats/safetensors.js';
import {
  writeSafetensors,
  type SafetensorsSink,
  type SafetensorsTensorSpec,
} from '../../src/formats/safetensors-writer.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

describe('the safetensors writer', () => {
  test('reproduces a file written by the safetensors library byte for byte', async () => {
    const original = fixture('safetensors', 'lm.safetensors');
    const copy = join(await makeTempDir(), 'lm.safetensors');
    const reader = await openSafetensors(original);
    try {
      await writeSafetensors(copy, reader.tensors, async (sink) => {
        for (const tensor of reader.tensors) {
          for await (const chunk of reader.chunks(tensor, { maxBytes: 4096, elementMultiple: 32 }))
            await sink.write(tensor.name, chunk);
        }
      });
    } finally {
      await reader.close();
    }
    expect((await readFile(copy)).equals(await readFile(original))).toBe(true);
  });

  test('lays out the header like the reference: length, compact JSON with __metadata__ first, space padding to 8', async () => {
    const path = join(await makeTempDir(), 'small.safetensors');
    await writeSafetensors(
      path,
      [
        { name: '1', dtype: 'BF16', shape: [2] },
        { name: 'a', dtype: 'F32', shape: [] },
      ],
      async (sink) => {
        await sink.write('1', Uint8Array.of(1, 2, 3, 4));
        await sink.write('a', Uint8Array.of(5, 6, 7, 8));
      },
      { metadata: { format: 'pt' } },
    );
    const json =
      '{"__metadata__":{"format":"pt"},"1":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}';
    const headerLength = Math.ceil(json.length / 8) * 8;
    const bytes = await readFile(path);
    expect(bytes.readBigUInt64LE(0)).toBe(BigInt(headerLength));
    expect(bytes.subarray(8, 8 + headerLength).toString()).toBe(json.padEnd(headerLength, ' '));
    expect([...bytes.subarray(8 + headerLength)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('an empty tensor list and tensors of zero elements are valid', async () => {
    const dir = await makeTempDir();
    await writeSafetensors(join(dir, 'none.safetensors'), [], async () => undefined);
    expect((await readFile(join(dir, 'none.safetensors'))).subarray(8).toString()).toBe('{}      ');
    await writeSafetensors(
      join(dir, 'zero.safetensors'),
      [
        { name: 'empty', dtype: 'F16', shape: [0, 3] },
        { name: 'w', dtype: 'F16', shape: [1] },
        { name: 'tail', dtype: 'F32', shape: [0] },
      ],
      (sink) => sink.write('w', Uint8Array.of(0, 0x3c)),
    );
    const reader = await openSafetensors(join(dir, 'zero.safetensors'));
    await reader.close();
    expect(reader.tensors.map((t) => [t.name, t.byteLength])).toEqual([
      ['empty', 0],
      ['w', 2],
      ['tail', 0],
    ]);
  });

  const specs: SafetensorsTensorSpec[] = [
    { name: 'a', dtype: 'F32', shape: [2] },
    { name: 'b', dtype: 'F16', shape: [2, 2] },
  ];
  const misuses: [string, (sink: SafetensorsSink) => Promise<void>, RegExp][] = [
    [
      'a tensor short of bytes at the end',
      async (sink) => {
        await sink.write('a', new Uint8Array(8));
        await sink.write('b', new Uint8Array(6));
      },
      /is incomplete: tensor "b" received 6 of its 8 bytes$/,
    ],
    [
      'a tensor never written',
      (sink) => sink.write('a', new Uint8Array(8)),
      /is incomplete: tensor "b" received 0 of its 8 bytes$/,
    ],
    [
      'a tensor given too many bytes',
      async (sink) => {
        await sink.write('a', new Uint8Array(4));
        await sink.write('a', new Uint8Array(5));
      },
      /^tensor "a" received 9 bytes, more than its 8$/,
    ],
    [
      'the next tensor begun early',
      async (sink) => {
        await sink.write('a', new Uint8Array(4));
        await sink.write('b', new Uint8Array(8));
      },
      /^data for tensor "b" arrived while tensor "a" received 4 of its 8 bytes; fill tensors in order$/,
    ],
    [
      'tensors out of order',
      (sink) => sink.write('b', new Uint8Array(8)),
      /^data for tensor "b" arrived while tensor "a" received 0 of its 8 bytes/,
    ],
    [
      'a tensor not in the list',
      async (sink) => {
        await sink.write('a', new Uint8Array(8));
        await sink.write('b', new Uint8Array(8));
        await sink.write('c', new Uint8Array(1));
      },
      /^data for tensor "c" arrived for .*, which has no such tensor left to fill$/,
    ],
    [
      'overlapping writes',
      async (sink) => {
        await Promise.all([sink.write('a', new Uint8Array(4)), sink.write('a', new Uint8Array(4))]);
      },
      /writes to .* overlap; await each write before the next$/,
    ],
  ];
  test.each(misuses)('%s is refused and leaves no file', async (_, fill, message) => {
    const dir = await makeTempDir();
    await expect(writeSafetensors(join(dir, 'out.safetensors'), specs, fill)).rejects.toThrow(message);
    expect(await readdir(dir)).toEqual([]);
  });

  const badSpecs: [string, SafetensorsTensorSpec[], RegExp][] = [
    ['a repeated name', [specs[0]!, specs[0]!], /tensor name "a" is reserved or repeated/],
    [
      'the reserved name __metadata__',
      [{ name: '__metadata__', dtype: 'F32', shape: [1] }],
      /tensor name "__metadata__" is reserved or repeated/,
    ],
    [
      'an unknown dtype',
      [{ name: 'a', dtype: 'F12' as 'F32', shape: [1] }],
      /tensor "a" has dtype F12, which is not a safetensors dtype/,
    ],
    [
      'a negative dimension',
      [{ name: 'a', dtype: 'F32', shape: [2, -1] }],
      /tensor "a" has shape \[2,-1\]; dimensions must be non-negative integers/,
    ],
    [
      'sub-byte elements that leave a partial byte',
      [{ name: 'a', dtype: 'F4', shape: [3] }],
      /tensor "a" \(F4 \[3\]\) does not fill a whole, addressable number of bytes/,
    ],
  ];
  test.each(badSpecs)('a tensor list with %s is refused before anything is written', async (_, tensors, message) => {
    const dir = await makeTempDir();
    let filled = false;
    await expect(
      writeSafetensors(join(dir, 'out.safetensors'), tensors, async () => void (filled = true)),
    ).rejects.toThrow(message);
    expect(filled).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });
});
