// Start-up of the CLI: `quantgate --help`, `normalize` and `wer` should start about as fast as bare
// node, since the command table loads each command (and so each heavy dependency: the Hub client,
// the artifact and cache SDKs, onnxruntime) only when it runs. Each case is a fresh node process
// running the compiled CLI; bare node runs the same way with nothing to import. Reports the median
// of each against the 0.2 s target and as a ratio to bare node measured in the same rounds.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { medianSeconds } from './measure.js';

const ROUNDS = 15;
const TARGET_SECONDS = 0.2;
/** The compiled CLI beside this file in the benchmark build. */
const MAIN_URL = pathToFileURL(join(import.meta.dirname, '..', 'src', 'cli', 'main.js')).href;

/** A node process that imports the CLI and runs it with `args`, as bin/quantgate.js does. */
function cli(args: readonly string[], input = ''): () => void {
  const script = `const { main } = await import(${JSON.stringify(MAIN_URL)}); process.exitCode = await main(${JSON.stringify(args)});`;
  return () => spawnOrThrow(['--input-type=module', '-e', script], input);
}

function spawnOrThrow(args: readonly string[], input: string): void {
  const run = spawnSync(process.execPath, args, { input, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
}

export const bench = {
  name: 'startup',
  summary: 'CLI start-up: --help, normalize and wer against bare node',
  run: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quantgate-startup-'));
    try {
      const transcripts = join(dir, 'transcripts.txt');
      await writeFile(transcripts, 'a\tHELLO WORLD\nb\tTHE CAT SAT\n');
      const cases: [string, () => void][] = [
        ['bare node', () => spawnOrThrow(['--input-type=module', '-e', '0'], '')],
        ['quantgate --help', cli(['--help'])],
        ['quantgate normalize', cli(['normalize'], "Hello, World! It's 25 past.\n")],
        ['quantgate wer', cli(['wer', '--reference', transcripts, '--hypothesis', transcripts])],
        ['quantgate run --help', cli(['run', '--help'])],
        ['quantgate quantize --help', cli(['quantize', '--help'])],
      ];
      const medians = await medianSeconds(
        cases.map(([, job]) => job),
        ROUNDS,
      );
      const bare = medians[0]!;
      for (const [index, [label]] of cases.entries()) {
        const time = medians[index]!;
        const verdict =
          index === 0
            ? ''
            : time < TARGET_SECONDS
              ? `  (under the ${TARGET_SECONDS} s target)`
              : `  (over the ${TARGET_SECONDS} s target)`;
        console.log(
          `${label.padEnd(26)} ${(time * 1000).toFixed(0).padStart(5)} ms  ${(time / bare).toFixed(2)}× bare node${verdict}`,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
