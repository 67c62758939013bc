// Runs archive inputs through their reader in a worker thread, so that a reader that spins (even
// in a microtask loop, where no timer fires) or never settles can be stopped by the thread that
// watches it. Each input's outcome is posted as soon as it is known; the posts are also the
// watchdog's heartbeat.

import { parentPort } from 'node:worker_threads';
import { isQuantgateError } from '../../../src/common/errors.js';
import { ARCHIVE_TARGETS, type ArchiveKind } from './targets.js';

/** One batch of inputs; `first` is the index of the first among all the run's inputs. */
export interface FuzzRequest {
  kind: ArchiveKind;
  inputs: Uint8Array[];
  first: number;
}

export interface FuzzOutcome {
  index: number;
  /** refused: a QuantgateError with a clean one-line message; crash: anything else thrown. */
  result: 'accepted' | 'refused' | 'crash';
  message?: string;
  ms: number;
}

/** What no message may show: internals, or more than one line. */
export const UNCLEAN_MESSAGE = /undefined|NaN|\[object Object\]|\n/;

// The runner sends the next batch once every outcome of this one has come back.
parentPort!.on('message', async ({ kind, inputs, first }: FuzzRequest) => {
  const target = ARCHIVE_TARGETS[kind];
  for (let offset = 0; offset < inputs.length; offset++) {
    const started = performance.now();
    let outcome: Omit<FuzzOutcome, 'index' | 'ms'>;
    try {
      await target(inputs[offset]!);
      outcome = { result: 'accepted' };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcome = { result: isQuantgateError(error) && !UNCLEAN_MESSAGE.test(message) ? 'refused' : 'crash', message };
    }
    parentPort!.postMessage({
      index: first + offset,
      ...outcome,
      ms: performance.now() - started,
    } satisfies FuzzOutcome);
  }
});
