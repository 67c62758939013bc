// Feeds archives to the readers in a worker thread (worker.ts, bundled by esbuild so that it runs
// without jest's transform) and watches it: an input that gives no outcome within `stallMs` is a
// hang (a spin, or a read that never settles), and the worker is terminated. Used by the archive
// robustness tests; the fuzz harness can reuse it.

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
      banner: {
        js: "import { createRequire as __fuzzCreateRequire } from 'node:module';\nconst require = __fuzzCreateRequire(import.meta.url);",
      },
      logLevel: 'error',
    });
    return outfile;
  })();
  return bundled;
}

/** Inputs per message to the worker: copying them in then takes far less than one input's bound. */
const BATCH = 500;

export async function runArchiveInputs(kind: ArchiveKind, inputs: Uint8Array[], stallMs = 5000): Promise<FuzzRun> {
  const worker = new Worker(await workerScript());
  const outcomes: FuzzOutcome[] = [];
  try {
    return await new Promise<FuzzRun>((resolve, reject) => {
      let watchdog: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => resolve({ outcomes, hung: outcomes.length }), stallMs);
      };
      const sendFrom = (first: number) => {
        arm();
        worker.postMessage({ kind, inputs: inputs.slice(first, first + BATCH), first } satisfies FuzzRequest);
      };
      worker.on('message', (outcome: FuzzOutcome) => {
        outcomes.push(outcome);
        if (outcomes.length === inputs.length) {
          clearTimeout(watchdog);
          resolve({ outcomes });
        } else if (outcomes.length % BATCH === 0) sendFrom(outcomes.length);
        else arm();
      });
      worker.once('error', (error) => {
        clearTimeout(watchdog);
        reject(error);
      });
      worker.once('exit', () => {
        clearTimeout(watchdog);
        resolve({ outcomes, hung: outcomes.length });
      });
      if (inputs.length === 0) resolve({ outcomes });
      else sendFrom(0);
    });
  } finally {
    await worker.terminate();
  }
}
