// The CI verdict: does the candidate's WER exceed the reference system's by more than the threshold
// (in absolute percentage points)? A difference exactly at the threshold passes.
//
// - point (default): fail when the measured ΔWER is above the threshold. Simple and what most
//   people expect, but on a small sample it reacts to noise in both directions.
// - lenient: fail only when the LOWER bound of the 95% interval is above the threshold — we are
//   confident the candidate degraded by more than the threshold. Few false alarms; a real
//   regression can slip through on a small sample.
// - strict: fail when the UPPER bound is above the threshold — pass only when we are confident the
//   degradation is within the threshold. Catches real regressions; on a small sample it may fail
//   a harmless candidate.
//
// What that means for a 100-utterance run (≈ 2,000 words, so one point ≈ 20 word errors): a
// simulation with this module's bootstrap (200 data sets of 100 utterances of 8–32 words, WER
// about 5%, the candidate differing from the reference by one or two words on a share of the
// utterances; 2,000 resamples each) gave a mean 95% interval half-width of ±0.26 points when 5% of
// the utterances change, ±0.37 at 10%, ±0.53 at 20% and ±0.73 at 40%.
// With the default 2-point threshold, point mode fails from 41 extra word errors, lenient needs a
// measured ΔWER of roughly 2.3–2.7 points to fail, and strict fails once ΔWER passes roughly
// 1.3–1.7 points. On the full test-clean split (2,620 utterances) the interval is about five times
// narrower and the three modes nearly agree.

import { formatPoints } from './figures.js';

export const GATE_MODES = ['point', 'lenient', 'strict'] as const;
export type GateMode = (typeof GATE_MODES)[number];
export const DEFAULT_GATE_MODE: GateMode = 'point';
export const DEFAULT_THRESHOLD_POINTS = 2.0;

export interface GateInput {
  /** WER(candidate) − WER(reference), percentage points. */
  deltaPoints: number;
  interval: { low: number; high: number; confidence: number };
}

export interface GateOptions {
  mode?: GateMode;
  thresholdPoints?: number;
}

export interface GateDecision {
  mode: GateMode;
  thresholdPoints: number;
  verdict: 'pass' | 'fail';
  /** One sentence saying which figure was tested against the threshold. */
  reason: string;
}

export function decideGate(input: GateInput, options: GateOptions = {}): GateDecision {
  const mode = options.mode ?? DEFAULT_GATE_MODE;
  const thresholdPoints = options.thresholdPoints ?? DEFAULT_THRESHOLD_POINTS;
  const level = `${Math.round(input.interval.confidence * 100)}%`;
  const threshold = `the ${thresholdPoints.toFixed(2)}-point threshold`;
  const tested = { point: input.deltaPoints, lenient: input.interval.low, strict: input.interval.high }[mode];
  const fails = tested > thresholdPoints;
  const reason = {
    point: fails
      ? `ΔWER ${formatPoints(tested)} points exceeds ${threshold}`
      : `ΔWER ${formatPoints(tested)} points is within ${threshold}`,
    lenient: fails
      ? `even the lower bound of the ${level} interval, ${formatPoints(tested)} points, exceeds ${threshold}: the candidate is confidently worse`
      : `the lower bound of the ${level} interval, ${formatPoints(tested)} points, is within ${threshold}: a degradation beyond it is not established`,
    strict: fails
      ? `the upper bound of the ${level} interval, ${formatPoints(tested)} points, exceeds ${threshold}: a degradation beyond it cannot be ruled out`
      : `the upper bound of the ${level} interval, ${formatPoints(tested)} points, is within ${threshold}: the candidate is confidently within it`,
  }[mode];
  return { mode, thresholdPoints, verdict: fails ? 'fail' : 'pass', reason };
}
