// The action as a runner starts it: scripts/bundle.mjs builds dist/index.js into a temp "checkout"
// that holds only the bundle and the package files (no node_modules anywhere above it), and each
// run is `node dist/index.js` with the inputs as INPUT_* variables and fresh GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, read back after it exits.

import { execFile, spawn } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expectCleanMessage } from '../helpers/messages.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

export interface ActionRun {
  code: number;
  /** With a cancellation: from the signal to the exit. */
  stoppedAfterMs?: number;
  /** The log: workflow commands (::error::, ::group::) and lines. */
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Builds the bundle into a new temp checkout and returns its folder. */
export async function bundleIntoCheckout(): Promise<string> {
  const checkout = await makeTempDir('quantgate-checkout-');
  await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts', 'bundle.mjs'), join(checkout, 'dist')]);
  for (const file of ['package.json', 'package-lock.json', 'action.yml'])
    await copyFile(join(repoRoot, file), join(checkout, file));
  return checkout;
}

/**
 * Runs the bundled action of `checkout` in `workspace`; `env` adds runner variables (fake services,
 * tokens). With `cancelWhen`, the action gets `cancelSignal` (SIGINT, as the runner cancels a step;
 * it sends SIGTERM later) once its log satisfies it.
 */
export async function runBundledAction(
  checkout: string,
  workspace: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  cancelWhen?: (log: string) => boolean,
  cancelSignal: NodeJS.Signals = 'SIGINT',
): Promise<ActionRun> {
  const files = await makeTempDir('quantgate-runner-');
  const outputPath = join(files, 'output');
  const summaryPath = join(files, 'summary.md');
  await Promise.all([writeFile(outputPath, ''), writeFile(summaryPath, '')]);
  const inputVariables = Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]),
  );
  const child = spawn(process.execPath, [join(checkout, 'dist', 'index.js')], {
    cwd: workspace,
    env: {
      PATH: process.env.PATH,
      HOME: files,
      RUNNER_TEMP: files,
      RUNNER_TOOL_CACHE: join(files, 'tool-cache'),
      GITHUB_WORKSPACE: workspace,
      GITHUB_OUTPUT: outputPath,
      GITHUB_STEP_SUMMARY: summaryPath,
      HF_HUB_CACHE: join(files, 'hf-cache'),
      ...env,
      ...inputVariables,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let cancelledAt: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (cancelWhen?.(stdout) && cancelledAt === undefined && child.kill(cancelSignal)) cancelledAt = performance.now();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode ?? -1));
  });
  const stoppedAfterMs = cancelledAt === undefined ? undefined : performance.now() - cancelledAt;
  const run = {
    code,
    ...(stoppedAfterMs === undefined ? {} : { stoppedAfterMs }),
    stdout,
    stderr,
    outputs: parseOutputs(await readFile(outputPath, 'utf8')),
    summary: await readFile(summaryPath, 'utf8'),
  };
  // What the user sees of a failure: the annotations and anything on stderr.
  for (const kind of ['error', 'warning'] as const)
    for (const message of annotations(run, kind))
      expectCleanMessage(message, `an ::${kind}:: annotation of the action`);
  expectCleanMessage(stderr, 'the stderr of the action');
  return run;
}

/** The log's annotations of one kind (`error`, `warning`, `notice`), their messages decoded. */
export function annotations(run: ActionRun, kind: 'error' | 'warning' | 'notice'): string[] {
  const prefix = `::${kind}::`;
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'));
}

/** GITHUB_OUTPUT holds `name<<DELIMITER`, the value's lines, then `DELIMITER`. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let at = 0; at < lines.length; at++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[at]!);
    if (!match) continue;
    const end = lines.indexOf(match[2]!, at + 1);
    outputs[match[1]!] = lines.slice(at + 1, end).join('\n');
    at = end;
  }
  return outputs;
}
