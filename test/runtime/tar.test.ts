import { QuantgateError } from '../../src/common/errors.js';
import { readTar, type TarEntry } from '../../src/runtime/tar.js';
import { tarArchive } from './tarball.js';

/** The archive as a stream of `size`-byte chunks, counting the bytes read. */
function chunked(archive: Buffer, size: number): AsyncIterable<Uint8Array> & { consumed: number } {
  const source = {
    consumed: 0,
    async *[Symbol.asyncIterator]() {
      for (let at = 0; at < archive.length; at += size) {
        const chunk = archive.subarray(at, at + size);
        source.consumed += chunk.length;
        yield chunk;
      }
    },
  };
  return source;
}

async function readAll(archive: Buffer, chunkSize = 7): Promise<{ entry: TarEntry; content: string }[]> {
  const read: { entry: TarEntry; content: string }[] = [];
  await readTar(chunked(archive, chunkSize), 'test.tgz', async (entry, body) => {
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(Buffer.from(part));
    read.push({ entry, content: Buffer.concat(parts).toString('utf8') });
  });
  return read;
}

const longPath = `package/${'deeply/'.repeat(20)}nested.js`;

describe('readTar', () => {
  test('hands over files, folders and links in order, with contents streamed across chunk boundaries', async () => {
    const big = 'x'.repeat(1500);
    const archive = tarArchive([
      { path: 'package/', type: 'directory' },
      { path: 'package/package.json', content: '{"name":"p"}' },
      { path: 'package/bin/tool', content: big, mode: 0o755 },
      { path: 'package/empty.txt', content: '' },
      { path: 'package/link', type: 'symlink' },
      { path: longPath, content: 'pax' },
      { path: `${longPath}.gnu`, content: 'gnu', longPath: 'gnu' },
    ]);
    for (const chunkSize of [1, 7, 512, 100_000]) {
      expect(await readAll(archive, chunkSize)).toEqual([
        { entry: { path: 'package', type: 'directory', size: 0, mode: 0o755 }, content: '' },
        { entry: { path: 'package/package.json', type: 'file', size: 12, mode: 0o644 }, content: '{"name":"p"}' },
        { entry: { path: 'package/bin/tool', type: 'file', size: 1500, mode: 0o755 }, content: big },
        { entry: { path: 'package/empty.txt', type: 'file', size: 0, mode: 0o644 }, content: '' },
        { entry: { path: 'package/link', type: 'symlink', size: 0, mode: 0o644 }, content: '' },
        { entry: { path: longPath, type: 'file', size: 3, mode: 0o644 }, content: 'pax' },
        { entry: { path: `${longPath}.gnu`, type: 'file', size: 3, mode: 0o644 }, content: 'gnu' },
      ]);
    }
  });

  test('skips what a visitor leaves unread, and reads the source to its end', async () => {
    const archive = tarArchive([
      { path: 'package/a.bin', content: 'a'.repeat(3000) },
      { path: 'package/b.txt', content: 'second' },
    ]);
    const source = chunked(archive, 64);
    const seen: string[] = [];
    await readTar(source, 'test.tgz', async (entry, body) => {
      if (entry.path.endsWith('.txt')) for await (const part of body) seen.push(Buffer.from(part).toString());
    });
    expect(seen).toEqual(['second']);
    expect(source.consumed).toBe(archive.length);
  });

  test('reads base-256 sizes, as GNU tar writes past 8 GiB', async () => {
    const archive = tarArchive([{ path: 'package/f', content: 'hello' }]);
    archive.fill(0, 124, 136);
    archive[124] = 0x80;
    archive[135] = 5;
    archive.fill(0x20, 148, 156);
    archive.write(
      `${archive
        .subarray(0, 512)
        .reduce((sum, byte) => sum + byte, 0)
        .toString(8)
        .padStart(6, '0')}\0 `,
      148,
      'latin1',
    );
    expect(await readAll(archive)).toEqual([
      { entry: expect.objectContaining({ path: 'package/f', size: 5 }), content: 'hello' },
    ]);
  });

  test.each([
    [
      'a damaged header',
      (archive: Buffer) => ((archive[10] = 0x41), archive),
      'test.tgz has a damaged tar header; the download is corrupt — download it again',
    ],
    [
      'an archive cut inside an entry',
      (archive: Buffer) => archive.subarray(0, 512 + 100),
      'test.tgz ends in the middle of an entry; the download is cut short',
    ],
    [
      'an archive without its end marker',
      (archive: Buffer) => archive.subarray(0, 1024),
      'test.tgz ends without the end-of-archive marker',
    ],
  ])('refuses %s in one line', async (_case, damage, message) => {
    const attempt = readAll(damage(tarArchive([{ path: 'package/f', content: 'x'.repeat(300) }])));
    await expect(attempt).rejects.toThrow(QuantgateError);
    await expect(attempt).rejects.toThrow(message);
  });
});
