import { DEFAULT_GATE_MODE, DEFAULT_THRESHOLD_POINTS, decideGate, type GateMode } from '../../src/scoring/gate.js';

const input = (deltaPoints: number, low: number, high: number) => ({
  deltaPoints,
  interval: { low, high, confidence: 0.95 },
});

describe('decideGate', () => {
  test('defaults to point mode with a 2-point threshold', () => {
    expect(DEFAULT_GATE_MODE).toBe('point');
    expect(DEFAULT_THRESHOLD_POINTS).toBe(2);
    expect(decideGate(input(1.5, 1, 2.5))).toMatchObject({ mode: 'point', thresholdPoints: 2, verdict: 'pass' });
  });

  // Δ 1.5 with interval [0.8, 2.2], and Δ 2.5 with interval [2.1, 2.9]: the modes disagree on the first.
  test.each<[GateMode, number, number, number, 'pass' | 'fail']>([
    ['point', 1.5, 0.8, 2.2, 'pass'],
    ['point', 2.5, 2.1, 2.9, 'fail'],
    ['point', 2.5, 1.7, 3.3, 'fail'],
    ['lenient', 2.5, 1.7, 3.3, 'pass'],
    ['lenient', 2.5, 2.1, 2.9, 'fail'],
    ['strict', 1.5, 0.8, 2.2, 'fail'],
    ['strict', 1.5, 0.8, 1.9, 'pass'],
  ])('%s mode with Δ %d and interval [%d, %d] is a %s', (mode, delta, low, high, verdict) => {
    expect(decideGate(input(delta, low, high), { mode }).verdict).toBe(verdict);
  });

  test('the figure a mode tests passes when exactly at the threshold and fails just above it', () => {
    expect(decideGate(input(2, 1, 3), { mode: 'point' }).verdict).toBe('pass');
    expect(decideGate(input(2.001, 1, 3), { mode: 'point' }).verdict).toBe('fail');
    expect(decideGate(input(3, 2, 4), { mode: 'lenient' }).verdict).toBe('pass');
    expect(decideGate(input(3, 2.001, 4), { mode: 'lenient' }).verdict).toBe('fail');
    expect(decideGate(input(1, 0, 2), { mode: 'strict' }).verdict).toBe('pass');
    expect(decideGate(input(1, 0, 2.001), { mode: 'strict' }).verdict).toBe('fail');
  });

  test('a custom threshold is used and reported', () => {
    expect(decideGate(input(0.6, 0.2, 1), { thresholdPoints: 0.5 })).toMatchObject({
      verdict: 'fail',
      thresholdPoints: 0.5,
    });
  });

  test('the reason names the tested figure and the threshold', () => {
    expect(decideGate(input(2.5, 2.1, 2.9)).reason).toBe('ΔWER +2.50 points exceeds the 2.00-point threshold');
    expect(decideGate(input(-0.3, -0.8, 0.1)).reason).toBe('ΔWER -0.30 points is within the 2.00-point threshold');
    expect(decideGate(input(2.5, 2.1, 2.9), { mode: 'lenient' }).reason).toMatch(
      /^even the lower bound of the 95% interval, \+2\.10 points, exceeds/,
    );
    expect(decideGate(input(1.5, 0.8, 2.2), { mode: 'strict' }).reason).toMatch(
      /^the upper bound of the 95% interval, \+2\.20 points, exceeds .*cannot be ruled out$/,
    );
  });
});
