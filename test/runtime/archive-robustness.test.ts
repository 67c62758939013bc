// The archive readers against malformed input: the tar size fields of issue 12 (not octal, huge,
// negative), cut archives, zips with bad offsets, sizes and methods, and a seeded mutation loop.
// Every input runs in a worker thread that is stopped when it stalls (a reader spinning in a
// microtask loop would starve jest's own timers), and each must be read or refused with a clean
// one-line QuantgateError.

import { crc32 } from 'node:zlib';
import { removeTempDirs } from '../helpers/paths.js';
import { buildZip } from '../helpers/zip.js';
import { mutations, setTarField } from './fuzz/mutate.js';
import { runArchiveInputs, type FuzzRun } from './fuzz/runner.js';
import { tarArchive } from './tarball.js';

// The worker's bundle is written to a temp folder (fuzz/runner.ts).
afterAll(removeTempDirs);

const SEED = 20261206;
const MUTATIONS = 3000;

/** The archive without tar's padding to whole records: its entries and the two zero blocks. */
function unpadded(archive: Buffer): Buffer {
  let last = archive.length - 1;
  while (last >= 0 && archive[last] === 0) last--;
  return archive.subarray(0, Math.ceil((last + 1) / 512) * 512 + 1024);
}

const tarBases = [
  unpadded(
    tarArchive([
      { path: 'package/package.json', content: '{"name":"p"}' },
      { path: 'package/bin/tool', content: 'x'.repeat(700), mode: 0o755 },
    ]),
  ),
  unpadded(
    tarArchive([
      { path: 'package/', type: 'directory' },
      { path: `package/${'deep/'.repeat(25)}f.js`, content: 'pax' },
      { path: `package/${'gnu/'.repeat(30)}g.js`, content: 'gnu', longPath: 'gnu' },
    ]),
  ),
];
const library = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(3000, 7)]);
const zipFiles = [
  { name: 'runtimes/linux-x64/native/libexample.so', data: library },
  { name: 'notes.txt', data: Buffer.from('stored as is\n'), method: 'store' as const },
];
const zipBases = [buildZip(zipFiles), buildZip(zipFiles, { zip64: true, comment: 'c' })];

/** Every outcome that is not a clean refusal or a successful read, and the input stuck on, if any. */
function failures(run: FuzzRun): unknown[] {
  return [
    ...run.outcomes.filter((outcome) => outcome.result === 'crash'),
    ...(run.hung === undefined ? [] : [{ hung: run.hung }]),
  ];
}

function messages(run: FuzzRun): (string | undefined)[] {
  return run.outcomes.map((outcome) => (outcome.result === 'accepted' ? 'accepted' : outcome.message));
}

describe('the tar reader', () => {
  const base = tarBases[0]!;
  const withSizeAt = (archive: Uint8Array, field: Uint8Array) => {
    const bytes = Uint8Array.from(archive);
    setTarField(bytes, 0, 124, field);
    return bytes;
  };
  const withSize = (field: Uint8Array) => withSizeAt(base, field);
  const text = (value: string) => new TextEncoder().encode(value.padEnd(12, '\0'));
  const base256 = (first: number, rest: number[]) =>
    Uint8Array.from([first, ...Array<number>(11 - rest.length).fill(first === 0xff ? 0xff : 0), ...rest]);

  test('refuses size fields that are not sizes, in one line, without hanging', async () => {
    const run = await runArchiveInputs('tar', [
      withSize(text('zzzzzzzzzzz')),
      withSize(text('99999999999')),
      withSize(text('-0000000001')),
      withSize(base256(0xff, [0xfe])), // base-256 −2
      withSize(base256(0x80, [0x10, 0, 0, 0, 0, 0, 0, 0])), // base-256 2^60
      withSize(text('77777777777')), // 8 GiB, far past the input
    ]);
    expect(failures(run)).toEqual([]);
    const notASize =
      /^fuzz\.tar has an entry( "package\/package\.json")? whose size is not a byte count; the download is corrupt — download it again$/;
    expect(messages(run)).toEqual([
      ...Array(5).fill(expect.stringMatching(notASize)),
      'fuzz.tar ends in the middle of an entry; the download is cut short — download it again',
    ]);
  });

  test('refuses pax sizes that are not decimal byte counts', async () => {
    const paxHeader = 0;
    const paxArchive = unpadded(tarArchive([{ path: `package/${'deep/'.repeat(25)}f.js`, content: 'pax' }]));
    const record = paxArchive.subarray(512, 1024).toString('latin1');
    const inputs = ['abc', '-1', '1e3', '99999999999999999999'].map((size) => {
      const bytes = Uint8Array.from(paxArchive);
      const added = `${size.length + 8} size=${size}\n`;
      const records = new TextEncoder().encode(record.replace(/\0+$/, '') + added);
      bytes.set(records, 512);
      setTarField(bytes, paxHeader, 124, new TextEncoder().encode(records.length.toString(8).padStart(11, '0') + '\0'));
      return bytes;
    });
    const run = await runArchiveInputs('tar', inputs);
    expect(failures(run)).toEqual([]);
    for (const message of messages(run))
      expect(message).toMatch(
        /^fuzz\.tar has an entry( "package\/.*f\.js")? whose size is not a byte count; the download is corrupt — download it again$/,
      );
  });

  test('refuses a folder with a size, whose data tar-stream would never end', async () => {
    const folder = unpadded(
      tarArchive([
        { path: 'package/', type: 'directory' },
        { path: 'package/f', content: 'x' },
      ]),
    );
    const run = await runArchiveInputs('tar', [withSizeAt(folder, text('00000000001'))]);
    expect(failures(run)).toEqual([]);
    expect(messages(run)).toEqual([
      'fuzz.tar has a folder entry "package/" that claims 1 byte(s) of data; the download is corrupt — download it again',
    ]);
  });

  test('refuses an archive cut anywhere before its end marker', async () => {
    const cuts = Array.from({ length: Math.ceil(base.length / 37) }, (_, i) => base.subarray(0, i * 37));
    const run = await runArchiveInputs('tar', cuts);
    expect(failures(run)).toEqual([]);
    for (const message of messages(run))
      expect(message).toMatch(
        /^fuzz\.tar (ends in the middle of an entry|ends without the end-of-archive marker); the download is cut short — download it again$/,
      );
  });

  test(`${MUTATIONS} mutated archives (seed ${SEED}) are each read or refused cleanly, none hangs`, async () => {
    const run = await runArchiveInputs('tar', mutations(tarBases, SEED, MUTATIONS));
    expect(failures(run)).toEqual([]);
    expect(run.outcomes).toHaveLength(MUTATIONS);
    expect(run.outcomes.some((outcome) => outcome.result === 'refused')).toBe(true);
    expect(run.outcomes.some((outcome) => outcome.result === 'accepted')).toBe(true);
  });
});

