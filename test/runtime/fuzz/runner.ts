// Feeds archives to the readers in a worker thread (worker.ts, bundled by esbuild so that it runs
// without jest's transform) and watches it: an input that gives no outcome within `stallMs` is a
// hang, and the worker is terminated. Used by the archive robustness tests; the fuzz harness can
// reuse it.

import { build } from 'esbuild';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { makeTempDir, repoRoot } from '../../helpers/paths.js';
import type { ArchiveKind } from './targets.js';
import type { FuzzOutcome, FuzzRequest } from './worker.js';

export interface FuzzRun {
  outcomes: FuzzOutcome[];
  /** The index of the input the worker was stuck on: it spun past the bound, or its promise never settled. */
  hung?: number;
}

let bundled: Promise<string> | undefined;

function workerScript(): Promise<string> {
  bundled ??= (async () => {
    const outfile = join(await makeTempDir('quantgate-fuzz-'), 'worker.mjs');
    await build({
      entryPoints: [join(repoRoot, 'test', 'runtime', 'fuzz', 'worker.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      banner: { js: "import { createRequire as __fuzzCreateRequire } from 'node:module';\nconst require = __fuzzCreateRequire(import.meta.url);" },
      logLevel: 'error',
    });
    return outfile;
  })();
  return bundled;
}

/** Copying the inputs into the worker may take this long before the first input starts. */
const RECEIVE_MS = 120_000;

export async function runArchiveInputs(kind: ArchiveKind, inputs: Uint8Array[], stallMs = 5000): Promise<FuzzRun> {
  const worker = new Worker(await workerScript());
  const outcomes: FuzzOutcome[] = [];
  return new Promise<FuzzRun>((resolve, reject) => {
    let watchdog: NodeJS.Timeout;
    const arm = (ms: number) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        void worker.terminate();
        resolve({ outcomes, hung: outcomes.length });
      }, ms);
    };
    worker.on('message', (message: FuzzOutcome | 'received') => {
      if (message !== 'received') outcomes.push(message);
      arm(stallMs);
    });
    worker.once('error', (error) => {
      clearTimeout(watchdog);
      reject(error);
    });
    worker.once('exit', () => {
      clearTimeout(watchdog);
      // A worker whose event loop empties while a read is pending exits early: a read that never settles.
      resolve(outcomes.length < inputs.length ? { outcomes, hung: outcomes.length } : { outcomes });
    });
    arm(RECEIVE_MS);
    worker.postMessage({ kind, inputs } satisfies FuzzRequest);
  });
}
