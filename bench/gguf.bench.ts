// GGUF output and input on a model-sized workload: 96 Q4_0 tensors of 2048×2048 (about 226 MB),
// fed to the writers in 1 MiB chunks as the quantizer produces them. Each output format (single
// file, byte shards, gguf-split; all hash what they write) is timed against a plain sequential
// write of the same bytes, and against that write plus SHA-256 (the floor for a hashed output),
// each with a final fsync. Files go to /dev/shm where it exists, so the figures measure this code
// rather than the disk (whose write-back from one run lands on the next); the variants take turns
// and the median of three runs is reported. Reading tensors back, the FNV dump and manifest
// verification are timed against a plain sequential read of the file.

import { createHash, randomFillSync } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeByteShards } from '../src/formats/gguf/byte-shards.js';
import { GgufValueType } from '../src/formats/gguf/constants.js';
import { dumpGguf } from '../src/formats/gguf/dump.js';
import { alignUp, planGguf, type GgufTensorSpec } from '../src/formats/gguf/layout.js';
import { verifyManifest, writeManifest } from '../src/formats/gguf/manifest.js';
import { openGguf } from '../src/formats/gguf/reader.js';
import type { WrittenFile } from '../src/formats/gguf/sink.js';
import { planGgufSplit, writeGgufSplit } from '../src/formats/gguf/split.js';
import { writeGgufFile, type GgufDataWriter } from '../src/formats/gguf/writer.js';
import { median, seconds } from './measure.js';
import { inMemoryScratchDir } from './scratch.js';

const TENSORS = 96;
const CHUNK_BYTES = 1 << 20;
const PART_BYTES = 64_000_000;

const tensors: GgufTensorSpec[] = Array.from({ length: TENSORS }, (_, index) => ({
  name: `blk.${index}.weight`,
  type: 'Q4_0',
  ne: [2048, 2048],
}));
const metadata = [{ key: 'general.architecture', type: GgufValueType.STRING, value: 'stt' } as const];
const layout = planGguf(metadata, tensors);
const chunk = randomFillSync(new Uint8Array(CHUNK_BYTES));

function* tensorChunks(size: number): Generator<Uint8Array> {
  for (let done = 0; done < size; done += CHUNK_BYTES) yield chunk.subarray(0, Math.min(CHUNK_BYTES, size - done));
}

async function fill(writer: GgufDataWriter): Promise<void> {
  for (const tensor of layout.tensors) await writer.writeTensor(tensor.name, tensorChunks(tensor.size));
}

async function plainWrite(path: string, hashed: boolean): Promise<void> {
  const handle = await open(path, 'w');
  const hash = createHash('sha256');
  const write = async (bytes: Uint8Array) => {
    if (hashed) hash.update(bytes);
    await handle.write(bytes);
  };
  try {
    await write(layout.header);
    for (const tensor of layout.tensors) {
      for (const part of tensorChunks(tensor.size)) await write(part);
      await write(new Uint8Array(alignUp(tensor.size, layout.alignment) - tensor.size));
    }
    await handle.sync();
    hash.digest();
  } finally {
    await handle.close();
  }
}

async function plainRead(path: string): Promise<void> {
  const handle = await open(path, 'r');
  const buffer = new Uint8Array(4 << 20);
  try {
    for (let position = 0; ; position += buffer.byteLength) {
      if ((await handle.read(buffer, 0, buffer.byteLength, position)).bytesRead === 0) break;
    }
  } finally {
    await handle.close();
  }
}

const RUNS = 3;

export const bench = {
  name: 'gguf',
  summary: `GGUF writers and reader on ${TENSORS} Q4_0 tensors (${(layout.totalSize / 1e6).toFixed(0)} MB)`,
  run: async () => {
    const dir = await inMemoryScratchDir('quantgate-bench-gguf-');
    console.log(`files in ${dir}`);
    const megabytes = layout.totalSize / 1e6;
    const line = (label: string, time: number, ratios = '') =>
      console.log(`${label.padEnd(46)} ${(megabytes / time).toFixed(0).padStart(5)} MB/s${ratios}`);
    try {
      const single = join(dir, 'model.gguf');
      let written: WrittenFile | undefined;
      const plainPath = join(dir, 'plain.gguf');
      const writes: Record<string, [output: string, work: () => Promise<unknown>]> = {
        'plain write (baseline)': [plainPath, () => plainWrite(plainPath, false)],
        'plain write + sha256 (hashed baseline)': [plainPath, () => plainWrite(plainPath, true)],
        'single .gguf (atomic, sha256)': [single, async () => (written = await writeGgufFile(single, layout, fill))],
        'byte shards of 64 MB (sha256 each)': [
          join(dir, 'shards'),
          () => writeByteShards(join(dir, 'shards'), layout, PART_BYTES, fill),
        ],
        'gguf-split, 64 MB files (sha256 each)': [
          join(dir, 'split'),
          () =>
            writeGgufSplit(
              join(dir, 'split'),
              'model',
              planGgufSplit(metadata, tensors, { maxFileBytes: PART_BYTES }),
              fill,
            ),
        ],
      };
      const times = new Map<string, number[]>();
      for (let run = 0; run < RUNS; run++) {
        for (const [label, [output, work]] of Object.entries(writes)) {
          await rm(output, { recursive: true, force: true });
          times.set(label, [...(times.get(label) ?? []), await seconds(work)]);
        }
      }
      await rm(plainPath);
      const plain = median(times.get('plain write (baseline)')!);
      const hashed = median(times.get('plain write + sha256 (hashed baseline)')!);
      for (const label of Object.keys(writes)) {
        const time = median(times.get(label)!);
        line(
          `write: ${label}`,
          time,
          time === plain ? '' : `  ${(time / plain).toFixed(2)}× plain, ${(time / hashed).toFixed(2)}× hashed`,
        );
      }

      const readBaseline = await seconds(() => plainRead(single));
      line('read: plain sequential (baseline)', readBaseline);
      const file = await openGguf(single);
      try {
        const time = await seconds(async () => {
          for (const tensor of file.tensors) for await (const part of file.readChunks(tensor.name)) void part;
        });
        line('read: every tensor in 4 MiB chunks', time, `  ${(time / readBaseline).toFixed(2)}× plain`);
        const dumpTime = await seconds(() => dumpGguf(file));
        line('read: dump (FNV-1a 64 of every tensor)', dumpTime, `  ${(dumpTime / readBaseline).toFixed(2)}× plain`);
      } finally {
        await file.close();
      }
      const shards = await openGguf(join(dir, 'shards'));
      try {
        const time = await seconds(async () => {
          for (const tensor of shards.tensors) for await (const part of shards.readChunks(tensor.name)) void part;
        });
        line('read: every tensor from byte shards', time, `  ${(time / readBaseline).toFixed(2)}× plain`);
      } finally {
        await shards.close();
      }
      const manifestPath = join(dir, 'manifest.json');
      await writeManifest(manifestPath, {
        format: 'single',
        files: [written!],
        tensorCount: TENSORS,
        source: {},
        tool: { name: 'bench', version: '0' },
      });
      const verifyTime = await seconds(() => verifyManifest(manifestPath));
      line(
        'read: verifyManifest (sha256 of the file)',
        verifyTime,
        `  ${(verifyTime / readBaseline).toFixed(2)}× plain`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