describe('the zip reader', () => {
  const base = zipBases[0]!;
  const eocd = base.length - 22;
  const directory = base.readUInt32LE(eocd + 16);
  const edited = (edit: (bytes: Buffer) => void) => {
    const bytes = Buffer.from(base);
    edit(bytes);
    return bytes;
  };

  test('refuses bad offsets, sizes, counts and methods in one line, without hanging', async () => {
    const run = await runArchiveInputs('zip', [
      edited((bytes) => bytes.writeUInt32LE(0xfffffff0, eocd + 16)), // directory offset past the end
      edited((bytes) => bytes.writeUInt32LE(0xffffffff, eocd + 12)), // directory size past the end
      edited((bytes) => bytes.writeUInt16LE(0xffff, eocd + 10)), // more entries than the directory holds
      edited((bytes) => bytes.writeUInt32LE(0x7fffffff, directory + 42)), // local header past the end
      edited((bytes) => bytes.writeUInt32LE(5, directory + 42)), // local header at a wrong offset
      edited((bytes) => bytes.writeUInt32LE(0x7fffffff, directory + 20)), // compressed size past the end
      edited((bytes) => bytes.writeUInt32LE(10, directory + 24)), // uncompressed size too small
      edited((bytes) => bytes.writeUInt32LE(1 << 30, directory + 24)), // uncompressed size too large
      edited((bytes) => bytes.writeUInt16LE(99, directory + 10)), // unknown compression method
      edited((bytes) => bytes.writeUInt32LE(crc32(Buffer.from('other')), directory + 16)), // wrong CRC-32
      edited((bytes) => bytes.fill(0xff, 30 + zipFiles[0]!.name.length, 40 + zipFiles[0]!.name.length)), // damaged deflate data
    ]);
    expect(failures(run)).toEqual([]);
    // yauzl reads the directory by its entry count; a size field past the end changes nothing it reads.
    expect(run.outcomes.map((outcome) => outcome.result)).toEqual(['refused', 'accepted', ...Array(9).fill('refused')]);
    for (const message of messages(run).filter((message) => message !== 'accepted'))
      expect(message).toMatch(/^fuzz\.zip: (the archive|entry \S+) /);
  });

  test('refuses an archive cut anywhere', async () => {
    const cuts = Array.from({ length: Math.ceil(base.length / 41) }, (_, i) => base.subarray(0, i * 41));
    const run = await runArchiveInputs('zip', cuts);
    expect(failures(run)).toEqual([]);
    expect(run.outcomes.every((outcome) => outcome.result === 'refused')).toBe(true);
  });

  test(`${MUTATIONS} mutated archives (seed ${SEED}) are each read or refused cleanly, none hangs`, async () => {
    const run = await runArchiveInputs('zip', mutations(zipBases, SEED, MUTATIONS));
    expect(failures(run)).toEqual([]);
    expect(run.outcomes).toHaveLength(MUTATIONS);
    expect(run.outcomes.some((outcome) => outcome.result === 'refused')).toBe(true);
    expect(run.outcomes.some((outcome) => outcome.result === 'accepted')).toBe(true);
  });
});
