// Fuzzes one target: its child processes take ranges of input indices until the time or input
// budget is spent, the counts are summed per class, and every distinct failure (a crash by its
// signature; a hang; an abort) is pinned on one input. A range that hangs or aborts is run again in
// a fresh child one input at a time, reporting after each, to find the input to blame.

import { blur, type Outcome, type OutcomeKind } from './outcome.js';
import { Host, type Bounds, type RangeResult } from './host.js';
import { inputAt } from './inputs.js';
import type { FuzzTarget } from './target.js';

export interface FuzzOptions extends Bounds {
  runSeed: number;
  /** Stop taking new ranges at this time (ms since the epoch). */
  deadline: number;
  /** Stop after this many inputs. */
  maxInputs: number;
  /** Child processes working on the target at once. */
  jobs: number;
}

export interface Finding {
  kind: Exclude<OutcomeKind, 'accepted' | 'clean'>;
  signature: string;
  detail: string;
  /** The first input that showed it. */
  index: number;
  /** How many inputs showed it. */
  count: number;
}

export interface TargetReport {
  target: string;
  inputs: number;
  seconds: number;
  counts: Record<OutcomeKind, number>;
  findings: Finding[];
}

/** Reports when no range has yet been timed; then ranges are sized to take about this long. */
const RANGE_MS = 200;
const FLUSH_MS = 25;

export async function fuzzTarget(target: FuzzTarget, seeds: Uint8Array[], options: FuzzOptions): Promise<TargetReport> {
  const started = Date.now();
  const counts: Record<OutcomeKind, number> = { accepted: 0, clean: 0, crash: 0, hang: 0, abort: 0 };
  const findings = new Map<string, Finding>();
  const record = (index: number, outcome: Pick<Outcome, 'kind' | 'signature' | 'detail'>) => {
    if (outcome.kind === 'accepted' || outcome.kind === 'clean') return;
    counts[outcome.kind]++;
    const key = `${outcome.kind} ${outcome.signature.split(': ')[0]}`;
    const known = findings.get(key);
    if (known) known.count++;
    else
      findings.set(key, { kind: outcome.kind, signature: outcome.signature, detail: outcome.detail, index, count: 1 });
  };
  const onProgress = (progress: {
    accepted: number;
    clean: number;
    crashes: { index: number; outcome: Outcome }[];
  }) => {
    counts.accepted += progress.accepted;
    counts.clean += progress.clean;
    for (const { index, outcome } of progress.crashes) record(index, outcome);
  };

  let next = 0;
  let perInputMs = 5;
  const worker = async () => {
    const host = new Host(target.name, seeds, options.runSeed, options);
    try {
      while (next < options.maxInputs && Date.now() < options.deadline) {
        const size = Math.max(1, Math.min(1024, Math.round(RANGE_MS / perInputMs)));
        const start = next;
        const end = Math.min(options.maxInputs, start + size);
        next = end;
        const began = Date.now();
        let result = await host.run(start, end, FLUSH_MS, onProgress);
        if (result.status === 'done')
          perInputMs = 0.7 * perInputMs + (0.3 * Math.max(1, Date.now() - began)) / (end - start);
        while (result.status !== 'done') {
          const culprit = await blame(host, result, end, onProgress, options.timeoutMs);
          if (!culprit) break;
          record(culprit.index, culprit.outcome);
          result =
            culprit.resume < end ? await host.run(culprit.resume, end, FLUSH_MS, onProgress) : { status: 'done' };
        }
      }
    } finally {
      await host.close();
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, worker));

  const inputs = Object.values(counts).reduce((sum, count) => sum + count, 0);
  return {
    target: target.name,
    inputs,
    seconds: (Date.now() - started) / 1000,
    counts,
    findings: [...findings.values()],
  };
}

/** A hang is confirmed under this many times the bound, so that an input that is merely slow on a busy machine is not called one. */
const CONFIRM_FACTOR = 3;

/**
 * Runs again, one input at a time and under a longer bound, the inputs from `failed.at` to `end`
 * that a hang or an abort cut off, and names the input that does it again. Counts of the inputs
 * before it come through `onProgress`. When none fails alone, nothing is blamed.
 */
async function blame(
  host: Host,
  failed: Extract<RangeResult, { status: 'hang' | 'abort' }>,
  end: number,
  onProgress: Parameters<Host['run']>[3],
  timeoutMs: number,
): Promise<{ index: number; outcome: Omit<Outcome, 'kind'> & { kind: 'hang' | 'abort' }; resume: number } | undefined> {
  const again = await host.run(failed.at, end, 0, onProgress, CONFIRM_FACTOR * timeoutMs);
  if (again.status === 'done') {
    console.log(
      `  input ${failed.at} ${failed.status === 'hang' ? 'was slow' : 'died'} once but not when run again alone (${failed.detail}); not counted`,
    );
    return undefined;
  }
  return {
    index: again.at,
    outcome: { kind: again.status, signature: signatureOf(again), detail: again.detail },
    resume: again.at + 1,
  };
}

function signatureOf(result: Extract<RangeResult, { status: 'hang' | 'abort' }>): string {
  return result.status === 'hang' ? 'no answer within the time bound' : blur(result.detail, '');
}

/** Rebuilds the input a finding was seen on. */
export function findingInput(target: FuzzTarget, seeds: Uint8Array[], runSeed: number, finding: Finding): Uint8Array {
  return inputAt(seeds, target.structure, runSeed, target.name, finding.index);
}
