// The optional gates on token-level damage, beside the WER gate: `max-kld` (nats) fails a
// candidate whose mean KL divergence from the reference exceeds it, and `min-top1-agreement` (a
// fraction) one whose argmax agrees with the reference's at fewer steps. The KLD gate follows the
// WER gate's mode: point tests the mean, lenient the lower and strict the upper bound of its 95%
// interval. Unset gates decide nothing, so a run without them gives exactly the WER verdict.

import type { GateMode } from './gate.js';
import type { TokenDamageSummary } from './token-damage.js';

export interface TokenGateOptions {
  maxKld?: number;
  minTop1Agreement?: number;
  mode?: GateMode;
}

export interface TokenGateDecision {
  gate: 'max-kld' | 'min-top1-agreement';
  limit: number;
  /** The figure tested against the limit. */
  value: number;
  verdict: 'pass' | 'fail';
  /** One sentence saying what was tested. */
  reason: string;
}

/** The run's verdict: pass when the WER gate and every token gate that was set pass. */
export function verdictOf(comparison: {
  gate: { verdict: 'pass' | 'fail' };
  tokenGates?: readonly TokenGateDecision[];
}): 'pass' | 'fail' {
  const failed = comparison.gate.verdict === 'fail' || comparison.tokenGates?.some((gate) => gate.verdict === 'fail');
  return failed ? 'fail' : 'pass';
}

/** Decides the gates that are set, from the run's figures (a fresh summary or merged shards' figures). */
export function decideTokenGates(
  summary: Pick<TokenDamageSummary, 'mean' | 'interval' | 'top1Agreement'>,
  options: TokenGateOptions,
): TokenGateDecision[] {
  const decisions: TokenGateDecision[] = [];
  if (options.maxKld !== undefined) {
    const mode = options.mode ?? 'point';
    const value = { point: summary.mean, lenient: summary.interval[0], strict: summary.interval[1] }[mode];
    const figure = {
      point: 'the mean KLD',
      lenient: 'the lower bound of the mean KLD’s 95% interval',
      strict: 'the upper bound of the mean KLD’s 95% interval',
    }[mode];
    const fails = value > options.maxKld;
    decisions.push({
      gate: 'max-kld',
      limit: options.maxKld,
      value,
      verdict: fails ? 'fail' : 'pass',
      reason: `${figure}, ${formatNats(value)} nats, ${fails ? 'exceeds' : 'is within'} the ${formatNats(options.maxKld)}-nat limit`,
    });
  }
  if (options.minTop1Agreement !== undefined) {
    const value = summary.top1Agreement;
    const fails = value < options.minTop1Agreement;
    decisions.push({
      gate: 'min-top1-agreement',
      limit: options.minTop1Agreement,
      value,
      verdict: fails ? 'fail' : 'pass',
      reason: `the top-1 agreement, ${formatShare(value)}, is ${fails ? 'below' : 'at or above'} the ${formatShare(options.minTop1Agreement)} minimum`,
    });
  }
  return decisions;
}

/** A KL divergence in nats, with four significant digits: `0.01234`, `1.234`. */
export function formatNats(value: number): string {
  return value === 0
    ? '0'
    : value
        .toPrecision(4)
        .replace(/(\.\d*?)0+$/, '$1')
        .replace(/\.$/, '');
}

/** A fraction as a percentage with two decimals: `98.25%`. */
export function formatShare(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}
