// The code each conversion worker runs, as a self-contained CommonJS source string: the pool
// starts it with `new Worker(source, { eval: true })`, which needs no file on disk and so works
// alike from the TypeScript sources (jest), the tsc build in lib/ and a single-file bundle.
// It instantiates the kernel module it gets in workerData and converts one job per message,
// feeding the kernel chunk by chunk and transferring the result's buffer back. A job gives its
// source values either as bytes, or as a range of a file that the worker reads straight into the
// kernel's memory, so the main thread neither reads nor copies them.
//
// Message in:  { id, source: GgmlTypeInfo, target: GgmlTypeInfo, bytes: Uint8Array }
//           or { id, source, target, range: { path, position, length } }
// Message out: { id, data: Uint8Array, firstNonFinite } or { id, error: string, reading: boolean }

export const KERNEL_WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const kernel = new WebAssembly.Instance(workerData.kernel, {}).exports;
const heap = new Uint8Array(kernel.memory.buffer);
const sourceArea = kernel.source_area();
const targetArea = kernel.target_area();
const chunkValues = kernel.chunk_values();
// The kernel works in whole blocks of 32; a tail of F16 or F32 values is padded with zeros.
const KERNEL_STEP = 32;

// Converts the job's values chunk by chunk: \`fill(done, values)\` puts the next \`values\` source
// values at sourceArea, copying them from the job's bytes or reading them from its file straight
// into the kernel's memory.
function run(source, target, count, fill) {
  const data = new Uint8Array((count / target.blockSize) * target.typeSize);
  let firstNonFinite = -1;
  for (let done = 0; done < count; done += chunkValues) {
    const values = Math.min(chunkValues, count - done);
    const padded = Math.ceil(values / KERNEL_STEP) * KERNEL_STEP;
    fill(done, values);
    heap.fill(0, sourceArea + values * source.typeSize, sourceArea + padded * source.typeSize);
    const found = kernel.convert(source.id, target.id, padded);
    if (found >= 0 && firstNonFinite < 0) firstNonFinite = done + found;
    const written = (values / target.blockSize) * target.typeSize;
    data.set(heap.subarray(targetArea, targetArea + written), (done / target.blockSize) * target.typeSize);
  }
  return { data, firstNonFinite };
}

function convertBytes(source, target, bytes) {
  const size = source.typeSize;
  return run(source, target, bytes.length / size, (done, values) => heap.set(bytes.subarray(done * size, (done + values) * size), sourceArea));
}

class ReadError extends Error {}

function convertRange(source, target, { path, position, length }) {
  const size = source.typeSize;
  let fd;
  try {
    fd = fs.openSync(path, 'r');
  } catch (error) {
    throw new ReadError(error.message);
  }
  try {
    return run(source, target, length / size, (done, values) => {
      for (let filled = 0; filled < values * size; ) {
        const at = position + done * size + filled;
        let count;
        try {
          count = fs.readSync(fd, heap, sourceArea + filled, values * size - filled, at);
        } catch (error) {
          throw new ReadError(error.message);
        }
        if (count === 0) throw new ReadError('the file ended at byte ' + at + ', inside a tensor');
        filled += count;
      }
    });
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', ({ id, source, target, bytes, range }) => {
  let result;
  try {
    result = range ? convertRange(source, target, range) : convertBytes(source, target, bytes);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error), reading: error instanceof ReadError });
    return;
  }
  parentPort.postMessage({ id, data: result.data, firstNonFinite: result.firstNonFinite }, [result.data.buffer]);
});
`;
