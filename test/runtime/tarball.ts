// Writes tar archives for the tests of the tar reader and the onnxruntime install, the way npm
// packs packages (ustar; long paths as pax records) or GNU tar does (long names as ././@LongLink).

import { gzipSync } from 'node:zlib';

export interface TarInput {
  path: string;
  content?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink';
  mode?: number;
  /** How a path over 100 bytes is stored; pax by default. */
  longPath?: 'pax' | 'gnu';
}

const BLOCK = 512;

export function tarArchive(entries: readonly TarInput[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    const type = entry.type ?? 'file';
    const flag = { file: '0', directory: '5', symlink: '2' }[type];
    let name = entry.path;
    if (Buffer.byteLength(name) > 100) {
      if (entry.longPath === 'gnu') {
        blocks.push(header('././@LongLink', name.length + 1, 'L', 0o644), padded(Buffer.from(`${name}\0`)));
      } else {
        const record = paxRecord('path', name);
        blocks.push(header(`PaxHeader/${name.slice(0, 80)}`, record.length, 'x', 0o644), padded(record));
      }
      name = name.slice(0, 100);
    }
    blocks.push(
      header(name, type === 'file' ? content.length : 0, flag, entry.mode ?? (type === 'directory' ? 0o755 : 0o644)),
    );
    if (type === 'file') blocks.push(padded(content));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  const archive = Buffer.concat(blocks);
  // tar pads archives to whole 10 KiB records.
  return Buffer.concat([archive, Buffer.alloc((20 * BLOCK - (archive.length % (20 * BLOCK))) % (20 * BLOCK))]);
}

export function tgz(entries: readonly TarInput[]): Buffer {
  return gzipSync(tarArchive(entries), { level: 1 });
}

function header(name: string, size: number, flag: string, mode: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode, 7), 100, 'latin1');
  block.write(octal(0, 7), 108, 'latin1');
  block.write(octal(0, 7), 116, 'latin1');
  block.write(octal(size, 11), 124, 'latin1');
  block.write(octal(0, 11), 136, 'latin1');
  block.write(flag, 156, 'latin1');
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  block.fill(0x20, 148, 156);
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${octal(sum, 6)}\0 `, 148, 'latin1');
  return block;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return Buffer.from(`${length}${body}`);
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width, '0');
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
}
