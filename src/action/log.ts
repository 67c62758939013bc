// How the action writes to the workflow log: progress as a plain line every few seconds, each
// pipeline stage folded into its own log group, and the messages of the cache and publish stages
// as @actions/core info, notice and warning lines.

import * as core from '@actions/core';
import type { CacheLogger } from '../common/actions-cache-entry.js';
import { createProgress, type Progress } from '../common/progress.js';
import type { PublishLogger } from '../publish/logger.js';

export function logProgress(stream: NodeJS.WritableStream = process.stdout): Progress {
  return createProgress({ stream, style: 'lines' });
}

/** Runs one pipeline stage inside a log group of its name. */
export function inLogGroup<T>(name: string, work: () => Promise<T>): Promise<T> {
  return core.group(name, work);
}

export const cacheLogger: CacheLogger = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
};

export const publishLogger: PublishLogger = {
  info: (message) => core.info(message),
  notice: (message) => core.notice(message),
};
