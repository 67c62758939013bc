// The installed bin, as `npx quantgate` runs it: the package links itself as a dev dependency, so
// node_modules/.bin/quantgate runs the compiled CLI in lib/ (built by `npm test` before jest).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expectCleanMessage } from '../helpers/messages.js';
import { repoRoot } from '../helpers/paths.js';

const bin = join(repoRoot, 'node_modules', '.bin', 'quantgate');

describe('the quantgate bin', () => {
  test('lists the commands', () => {
    const run = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: quantgate <command> \[options\]/);
    expect(run.stdout).toMatch(/^ {2}run {2,}/m);
  });

  test('runs a command on stdin and exits 0', () => {
    const run = spawnSync(bin, ['normalize'], { encoding: 'utf8', input: 'Mr. Smith paid twenty dollars.\n' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('mister smith paid $20\n');
  });

  test('a bad argument is one line on stderr and exit code 2', () => {
    const run = spawnSync(bin, ['wer', '--frobnicate'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expectCleanMessage(run.stderr, 'the stderr of quantgate wer --frobnicate');
  });
});
