// A pool of worker threads, one per core by default, each with its own instance of the
// WebAssembly kernel (kernel.c), converting chunks of safetensors source bytes to GGUF tensor
// bytes in parallel. Source bytes come from the caller, or each worker reads them from a file
// range itself, which keeps reading off the caller's thread. Buffers move by transfer, not copy.
// Results are identical to the scalar codecs in codec.ts. Callers may keep many jobs in flight;
// each job's promise settles on its own, so the caller writes results in whatever order it needs.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { QuantgateError, describeError } from '../common/errors.js';
import { GGML_TYPES } from '../formats/gguf/constants.js';
import type { SourceType, TargetType } from './codec.js';
import { KERNEL_WASM_BASE64 } from './kernel-wasm.js';
import { KERNEL_WORKER_SOURCE } from './kernel-worker.js';

/** Bytes of a file that a worker reads for itself. */
export interface FileRange {
  path: string;
  position: number;
  length: number;
}

/**
 * Little-endian source values, a whole number of blocks of `target`: `bytes` the pool owns until
 * the job settles (a view spanning its whole ArrayBuffer is transferred to a worker, detaching it
 * for the caller; any other view is copied), or a `range` of a file.
 */
export type ConvertJob = { source: SourceType; target: TargetType } & ({ bytes: Uint8Array } | { range: FileRange });

export interface ConvertResult {
  /** The values in `target`'s layout. */
  data: Uint8Array;
  /** Index of the first NaN or infinity among the source values, or -1 if there is none. */
  firstNonFinite: number;
}

export interface ConvertPool {
  readonly threads: number;
  convert(job: ConvertJob): Promise<ConvertResult>;
  /** Rejects the jobs still pending and stops the workers. */
  close(): Promise<void>;
}

export interface ConvertPoolOptions {
  /** Worker threads; one per core by default. */
  threads?: number;
  /** The bytes of the kernel module the workers run; the built-in kernel.c by default. */
  kernelWasm?: Uint8Array;
}

/** One job converting while the next waits in the worker's queue, so no worker idles between jobs. */
const JOBS_PER_WORKER = 2;

// The project's TypeScript libraries leave WebAssembly undeclared (it comes with the DOM lib);
// this is the one constructor used here. A compiled module is passed on to the workers untouched.
declare const WebAssembly: { Module: new (bytes: Uint8Array) => CompiledModule };
type CompiledModule = object;

let builtInKernel: CompiledModule | undefined;

function compiledKernel(): CompiledModule {
  builtInKernel ??= new WebAssembly.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
  return builtInKernel;
}

export function createConvertPool(options: ConvertPoolOptions = {}): ConvertPool {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`a conversion pool needs a whole number of threads, at least 1, not ${threads}`);
  }
  return new WorkerPool(threads, options.kernelWasm ? new WebAssembly.Module(options.kernelWasm) : compiledKernel());
}

interface Pending {
  id: number;
  job: ConvertJob;
  resolve: (result: ConvertResult) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Pending>;
}

type Reply = { id: number; data: Uint8Array; firstNonFinite: number } | { id: number; error: string; reading: boolean };

class WorkerPool implements ConvertPool {
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  /** Set once the pool can run no more jobs: closed, or a worker died. */
  private stopped: Error | undefined;

  constructor(
    readonly threads: number,
    kernel: CompiledModule,
  ) {
    this.slots = Array.from({ length: threads }, () => this.startWorker(kernel));
  }

  convert(job: ConvertJob): Promise<ConvertResult> {
    return new Promise((resolve, reject) => {
      if (this.stopped) throw this.stopped;
      checkJob(job);
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.stop(new Error('the conversion pool was closed before this job finished'));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private startWorker(kernel: CompiledModule): Slot {
    const worker = new Worker(KERNEL_WORKER_SOURCE, { eval: true, workerData: { kernel } });
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on('message', (reply: Reply) => this.settle(slot, reply));
    worker.on('error', (error) =>
      this.stop(new Error(`a conversion worker crashed: ${describeError(error)}`, { cause: error })),
    );
    worker.on('exit', (code) => this.stop(new Error(`a conversion worker exited unexpectedly (exit code ${code})`)));
    // An idle worker must not keep the process alive; a busy one must, until its jobs settle.
    // (After the listeners: adding a 'message' listener refs the worker's port again.)
    worker.unref();
    return slot;
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.stopped) {
      const slot = this.slots.reduce((best, candidate) =>
        candidate.inFlight.size < best.inFlight.size ? candidate : best,
      );
      if (slot.inFlight.size >= JOBS_PER_WORKER) return;
      const pending = this.queue.shift()!;
      const { job } = pending;
      if (slot.inFlight.size === 0) slot.worker.ref();
      slot.inFlight.set(pending.id, pending);
      const message = { id: pending.id, source: GGML_TYPES[job.source], target: GGML_TYPES[job.target] };
      if ('range' in job) slot.worker.postMessage({ ...message, range: job.range });
      else {
        const owned = transferable(job.bytes);
        slot.worker.postMessage({ ...message, bytes: owned }, [owned.buffer]);
      }
    }
  }

  private settle(slot: Slot, reply: Reply): void {
    const pending = slot.inFlight.get(reply.id);
    if (!pending) return;
    slot.inFlight.delete(reply.id);
    if (slot.inFlight.size === 0) slot.worker.unref();
    if ('error' in reply) {
      const { job } = pending;
      pending.reject(
        reply.reading && 'range' in job
          ? new QuantgateError(
              `reading ${job.range.path} failed (${reply.error}); check the disk and that the file is not changing, then run again`,
            )
          : new Error(`the conversion kernel failed on a ${job.source} to ${job.target} job: ${reply.error}`),
      );
    } else {
      pending.resolve({ data: reply.data, firstNonFinite: reply.firstNonFinite });
    }
    this.dispatch();
  }

  /** Rejects every pending job with `reason` and stops the workers; later jobs reject too. */
  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    const pending = [...this.queue.splice(0), ...this.slots.flatMap((slot) => [...slot.inFlight.values()])];
    for (const slot of this.slots) {
      slot.inFlight.clear();
      void slot.worker.terminate();
    }
    for (const job of pending) job.reject(reason);
  }
}

/** `bytes` itself when it spans a whole ArrayBuffer, else a copy that does. */
function transferable(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const { buffer } = bytes;
  const whole = buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength;
  return whole ? new Uint8Array(buffer) : new Uint8Array(bytes);
}

const SOURCES: readonly string[] = ['F32', 'F16', 'BF16'] satisfies SourceType[];
const TARGETS: readonly string[] = ['F32', 'F16', 'Q4_0', 'Q8_0'] satisfies TargetType[];

function checkJob(job: ConvertJob): void {
  const { source, target } = job;
  if (!SOURCES.includes(source))
    throw new RangeError(`cannot convert from ${source}; sources are ${SOURCES.join(', ')}`);
  if (!TARGETS.includes(target)) throw new RangeError(`cannot convert to ${target}; targets are ${TARGETS.join(', ')}`);
  const length = 'range' in job ? job.range.length : job.bytes.length;
  const { typeSize } = GGML_TYPES[source];
  const { blockSize } = GGML_TYPES[target];
  if (length % typeSize !== 0) {
    throw new RangeError(`${length} bytes is not a whole number of ${source} values of ${typeSize} bytes`);
  }
  if ((length / typeSize) % blockSize !== 0) {
    throw new RangeError(`${length / typeSize} values is not a whole number of ${target} blocks of ${blockSize}`);
  }
}
