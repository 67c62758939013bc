// One child process running a target, seen from the harness: it starts the child with a bounded
// heap, hands it index ranges or single inputs, and watches it. No report within the time bound is
// a hang; a child that dies (a V8 fatal error, out of memory) or whose resident memory passes the
// bound is an abort. Either way the child is killed, and a later call starts a fresh one.
// The time bound leaves out the time the child (or a process it started) spent waiting for a CPU
// that other work held: on a machine shared with other jobs, a child that is merely starved of CPU
// is not hanging. A child that loops runs (or waits its turn to run), and one that waits on
// something else waits: both still reach the bound.
//
// A child process rather than a worker thread: a V8 fatal error ("invalid size", heap exhausted)
// aborts the whole process it happens in, worker threads and all, which would take the harness down.

import { fork, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FromChild, ToChild } from './child.js';
import type { Outcome } from './outcome.js';

export interface Bounds {
  /** Longest one input may run. */
  timeoutMs: number;
  /** The child's V8 heap; its resident memory may reach twice this (plus 256 MiB) before it is killed. */
  memoryMb: number;
}

export type RangeResult = { status: 'done' } | { status: 'hang' | 'abort'; at: number; detail: string };

type Progress = Extract<FromChild, { type: 'progress' }>;

/** The compiled child beside this module; tests pass one they bundled themselves. */
const DEFAULT_CHILD = new URL('./child.js', import.meta.url);
const POLL_MS = 50;

export class Host {
  private child: ChildProcess | undefined;
  private scratchDir: string | undefined;
  private stderrTail = '';

  constructor(
    private readonly target: string,
    private readonly seeds: Uint8Array[],
    private readonly runSeed: number,
    private readonly bounds: Bounds,
    private readonly childModule: URL | string = DEFAULT_CHILD,
  ) {}

  /** Runs inputs [start, end); `onProgress` gets the counts as they come. */
  async run(
    start: number,
    end: number,
    flushMs: number,
    onProgress: (progress: Progress) => void,
    timeoutMs = this.bounds.timeoutMs,
  ): Promise<RangeResult> {
    const child = await this.started();
    let next = start;
    const result = await this.watch(
      child,
      { type: 'run', start, end, flushMs },
      (message) => {
        if (message.type !== 'progress') return false;
        next = message.next;
        onProgress(message);
        return message.next >= end;
      },
      timeoutMs,
    );
    return result.status === 'done' ? { status: 'done' } : { status: result.status, at: next, detail: result.detail };
  }

  /** Parses one input; a hang or an abort comes back as an outcome too. */
  async check(input: Uint8Array, timeoutMs = this.bounds.timeoutMs): Promise<Outcome> {
    const child = await this.started();
    let outcome: Outcome | undefined;
    const result = await this.watch(
      child,
      { type: 'check', input },
      (message) => {
        if (message.type !== 'checked') return false;
        outcome = message.outcome;
        return true;
      },
      timeoutMs,
    );
    return result.status === 'done'
      ? outcome!
      : {
          kind: result.status,
          signature: result.status === 'hang' ? 'hang' : result.detail.split('\n')[0]!,
          detail: result.detail,
        };
  }

  async close(): Promise<void> {
    this.kill();
    if (this.scratchDir) await rm(this.scratchDir, { recursive: true, force: true });
    this.scratchDir = undefined;
  }

