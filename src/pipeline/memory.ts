// The memory check before the engines load: the run loads one variant at a time, so it needs the
// larger variant's weights plus one batch of its per-utterance memory, beside the process's own.
// `fitBatchSize` compares that with what the machine has free (the cgroup's limit where one is
// set, else the system's available memory) and lowers the batch size until it fits, or fails
// with the amount needed and the ways to reduce it.

import { readFile } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { QuantgateError } from '../common/errors.js';
import { formatBytes } from '../common/format.js';
import type { MemoryEstimate } from '../engines/engine.js';

/** Node, onnxruntime's libraries and the run's own data (datasets, results), measured at 0.2–0.3 GB. */
export const PROCESS_BASELINE_BYTES = 300 * 2 ** 20;

/** Audio length the check assumes without --max-duration: LibriSpeech test-clean's longest utterance lasts 35 s. */
export const ASSUMED_MAX_SECONDS = 35;

export interface BatchFit {
  /** The batch size to run with: the one asked for, or the largest below it that fits. */
  batchSize: number;
  /** Estimated peak resident bytes at that batch size. */
  neededBytes: number;
}

export interface FitRequest {
  /** One estimate per variant; the variants are loaded one after the other. */
  estimates: readonly MemoryEstimate[];
  batchSize: number;
  availableBytes: number;
  /** Names the device in the advice (CUDA holds the weights in GPU memory instead). */
  device: 'cpu' | 'cuda';
}

/** Peak resident bytes of the run at `batchSize`: the process, then the largest variant loaded with one batch. */
export function neededBytes(estimates: readonly MemoryEstimate[], batchSize: number): number {
  const variants = estimates.map((estimate) => estimate.loadedBytes + batchSize * estimate.perUtteranceBytes);
  return PROCESS_BASELINE_BYTES + Math.max(0, ...variants);
}

/** The batch size that fits `availableBytes`; a QuantgateError when not even one utterance at a time does. */
export function fitBatchSize({ estimates, batchSize, availableBytes, device }: FitRequest): BatchFit {
  let fitting = batchSize;
  while (fitting >= 1 && neededBytes(estimates, fitting) > availableBytes) fitting--;
  if (fitting >= 1) return { batchSize: fitting, neededBytes: neededBytes(estimates, fitting) };
  const ways = ['free memory on this machine or take one with more', 'set --max-duration to leave out long utterances'];
  if (device === 'cpu') ways.unshift('run with --device cuda on a machine with an NVIDIA GPU');
  throw new QuantgateError(
    `the run needs about ${formatBytes(neededBytes(estimates, 1))} of memory even one utterance at a time, but only ${formatBytes(availableBytes)} is available; ${ways.join(', or ')}`,
  );
}

/** What the memory files and `os` report; each absent where the system has none. */
export interface MemoryReadings {
  /** os.freemem(): the system's available memory (MemAvailable on Linux, counting reclaimable caches). */
  free: number;
  total: number;
  /** The cgroup's limit and current usage (v2 memory.max / memory.current, v1 limit_in_bytes / usage_in_bytes). */
  cgroupLimit?: number;
  cgroupUsage?: number;
}

/** Bytes the run may still take: the system's available memory, capped by what is left under the cgroup's limit. */
export function availableBytes({ free, total, cgroupLimit, cgroupUsage }: MemoryReadings): number {
  const system = Math.min(free, total);
  // A v1 cgroup without a limit reports a number near 2^63.
  if (cgroupLimit === undefined || cgroupLimit >= total) return system;
  return Math.max(0, Math.min(system, cgroupLimit - (cgroupUsage ?? 0)));
}

/** Reads the memory this process may use from the system and its cgroup; plus what it holds already. */
export async function readAvailableMemory(): Promise<number> {
  const cgroup = await readCgroupMemory();
  return availableBytes({ free: freemem(), total: totalmem(), ...cgroup }) + process.memoryUsage.rss();
}

async function readCgroupMemory(): Promise<Pick<MemoryReadings, 'cgroupLimit' | 'cgroupUsage'>> {
  const path = await cgroupPath();
  for (const [limitFile, usageFile] of [
    [`/sys/fs/cgroup${path}/memory.max`, `/sys/fs/cgroup${path}/memory.current`],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'],
  ] as const) {
    const limit = await readNumber(limitFile);
    if (limit !== undefined) return { cgroupLimit: limit, cgroupUsage: await readNumber(usageFile) };
  }
  return {};
}

/** This process's cgroup v2 path ("" for the root), from /proc/self/cgroup. */
async function cgroupPath(): Promise<string> {
  try {
    const line = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((entry) => entry.startsWith('0::'));
    const path = line?.slice(3).trim() ?? '';
    return path === '/' ? '' : path;
  } catch {
    return '';
  }
}

/** A whole number from a memory file; undefined when it is absent, unreadable or says "max". */
async function readNumber(path: string): Promise<number | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}
