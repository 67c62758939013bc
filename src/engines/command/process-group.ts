// Runs one shell command as the leader of its own process group, so that everything it starts
// (the interpreter under a wrapper script, the stages of a pipeline) is stopped together: on
// timeout or abort the group gets SIGTERM, then SIGKILL after a grace period, and whatever the
// command leaves running when it exits gets the same. Its output is handed over line by line as
// it arrives, and the end of its stderr is kept for error messages.

import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { QuantgateError, describeError } from '../../common/errors.js';
import { onForcedStop } from '../../common/stop.js';

export interface GroupRunOptions {
  env: NodeJS.ProcessEnv;
  /** Stops the command after this many milliseconds; no limit when undefined. */
  timeoutMs?: number;
  /** Stops the command; the run then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Each non-blank line of stdout and stderr, as it arrives. */
  onLine?: (line: string) => void;
  /** Applied to every line handed to `onLine` and to the stderr tail, to keep secrets out of logs. */
  redact?: (text: string) => string;
}

export interface GroupOutcome {
  /** The exit code, or null when a signal ended the command. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last lines of stderr (at most 10, at most 2 KB) joined with " ⏎ ", so it fits one line. */
  stderrTail: string;
}

/** How long a stopped group has to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 5000;
const TAIL_LINES = 10;
const TAIL_CHARS = 2048;
/** Wider than the tail, so a secret straddling the tail's start is still whole when redacted. */
const TAIL_WINDOW_CHARS = 4 * TAIL_CHARS;

export async function runProcessGroup(command: string, options: GroupRunOptions): Promise<GroupOutcome> {
  options.signal?.throwIfAborted();
  const redact = options.redact ?? ((text: string) => text);

  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env,
    });
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    let stderrWindow = '';

    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // ESRCH: the group has already gone, which is what stopping it is for.
      }
    };
    const stop = () => {
      if (killTimer !== undefined || child.pid === undefined) return;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    };
    // A run that must exit before the group has ended kills it outright, so nothing outlives quantgate.
    const forgetGroup = onForcedStop(() => signalGroup('SIGKILL'));
    const timeout =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);
    options.signal?.addEventListener('abort', stop, { once: true });
    const settle = () => {
      forgetGroup();
      clearTimeout(timeout);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', stop);
    };

    const emit = (line: string) => {
      if (line.trim()) options.onLine?.(redact(line));
    };
    forwardLines(child.stdout, emit);
    forwardLines(child.stderr, emit, (chunk) => {
      stderrWindow = (stderrWindow + chunk).slice(-TAIL_WINDOW_CHARS);
    });

    // The command's own exit leaves its stragglers behind; 'close' waits for them to release the pipes.
    child.on('exit', stop);
    child.on('error', (error) => {
      if (child.pid !== undefined) return; // a running child reports its end through 'close'
      settle();
      reject(
        new QuantgateError(
          `cannot start /bin/sh (${describeError(error)}); the command engine needs a POSIX shell at /bin/sh`,
          { cause: error },
        ),
      );
    });
    child.on('close', (code, signal) => {
      settle();
      if (options.signal?.aborted) reject(options.signal.reason);
      else resolve({ code, signal, timedOut, stderrTail: tailOf(redact(stderrWindow)) });
    });
  });
}

/** Splits a stream into lines for `emit`; `onChunk` sees the raw text too. */
function forwardLines(stream: Readable, emit: (line: string) => void, onChunk?: (chunk: string) => void): void {
  stream.setEncoding('utf8');
  let partial = '';
  stream.on('data', (chunk: string) => {
    onChunk?.(chunk);
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    // A progress bar redraws with \r and may never end its line: keep only its latest state.
    const redraw = partial.lastIndexOf('\r', partial.length - 2);
    if (redraw >= 0) partial = partial.slice(redraw + 1);
    for (const line of lines) emit(visibleText(line));
  });
  stream.on('end', () => emit(visibleText(partial)));
}

/** What a terminal would show of `line`: the text after its last carriage return. */
function visibleText(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  return text.slice(text.lastIndexOf('\r') + 1);
}

function tailOf(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => visibleText(line).trim())
    .filter(Boolean);
  const tail = lines.slice(-TAIL_LINES).join(' ⏎ ');
  return tail.length > TAIL_CHARS ? `…${tail.slice(-(TAIL_CHARS - 1))}` : tail;
}
