// Streaming safetensors throughput: the writer against plain positioned writes of the same chunks,
// and the reader's chunk stream against a plain loop of positioned reads, once bare and once with a
// consumer that does CPU work per chunk (where reading ahead overlaps I/O with that work).
// The file is freshly written, so reads come mostly from the page cache. Each pair runs alternately
// several times and reports medians, since other processes share the CPUs.

import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBytes } from '../src/common/format.js';
import { openSafetensors } from '../src/formats/safetensors.js';
import { writeSafetensors } from '../src/formats/safetensors-writer.js';
import { medianSeconds } from './measure.js';

const TENSORS = 8;
const TENSOR_BYTES = 16 << 20;
const CHUNK_BYTES = 4 << 20;
const ROUNDS = 5;

/** Stands in for decoding and quantizing a chunk: one pass over its halves. */
function consume(chunk: Uint8Array): number {
  const halves = new Uint16Array(chunk.buffer, chunk.byteOffset, chunk.byteLength >> 1);
  let sum = 0;
  for (let i = 0; i < halves.length; i++) sum = (sum + halves[i]! * 31) | 0;
  return sum;
}

export const bench = {
  name: 'safetensors',
  summary: 'streaming safetensors writes and chunked reads against plain positioned I/O',
  run: async () => {
    const path = join(tmpdir(), `quantgate-bench-${process.pid}.safetensors`);
    const baselinePath = `${path}.baseline`;
    const chunk = new Uint8Array(CHUNK_BYTES).map((_, i) => (i * 131) & 0xff);
    const specs = Array.from({ length: TENSORS }, (_, i) => ({
      name: `layers.${i}.weight`,
      dtype: 'F16' as const,
      shape: [TENSOR_BYTES / 2 / 1024, 1024],
    }));
    const total = TENSORS * TENSOR_BYTES;
    const rate = (time: number) => `${formatBytes(total / time)}/s`;
    try {
      const [plainWrite, writerWrite] = await medianSeconds(
        [
          async () => {
            const handle = await open(baselinePath, 'w');
            for (let position = 0; position < total; position += CHUNK_BYTES)
              await handle.write(chunk, 0, CHUNK_BYTES, position);
            await handle.sync();
            await handle.close();
          },
          () =>
            writeSafetensors(path, specs, async (sink) => {
              for (const spec of specs)
                for (let done = 0; done < TENSOR_BYTES; done += CHUNK_BYTES) await sink.write(spec.name, chunk);
            }),
        ],
        ROUNDS,
      );
      console.log(
        `write ${formatBytes(total)}: plain positioned writes ${rate(plainWrite)}, writeSafetensors ${rate(writerWrite)} (${(plainWrite / writerWrite).toFixed(2)}× the baseline's speed)`,
      );

      const reader = await openSafetensors(path);
      const handle = await open(path, 'r');
      try {
        const plainRead = async (work: (chunk: Uint8Array) => number) => {
          for (const tensor of reader.tensors) {
            for (let done = 0; done < tensor.byteLength; done += CHUNK_BYTES) {
              const buffer = Buffer.allocUnsafeSlow(Math.min(CHUNK_BYTES, tensor.byteLength - done));
              await handle.read(buffer, 0, buffer.byteLength, tensor.dataOffset + done);
              work(buffer);
            }
          }
        };
        const chunkedRead = async (work: (chunk: Uint8Array) => number) => {
          for (const tensor of reader.tensors) {
            for await (const piece of reader.chunks(tensor, { maxBytes: CHUNK_BYTES, elementMultiple: 32 }))
              work(piece);
          }
        };
        for (const [label, work] of [
          ['bare', () => 0],
          ['with per-chunk CPU work', consume],
        ] as const) {
          const [plain, chunked] = await medianSeconds([() => plainRead(work), () => chunkedRead(work)], ROUNDS);
          console.log(
            `read ${formatBytes(total)} in ${formatBytes(CHUNK_BYTES)} chunks, ${label}: plain positioned reads ${rate(plain)}, reader.chunks ${rate(chunked)} (${(plain / chunked).toFixed(2)}× the baseline's speed)`,
          );
        }
      } finally {
        await handle.close();
        await reader.close();
      }
    } finally {
      await rm(path, { force: true });
      await rm(baselinePath, { force: true });
    }
  },
};
