// How a run stops when asked. SIGINT or SIGTERM aborts the AbortSignal that every stage receives;
// the stages unwind, removing their temp files as they go, and the command ends with one line that
// names the signal and the stage it interrupted, and exit code 130 or 143 as a shell would report.
// A backstop bounds the wait: if the work has not unwound soon after the signal, every live temp
// path and child process group is removed synchronously and the process exits with that code anyway.

import { removeLiveTempPaths } from './atomic.js';
import { QuantgateError } from './errors.js';

export type StopSignalName = 'SIGINT' | 'SIGTERM';

/** 128 + the signal's number, the status a shell gives a process that a signal ended. */
const EXIT_CODES: Record<StopSignalName, number> = { SIGINT: 130, SIGTERM: 143 };

/** How long the work has to unwind after the signal before the backstop ends the process. */
export const STOP_GRACE_MS = 1000;

/** The reason a stopped run's signal carries; what a stage throws when it sees it. */
export class StoppedError extends QuantgateError {
  constructor(
    readonly by: StopSignalName,
    readonly stage: string,
  ) {
    super(`stopped by ${by} during the ${stage} stage`);
  }

  get exitCode(): number {
    return EXIT_CODES[this.by];
  }

  /** The one line the command prints, after its `prefix` (e.g. "quantgate run"). */
  line(prefix: string): string {
    return `${prefix}: ${this.message}; no partial file was left behind`;
  }
}

/** The stop request of one run: the signal its stages watch, and the stage now running. */
export class StopControl {
  private readonly controller = new AbortController();
  private current: string;

  constructor(firstStage = 'startup') {
    this.current = firstStage;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Records that `stage` is running now, for the line a stop prints. */
  enter(stage: string): void {
    if (!this.signal.aborted) this.current = stage;
  }

  /** Runs `work` as `stage`. */
  async during<T>(stage: string, work: () => Promise<T>): Promise<T> {
    this.enter(stage);
    this.signal.throwIfAborted();
    return work();
  }

  get stage(): string {
    return this.current;
  }

  request(by: StopSignalName): void {
    if (!this.signal.aborted) this.controller.abort(new StoppedError(by, this.current));
  }

  /** Set once a stop was requested. */
  get stopped(): StoppedError | undefined {
    return this.signal.aborted ? (this.signal.reason as StoppedError) : undefined;
  }
}

const forcedStopCleanups = new Set<() => void>();

/**
 * Registers a synchronous cleanup (killing a child process group) for the backstop to run if the
 * work has not unwound in time; the returned function unregisters it.
 */
export function onForcedStop(cleanup: () => void): () => void {
  forcedStopCleanups.add(cleanup);
  return () => forcedStopCleanups.delete(cleanup);
}

export interface SignalWatch {
  /** The work has unwound: the backstop then only bounds how long open handles may hold the process. */
  settled(): void;
  dispose(): void;
}

/**
 * Turns this process's SIGINT and SIGTERM into `control.request`. Once one arrives, `report` is
 * called with the stop at most once, by whoever gets there first: the shell when the work has
 * unwound, or the backstop after `graceMs`, which then removes what is left and exits. A second
 * signal triggers the backstop at once.
 */
export function watchSignals(
  control: StopControl,
  report: (stopped: StoppedError) => void,
  graceMs = STOP_GRACE_MS,
): SignalWatch {
  let backstop: NodeJS.Timeout | undefined;
  let hasSettled = false;
  const force = () => {
    const stopped = control.stopped!;
    for (const cleanup of forcedStopCleanups) {
      try {
        cleanup();
      } catch {
        // Best effort at exit.
      }
    }
    removeLiveTempPaths();
    if (!hasSettled) report(stopped);
    process.exit(stopped.exitCode);
  };
  const onSignal = (by: StopSignalName) => {
    if (backstop !== undefined) return force();
    control.request(by);
    backstop = setTimeout(force, graceMs);
    if (hasSettled) backstop.unref();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    settled() {
      hasSettled = true;
      backstop?.unref();
    },
    dispose() {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
    },
  };
}
