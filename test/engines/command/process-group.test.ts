import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcessGroup, type GroupRunOptions } from '../../../src/engines/command/process-group.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { hasEnded, recordedPid } from './processes.js';

afterAll(removeTempDirs);

const run = (command: string, options: Partial<GroupRunOptions> = {}) =>
  runProcessGroup(command, { env: process.env, ...options });

describe('runProcessGroup', () => {
  it('reports the exit code and hands over each non-blank line of stdout and stderr as it arrives', async () => {
    const lines: string[] = [];
    const outcome = await run(
      `echo one; echo; printf 'two\\r\\n' >&2; printf 'thr'; printf 'ee\\n'; printf 'no newline' >&2; exit 4`,
      { onLine: (line) => lines.push(line) },
    );
    expect(outcome).toEqual({ code: 4, signal: null, timedOut: false, stderrTail: 'two ⏎ no newline' });
    expect(lines.sort()).toEqual(['no newline', 'one', 'three', 'two']);
  });

  it('keeps only the latest state of a line redrawn with carriage returns', async () => {
    const lines: string[] = [];
    const outcome = await run(`printf 'load 10%%\\rload 50%%\\rload 100%%\\n' >&2; printf 'bar 1\\rbar 2' >&2`, {
      onLine: (line) => lines.push(line),
    });
    expect(lines).toEqual(['load 100%', 'bar 2']);
    expect(outcome.stderrTail).toBe('load 100% ⏎ bar 2');
  });

  it('keeps the last 10 stderr lines, and at most 2 KB of them', async () => {
    const many = await run('i=1; while [ $i -le 25 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 1');
    expect(many.stderrTail).toBe(Array.from({ length: 10 }, (_, i) => `line ${i + 16}`).join(' ⏎ '));
    const long = await run(`node -e "process.stderr.write('a'.repeat(3000) + 'Z\\n' + 'b'.repeat(1500) + 'END')"`);
    expect(long.stderrTail).toHaveLength(2048);
    expect(long.stderrTail).toMatch(/^…a+Z ⏎ b{1500}END$/);
  });

  it('redacts lines and the stderr tail, even a secret that straddles where the tail begins', async () => {
    const lines: string[] = [];
    const secret = 's3cr3t-'.repeat(10);
    const redact = (text: string) => text.split(secret).join('***');
    // The 2 KB tail begins 17 characters before the secret's end.
    const outcome = await run(
      `node -e "process.stderr.write('x'.repeat(6100) + '${secret}' + 'y'.repeat(2030))"; echo 'token ${secret}'`,
      { onLine: (line) => lines.push(line), redact },
    );
    expect(outcome.stderrTail).toMatch(/^…x+\*\*\*y{2030}$/);
    expect(lines).toContain('token ***');
    expect(lines.join('')).not.toMatch(/s3cr3t/);
  });

  it('stops the whole group at the timeout, grandchildren included', async () => {
    const pidFile = join(await makeTempDir(), 'pid');
    const started = Date.now();
    const outcome = await run(`sleep 30 & echo $! > '${pidFile}'; wait`, { timeoutMs: 1000 });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(outcome).toMatchObject({ timedOut: true, code: null, signal: 'SIGTERM' });
    expect(await hasEnded(await recordedPid(pidFile))).toBe(true);
  });

  it('sends SIGKILL when the group ignores SIGTERM', async () => {
    const pidFile = join(await makeTempDir(), 'pid');
    const started = Date.now();
    const outcome = await run(`trap '' TERM; sleep 30 & echo $! > '${pidFile}'; wait`, { timeoutMs: 1000 });
    const elapsed = Date.now() - started;
    expect(outcome).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(elapsed).toBeGreaterThanOrEqual(6000);
    expect(elapsed).toBeLessThan(12000);
    expect(await hasEnded(await recordedPid(pidFile))).toBe(true);
  });

  it('stops what the command left running in the background once it exits', async () => {
    const pidFile = join(await makeTempDir(), 'pid');
    const started = Date.now();
    const outcome = await run(`sleep 30 & echo $! > '${pidFile}'; exit 0`);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(outcome).toMatchObject({ code: 0, timedOut: false });
    expect(await hasEnded(await recordedPid(pidFile))).toBe(true);
  });

  it('stops the group on abort and rejects with the abort reason', async () => {
    const pidFile = join(await makeTempDir(), 'pid');
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    const running = run(`sleep 30 & echo $! > '${pidFile}'; wait`, { signal: controller.signal });
    const pid = await recordedPid(pidFile);
    const aborted = Date.now();
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(Date.now() - aborted).toBeLessThan(3000);
    expect(await hasEnded(pid)).toBe(true);
  });

  it('starts nothing when already aborted', async () => {
    const marker = join(await makeTempDir(), 'ran');
    const reason = new Error('cancelled before');
    await expect(run(`touch '${marker}'`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