  private async started(): Promise<ChildProcess> {
    if (this.child) return this.child;
    this.scratchDir ??= await mkdtemp(join(scratchRoot(), `quantgate-fuzz-${this.target}-`));
    const child = fork(this.childModule, [], {
      execArgv: [`--max-old-space-size=${this.bounds.memoryMb}`, '--max-semi-space-size=16'],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.stderrTail = '';
    child.stderr!.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000)));
    this.child = child;
    const init: ToChild = {
      type: 'init',
      target: this.target,
      seeds: this.seeds,
      runSeed: this.runSeed,
      scratchDir: this.scratchDir,
    };
    const ready = await this.watch(child, init, (message) => message.type === 'ready', 60_000);
    if (ready.status !== 'done') throw new Error(`the fuzz child for ${this.target} did not start: ${ready.detail}`);
    return child;
  }

  private kill(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  /** Sends `message` and waits until `isLast` says a reply ends it, the child falls silent for `timeoutMs`, or dies. */
  private watch(
    child: ChildProcess,
    message: ToChild,
    isLast: (reply: FromChild) => boolean,
    timeoutMs = this.bounds.timeoutMs,
  ): Promise<{ status: 'done' | 'hang' | 'abort'; detail: string }> {
    return new Promise((resolve) => {
      let lastHeard = Date.now();
      const starved = new StarvedTime(child.pid);
      let rssBusy = false;
      let finished = false;
      const finish = (status: 'done' | 'hang' | 'abort', detail: string) => {
        if (finished) return;
        finished = true;
        clearInterval(poll);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (status !== 'done') this.kill();
        resolve({ status, detail });
      };
      const onMessage = (reply: FromChild) => {
        lastHeard = Date.now();
        starved.reset();
        if (isLast(reply)) finish('done', '');
      };
      const onExit = (code: number | null, signal: string | null) => {
        // Give the pipe a moment to deliver V8's last words.
        setTimeout(
          () => finish('abort', `the process died (${signal ?? `exit code ${code}`}): ${this.lastWords()}`),
          20,
        );
      };
      const poll = setInterval(() => {
        if (Date.now() - lastHeard - starved.sample() > timeoutMs)
          return finish('hang', `no answer within ${timeoutMs} ms`);
        if (rssBusy || child.pid === undefined) return;
        rssBusy = true;
        residentMb(child.pid)
          .then((mb) => {
            const limit = 2 * this.bounds.memoryMb + 256;
            if (mb > limit) finish('abort', `resident memory passed ${limit} MiB`);
          })
          .finally(() => (rssBusy = false));
      }, POLL_MS);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(message);
    });
  }

  private lastWords(): string {
    const lines = this.stderrTail.split('\n').filter((line) => /fatal|error|memory|invalid/i.test(line));
    return (lines[0] ?? this.stderrTail.split('\n')[0] ?? '').trim().slice(0, 200) || 'no message';
  }
}

/** Where inputs are written: memory-backed /dev/shm where there is one, as file calls dominate small inputs. */
function scratchRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/**
 * The time since `reset` during which a process or one of its descendants was ready to run but
 * waited for a CPU, from Linux's /proc/<pid>/schedstat (their main threads: where JavaScript runs).
 * Sampled at the poll's pace: in each interval, the longest any of them waited, at most the
 * interval. Always 0 where there is no /proc.
 */
class StarvedTime {
  private waits = new Map<number, number>();
  private last = Date.now();
  private total = 0;

  constructor(private readonly pid: number | undefined) {
    if (pid !== undefined) this.waits = runQueueWaits(pid);
  }

  reset(): void {
    this.total = 0;
  }

  /** Takes a sample; the total in milliseconds. */
  sample(): number {
    if (this.pid === undefined) return 0;
    const now = Date.now();
    const waits = runQueueWaits(this.pid);
    this.total += starvedInInterval(this.waits, waits, now - this.last);
    this.waits = waits;
    this.last = now;
    return this.total;
  }
}

/** Of an interval of `intervalMs`, the part one process waited for a CPU: the largest growth of a wait, at most the interval. */
export function starvedInInterval(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
  intervalMs: number,
): number {
  let longest = 0;
  for (const [pid, waited] of after) longest = Math.max(longest, waited - (before.get(pid) ?? waited));
  return Math.min(longest, Math.max(0, intervalMs));
}

/** Milliseconds each of `pid` and its descendants has waited on a run queue; empty where there is no /proc. */
export function runQueueWaits(pid: number, into = new Map<number, number>()): Map<number, number> {
  try {
    // Fields: time on a CPU, time waiting on a run queue (both in ns), time slices.
    const waited = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
    if (Number.isFinite(waited)) into.set(pid, waited);
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' '))
      if (child.trim() !== '') runQueueWaits(Number(child), into);
  } catch {
    // Gone meanwhile, or no /proc.
  }
  return into;
}

/** The process's resident memory from /proc (Linux); 0 where there is none. */
async function residentMb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}
