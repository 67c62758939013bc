// Runs the CLI in-process through `main`, as the bin does, with captured stdout and stderr. What it
// prints on stderr is the user's view of every error, so it must not show internals.

import { PassThrough, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { expectCleanMessage } from './messages.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const capture = (append: (text: string) => void) =>
    new Writable({ write: (chunk, _encoding, done) => (append(String(chunk)), done()) });
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  const code = await main(argv, {
    stdout: capture((text) => (stdout += text)),
    stderr: capture((text) => (stderr += text)),
    stdin,
    env: options.env ?? {},
  });
  expectCleanMessage(stderr, `the stderr of quantgate ${argv.join(' ')}`);
  return { code, stdout, stderr };
}
