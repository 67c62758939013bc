// The verdict as the workflow shows it: a notice when the candidate passes; when it fails, a failed
// step with exit code 1, as the CLI's (or only a warning, with fail-on-degradation off). The WER
// gate decides alone unless token gates were set; then every gate must pass, and each says why.

import * as core from '@actions/core';
import { tokenGateText } from '../report/token-content.js';
import { formatPercent } from '../scoring/figures.js';
import { verdictOf as overallVerdict } from '../scoring/token-gate.js';
import type { ScoredComparison } from '../scoring/types.js';

export interface Verdict {
  passed: boolean;
  /** One line: both WERs and the reason of each gate. */
  message: string;
}

export function verdictOf(comparison: ScoredComparison): Verdict {
  const passed = overallVerdict(comparison) === 'pass';
  const verdict = passed ? 'PASS' : 'FAIL';
  const wers = `reference WER ${formatPercent(comparison.reference.werPercent)}, candidate ${formatPercent(comparison.candidate.werPercent)}`;
  const { gate, tokenGates = [] } = comparison;
  if (tokenGates.length === 0) return { passed, message: `quantgate WER gate ${verdict}: ${wers}; ${gate.reason}` };
  const reasons = [
    `WER gate ${gate.verdict.toUpperCase()}: ${gate.reason}`,
    ...tokenGates.map((token) => `${token.gate} gate ${tokenGateText(token)}`),
  ];
  return { passed, message: `quantgate gates ${verdict}: ${wers}; ${reasons.join('; ')}` };
}

export function announceVerdict(verdict: Verdict, failOnDegradation: boolean): void {
  if (verdict.passed) {
    core.notice(verdict.message);
  } else if (failOnDegradation) {
    core.setFailed(verdict.message);
  } else {
    core.warning(`${verdict.message} (not failing the step: fail-on-degradation is false)`);
  }
}
