import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { METHOD_DEFLATE, METHOD_STORED, openZip, type ZipArchive, type ZipEntry } from '../../src/runtime/zip.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { buildZip, type ZipInput } from '../helpers/zip.js';

afterAll(removeTempDirs);

async function readAll(archive: ZipArchive, entry: ZipEntry): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of archive.read(entry)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function withZip<T>(bytes: Uint8Array, use: (archive: ZipArchive) => Promise<T>): Promise<T> {
  const path = join(await makeTempDir(), 'archive.zip');
  await writeFile(path, bytes);
  const archive = await openZip(path);
  try {
    return await use(archive);
  } finally {
    await archive.close();
  }
}

const library = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.alloc(5000, 7),
  Buffer.from('end'),
]);
const files: ZipInput[] = [
  { name: 'runtimes/linux-x64/native/libexample.so', data: library },
  { name: 'notes.txt', data: Buffer.from('stored as is\n'), method: 'store' },
];

describe('openZip', () => {
  test('reads an archive written by Python zipfile: deflated, stored, folder and UTF-8 names, with a comment', async () => {
    const archive = await openZip(fixture('nupkg', 'python-zipfile.zip'));
    try {
      expect(archive.entries.map(({ name, method, size }) => [name, method, size])).toEqual([
        ['runtimes/linux-x64/native/libexample.so', METHOD_DEFLATE, 10244],
        ['stored.txt', METHOD_STORED, 23],
        ['empty-folder/', METHOD_STORED, 0],
        ['café/naïve.txt', METHOD_DEFLATE, 10],
      ]);
      const expected = Buffer.concat([
        Buffer.from(Array.from({ length: 10240 }, (_, i) => i % 256)),
        Buffer.from('tail'),
      ]);
      expect(await readAll(archive, archive.entry('runtimes/linux-x64/native/libexample.so')!)).toEqual(expected);
      expect((await readAll(archive, archive.entry('stored.txt')!)).toString()).toBe('stored, not compressed\n');
      expect(await readAll(archive, archive.entry('empty-folder/')!)).toHaveLength(0);
      expect((await readAll(archive, archive.entry('café/naïve.txt')!)).toString()).toBe('déjà vu\n');
      expect(archive.entry('missing.txt')).toBeUndefined();
    } finally {
      await archive.close();
    }
  });

  test.each([false, true])(
    'round-trips entries through buildZip (zip64 %s), from a file or from bytes',
    async (zip64) => {
      const bytes = buildZip(files, { zip64, comment: 'c' });
      const check = async (archive: ZipArchive) => {
        expect(archive.entries.map((entry) => entry.name)).toEqual(files.map((file) => file.name));
        expect(await readAll(archive, archive.entries[0])).toEqual(library);
        expect(await readAll(archive, archive.entries[1])).toEqual(Buffer.from('stored as is\n'));
      };
      await withZip(bytes, check);
      const inMemory = await openZip(bytes);
      try {
        await check(inMemory);
      } finally {
        await inMemory.close();
      }
    },
  );

  test('a flipped byte in stored data fails the CRC-32 check', async () => {
    const bytes = buildZip([{ name: 'a.bin', data: Buffer.alloc(100, 1), method: 'store' }]);
    bytes[30 + 'a.bin'.length + 50] ^= 0xff;
    await withZip(bytes, async (archive) => {
      await expect(readAll(archive, archive.entries[0])).rejects.toThrow(
        /archive\.zip: entry "a\.bin" has CRC-32 [0-9a-f]{8}, not the [0-9a-f]{8} its directory records; the archive is corrupt — download it again$/,
      );
    });
  });

  test('an entry name with a line break is quoted, so the error stays one line', async () => {
    const bytes = buildZip([{ name: 'a\nb.bin', data: Buffer.alloc(100, 1), method: 'store' }]);
    bytes[30 + 'a\nb.bin'.length + 50] ^= 0xff;
    await withZip(bytes, async (archive) => {
      await expect(readAll(archive, archive.entries[0])).rejects.toThrow(
        /^[^\n]*: entry "a\\nb\.bin" has CRC-32 [^\n]*$/,
      );
    });
  });

  test('a damaged deflate stream fails with the entry named', async () => {
    const bytes = buildZip([{ name: 'lib.so', data: library }]);
    bytes.fill(0xff, 30 + 'lib.so'.length, 30 + 'lib.so'.length + 8);
    await withZip(bytes, async (archive) => {
      const failure = readAll(archive, archive.entries[0]);
      await expect(failure).rejects.toThrow(QuantgateError);
      await expect(failure).rejects.toThrow(
        /entry "lib\.so" (does not inflate|has CRC-32|does not hold the number of bytes)/,
      );
    });
  });

  test.each([
    [
      'random bytes',
      Buffer.alloc(300, 0x41),
      /archive\.zip: the archive has no end-of-central-directory record; it is not a zip archive, or it is corrupt or cut short — download it again$/,
    ],
    ['an empty file', Buffer.alloc(0), /no end-of-central-directory record/],
    ['a truncated archive', buildZip(files).subarray(0, 200), /no end-of-central-directory record/],
  ])('%s is refused in one line', async (_label, bytes, message) => {
    const path = join(await makeTempDir(), 'archive.zip');
    await writeFile(path, bytes);
    await expect(openZip(path)).rejects.toThrow(message);
  });

  test('a directory pointing past the end of the file is refused', async () => {
    const bytes = buildZip(files);
    const end = bytes.length - 22;
    bytes.writeUInt32LE(bytes.length, end + 16);
    const path = join(await makeTempDir(), 'archive.zip');
    await writeFile(path, bytes);
    await expect(openZip(path)).rejects.toThrow(
      /archive\.zip: the archive runs past the end of the file; it is not a zip archive/,
    );
  });

  test('other compression methods and encrypted entries are refused when read', async () => {
    const bytes = buildZip(files);
    const directory = bytes.readUInt32LE(bytes.length - 22 + 16);
    bytes.writeUInt16LE(bytes.readUInt16LE(directory + 8) | 1, directory + 8);
    const second = directory + 46 + files[0].name.length;
    bytes.writeUInt16LE(12, second + 10); // bzip2
    await withZip(bytes, async (archive) => {
      await expect(readAll(archive, archive.entries[0])).rejects.toThrow(
        /entry "runtimes\/linux-x64\/native\/libexample\.so" is encrypted; quantgate reads only unencrypted archives$/,
      );
      await expect(readAll(archive, archive.entries[1])).rejects.toThrow(
        /entry "notes\.txt" uses compression method 12; quantgate reads only stored and deflated entries$/,
      );
    });
  });

  test('an encrypted stored entry, whose sizes then disagree, is refused when opened', async () => {
    const bytes = buildZip(files);
    const second = bytes.readUInt32LE(bytes.length - 22 + 16) + 46 + files[0].name.length;
    bytes.writeUInt16LE(bytes.readUInt16LE(second + 8) | 1, second + 8);
    const path = join(await makeTempDir(), 'archive.zip');
    await writeFile(path, bytes);
    await expect(openZip(path)).rejects.toThrow(
      /archive\.zip: the archive does not hold the number of bytes its directory records; it is not a zip archive/,
    );
  });

  test('a missing file is a one-line error', async () => {
    await expect(openZip(join(await makeTempDir(), 'none.zip'))).rejects.toThrow(
      /^cannot open .*none\.zip \(.*ENOENT.*\); download it again$/,
    );
  });
});
