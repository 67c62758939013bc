// The code each conversion worker runs, as a self-contained CommonJS source string: the pool
// starts it with `new Worker(source, { eval: true })`, which needs no file on disk and so works
// alike from the TypeScript sources (jest), the tsc build in lib/ and a single-file bundle.
// It instantiates the kernel module it gets in workerData and converts one job per message,
// feeding the kernel chunk by chunk and transferring the result's buffer back.
//
// Message in:  { id, source: GgmlTypeInfo, target: GgmlTypeInfo, bytes: Uint8Array }
// Message out: { id, data: Uint8Array, firstNonFinite } or { id, error: string }

export const KERNEL_WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const kernel = new WebAssembly.Instance(workerData.kernel, {}).exports;
const heap = new Uint8Array(kernel.memory.buffer);
const sourceArea = kernel.source_area();
const targetArea = kernel.target_area();
const chunkValues = kernel.chunk_values();
// The kernel works in whole blocks of 32; a tail of F16 or F32 values is padded with zeros.
const KERNEL_STEP = 32;

function run(source, target, bytes) {
  const count = bytes.length / source.typeSize;
  const data = new Uint8Array((count / target.blockSize) * target.typeSize);
  let firstNonFinite = -1;
  for (let done = 0; done < count; done += chunkValues) {
    const values = Math.min(chunkValues, count - done);
    const padded = Math.ceil(values / KERNEL_STEP) * KERNEL_STEP;
    heap.set(bytes.subarray(done * source.typeSize, (done + values) * source.typeSize), sourceArea);
    heap.fill(0, sourceArea + values * source.typeSize, sourceArea + padded * source.typeSize);
    const found = kernel.convert(source.id, target.id, padded);
    if (found >= 0 && firstNonFinite < 0) firstNonFinite = done + found;
    const written = (values / target.blockSize) * target.typeSize;
    data.set(heap.subarray(targetArea, targetArea + written), (done / target.blockSize) * target.typeSize);
  }
  return { data, firstNonFinite };
}

parentPort.on('message', ({ id, source, target, bytes }) => {
  let result;
  try {
    result = run(source, target, bytes);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
    return;
  }
  parentPort.postMessage({ id, data: result.data, firstNonFinite: result.firstNonFinite }, [result.data.buffer]);
});
`;
