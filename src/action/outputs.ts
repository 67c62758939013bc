// The action's outputs as later steps read them: WERs and ΔWER in percentage points with four
// decimals, the interval as a JSON pair, the mean KLD (nats) and top-1 agreement (a fraction) with
// six significant digits when the engine measured them, the verdict over every gate as true/false,
// and absolute paths of what was written (so a step with another working directory finds them); in
// mode tune, the overrides it found as well.

import * as core from '@actions/core';
import { dirname, resolve } from 'node:path';
import type { OutputFormat } from '../formats/gguf/output-layout.js';
import { verdictOf } from '../scoring/token-gate.js';
import type { ScoredComparison } from '../scoring/types.js';

export type Outputs = Record<string, string>;

/** The figures of an evaluation; `passed` is left out for one shard's partial results, which decide nothing. */
export function comparisonOutputs(
  comparison: ScoredComparison,
  options: { partial: boolean; resultsPath: string },
): Outputs {
  const { delta, kld } = comparison;
  return {
    'wer-reference': figure(comparison.reference.werPercent),
    'wer-candidate': figure(comparison.candidate.werPercent),
    'wer-delta': figure(delta.points),
    'delta-interval': JSON.stringify([Number(figure(delta.low)), Number(figure(delta.high))]),
    ...(kld?.available ? { kld: significant(kld.mean), 'top1-agreement': significant(kld.top1Agreement) } : {}),
    ...(options.partial ? {} : { passed: String(verdictOf(comparison) === 'pass') }),
    'results-path': resolve(options.resultsPath),
  };
}

/**
 * Where a quantized model lies: `gguf-path` is the .gguf, the first gguf-split file, or for byte
 * shards their folder (as the command engine's {gguf}); `shard-paths` lists every file in order.
 */
export function modelOutputs(model: {
  format: OutputFormat;
  files: readonly string[];
  manifestPath?: string;
}): Outputs {
  const files = model.files.map((file) => resolve(file));
  return {
    'gguf-path': model.format === 'bytes' ? dirname(files[0]!) : files[0]!,
    'shard-paths': JSON.stringify(files),
    ...(model.manifestPath === undefined ? {} : { 'manifest-path': resolve(model.manifestPath) }),
  };
}

/** mode: tune — the overrides to commit (one line each) and, when a mix passed, where its results are. */
export function tuneOutputs(
  overrides: readonly string[],
  written?: { resultsPath: string; chartPath: string },
): Outputs {
  return {
    overrides: overrides.join('\n'),
    ...(written && {
      'tune-results-path': resolve(written.resultsPath),
      'tune-chart-path': resolve(written.chartPath),
    }),
  };
}

export function setOutputs(outputs: Outputs): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
}

function figure(value: number): string {
  return String(Number(value.toFixed(4)));
}

/** Six significant digits: a KLD of a few millinats keeps its digits, where four decimals would not. */
function significant(value: number): string {
  return String(Number(value.toPrecision(6)));
}
