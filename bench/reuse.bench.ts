// Content-addressed reuse on the offline demo job, each run a whole `quantgate run` process as a
// user starts it, into the same output folder: a first run into an empty results store; the same
// command again, which keeps the quantized output it finds and reuses both variants; and the
// command with another --keep, whose quantized file (and so only the candidate) changes. Reported: each run's wall time, and the two later ones as ratios against the first of
// the same round (targets: ≤ 10% and ≤ 60%). The runs take turns in each round, and the median of
// the rounds is kept, so a load that comes and goes slows them alike.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, seconds } from './measure.js';

const ROUNDS = 3;
/** The CLI as a user runs it (the build in lib/, which `npm run build` makes); `npm run bench` runs in the repository root. */
const BIN = join(process.cwd(), 'bin', 'quantgate.js');

function quantgateRun(args: readonly string[]): void {
  const run = spawnSync(process.execPath, [BIN, 'run', ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`quantgate run ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
}

export const bench = {
  name: 'reuse',
  summary: 'the demo job run again with its results stored: both variants reused, and the reference only',
  run: async () => {
    const times = { first: [] as number[], same: [] as number[], keep: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const dir = await mkdtemp(join(tmpdir(), 'quantgate-reuse-bench-'));
      try {
        const common = ['--results-cache', join(dir, 'results'), '--out-dir', join(dir, 'out')];
        times.first.push(await seconds(() => quantgateRun(common)));
        times.same.push(await seconds(() => quantgateRun(common)));
        times.keep.push(await seconds(() => quantgateRun([...common, '--keep', 'layers.0.*'])));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const first = median(times.first);
    const ratio = (values: number[]) => median(values.map((value, round) => value / times.first[round]!));
    console.log(`first run (both variants evaluated): ${first.toFixed(2)} s`);
    console.log(
      `same run again (both variants reused): ${median(times.same).toFixed(2)} s, ${(100 * ratio(times.same)).toFixed(1)}% of the first (target ≤ 10%)`,
    );
    console.log(
      `another --keep (reference reused, candidate evaluated): ${median(times.keep).toFixed(2)} s, ${(100 * ratio(times.keep)).toFixed(1)}% of the first (target ≤ 60%)`,
    );
  },
};
