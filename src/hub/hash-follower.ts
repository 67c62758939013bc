// Hashes a file in a worker thread while another thread writes it: the writer says how many bytes
// are on disk, and the worker reads them back (from the page cache) and hashes them. A download
// then receives and writes on one core while a second one hashes; hashing inline on the receiving
// thread caps a download at what one core does for all three.

import { Worker } from 'node:worker_threads';
import type { BlobHashRecipe } from './integrity.js';

export interface HashFollower {
  /** Says that the file's first `bytes` bytes are written. */
  written(bytes: number): void;
  /** Waits until every written byte is hashed; the hex digest. */
  digest(): Promise<string>;
  /** Stops the worker, abandoning the digest. */
  cancel(): Promise<void>;
}

// Shared state, as BigInt64 slots: bytes written, whether writing has ended, and a sequence number
// that each update bumps, which the worker sleeps on so that no update goes unnoticed.
const WRITTEN = 0;
const ENDED = 1;
const SEQUENCE = 2;

const WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
const { path, algorithm, prefix, shared } = workerData;
const state = new BigInt64Array(shared);
const hash = createHash(algorithm).update(prefix);
const buffer = Buffer.allocUnsafe(1 << 20);
const fd = openSync(path, 'r');
let position = 0;
try {
  for (;;) {
    const sequence = Atomics.load(state, ${SEQUENCE});
    const written = Number(Atomics.load(state, ${WRITTEN}));
    if (position < written) {
      const count = readSync(fd, buffer, 0, Math.min(buffer.length, written - position), position);
      if (count === 0) throw new Error(path + ' ends at byte ' + position + ', before the ' + written + ' bytes said to be written');
      hash.update(buffer.subarray(0, count));
      position += count;
    } else if (Atomics.load(state, ${ENDED}) !== 0n) {
      break;
    } else {
      Atomics.wait(state, ${SEQUENCE}, sequence);
    }
  }
  parentPort.postMessage({ digest: hash.digest('hex') });
} finally {
  closeSync(fd);
}
`;

/** Starts hashing the file at `path`, which must exist, the way `recipe` says. */
export function followFile(path: string, recipe: BlobHashRecipe): HashFollower {
  const shared = new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT);
  const state = new BigInt64Array(shared);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, ...recipe, shared } });
  const result = new Promise<string>((resolve, reject) => {
    worker.once('message', (message: { digest: string }) => resolve(message.digest));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`the hashing thread for ${path} stopped (exit code ${code}) before its digest`)),
    );
  });
  // A cancelled follower's rejection is nobody's concern.
  result.catch(() => undefined);
  const update = (slot: number, value: bigint) => {
    Atomics.store(state, slot, value);
    Atomics.add(state, SEQUENCE, 1n);
    Atomics.notify(state, SEQUENCE);
  };
  return {
    written: (bytes) => update(WRITTEN, BigInt(bytes)),
    async digest() {
      update(ENDED, 1n);
      try {
        return await result;
      } finally {
        await worker.terminate();
      }
    },
    async cancel() {
      await worker.terminate();
    },
  };
}
