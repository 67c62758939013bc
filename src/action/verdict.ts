// The gate's verdict as the workflow shows it: a notice when the candidate passes; when it fails,
// a failed step with exit code 1, as the CLI's (or only a warning, with fail-on-degradation off).

import * as core from '@actions/core';
import { formatPercent } from '../scoring/figures.js';
import type { ScoredComparison } from '../scoring/types.js';

export interface Verdict {
  passed: boolean;
  /** One line: both WERs and the gate's reason. */
  message: string;
}

export function verdictOf(comparison: ScoredComparison): Verdict {
  const passed = comparison.gate.verdict === 'pass';
  const wers = `reference WER ${formatPercent(comparison.reference.werPercent)}, candidate ${formatPercent(comparison.candidate.werPercent)}`;
  return { passed, message: `quantgate WER gate ${passed ? 'PASS' : 'FAIL'}: ${wers}; ${comparison.gate.reason}` };
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
