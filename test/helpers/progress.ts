// A Progress that records what a stage reports, for tests of the lines it prints and the tasks it
// starts; amounts are not kept.

import type { Progress } from '../../src/common/progress.js';

export interface RecordedProgress extends Progress {
  /** Every `info` message, in order. */
  lines: string[];
  /** The label of every task started, in order. */
  tasks: string[];
}

export function recordingProgress(): RecordedProgress {
  const lines: string[] = [];
  const tasks: string[] = [];
  return {
    lines,
    tasks,
    info: (message) => void lines.push(message),
    task: (label) => (tasks.push(label), { advance: () => undefined, finish: () => undefined }),
  };
}
