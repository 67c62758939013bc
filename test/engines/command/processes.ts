// Processes the tests start through a command: the pid it records, and whether it has ended. A
// killed process whose parent is gone can stay a zombie where PID 1 does not reap orphans (as in
// some containers); a zombie runs nothing, so it counts as ended.

import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** The pid a command wrote to `file` (`echo $! > file`), waiting for it to be written. */
export async function recordedPid(file: string): Promise<number> {
  for (let waited = 0; waited < 10000; waited += 20) {
    const pid = Number(await readFile(file, 'utf8').catch(() => ''));
    if (pid > 0) return pid;
    await sleep(20);
  }
  throw new Error(`no pid was written to ${file}`);
}

/**
 * Whether `pid` has ended, allowing a moment: a killed process closes its files (which is what
 * lets the run finish) a little before it turns into a zombie.
 */
export async function hasEnded(pid: number): Promise<boolean> {
  for (let waited = 0; waited < 2000; waited += 20) {
    if (!(await isRunning(pid))) return true;
    await sleep(20);
  }
  return false;
}

async function isRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return !/^\d+ \(.*\) [ZX]/.test(stat);
}
