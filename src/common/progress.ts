// Progress of long stages (downloads, quantization, evaluation). Stages report through this one
// small interface; the CLI renders it as a rewritten line on a terminal, CI logs get a plain line
// every few seconds, and tests stay silent.

import { formatBytes, formatCount, formatDuration } from './format.js';

export interface ProgressTask {
  /** Adds `amount` units done. */
  advance(amount: number): void;
  /** Marks the task complete, with an optional closing note. */
  finish(note?: string): void;
}

export interface TaskOptions {
  total?: number;
  /** `bytes` formats amounts as sizes; otherwise counts followed by `unitName`. */
  unit?: 'bytes' | 'count';
  unitName?: string;
}

export interface Progress {
  task(label: string, options?: TaskOptions): ProgressTask;
  info(message: string): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** `tty` rewrites one line; `lines` prints a line every `intervalMs`; `silent` prints nothing. */
  style?: 'tty' | 'lines' | 'silent';
  intervalMs?: number;
  now?: () => number;
}

export const silentProgress: Progress = {
  task: () => ({ advance: () => undefined, finish: () => undefined }),
  info: () => undefined,
};

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const style = options.style ?? (stream.isTTY ? 'tty' : 'lines');
  if (style === 'silent') return silentProgress;
  const now = options.now ?? (() => performance.now());
  const intervalMs = options.intervalMs ?? (style === 'tty' ? 100 : 5000);
  const clearLine = style === 'tty' ? '\r\x1b[K' : '';

  return {
    info(message) {
      stream.write(`${clearLine}${message}\n`);
    },
    task(label, taskOptions = {}) {
      const started = now();
      let done = 0;
      let lastPrinted = started;
      const amount = (value: number) =>
        taskOptions.unit === 'bytes'
          ? formatBytes(value)
          : `${formatCount(value)}${taskOptions.unitName ? ` ${taskOptions.unitName}` : ''}`;
      const render = (finished: boolean) => {
        const seconds = (now() - started) / 1000;
        const rate = seconds > 0 ? done / seconds : 0;
        const total = taskOptions.total;
        const parts = [label, total !== undefined ? `${amount(done)} / ${amount(total)}` : amount(done)];
        if (total) parts.push(`${((100 * done) / total).toFixed(0)}%`);
        if (seconds > 0) parts.push(`${amount(rate)}/s`);
        if (!finished && total && rate > 0) parts.push(`ETA ${formatDuration((total - done) / rate)}`);
        if (finished) parts.push(`in ${formatDuration(seconds)}`);
        return parts.join('  ');
      };
      return {
        advance(delta) {
          done += delta;
          const t = now();
          if (t - lastPrinted >= intervalMs) {
            lastPrinted = t;
            stream.write(style === 'tty' ? `${clearLine}${render(false)}` : `${render(false)}\n`);
          }
        },
        finish(note) {
          stream.write(`${clearLine}${render(true)}${note ? `  ${note}` : ''}\n`);
        },
      };
    },
  };
}
