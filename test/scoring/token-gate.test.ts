import { decideTokenGates, formatNats, formatShare } from '../../src/scoring/token-gate.js';
import type { TokenDamageSummary } from '../../src/scoring/token-damage.js';

const SUMMARY: TokenDamageSummary = {
  mean: 0.02,
  interval: [0.015, 0.026],
  median: 0.01,
  p99: 0.2,
  max: 0.9,
  top1Agreement: 0.975,
  perplexityRatio: 1.01,
  steps: 1000,
  bootstrap: { confidence: 0.95, resamples: 1000, seed: 1 },
};

test('unset gates decide nothing', () => {
  expect(decideTokenGates(SUMMARY, {})).toEqual([]);
});

test.each([
  ['point', 0.021, 'pass', 0.02],
  ['point', 0.019, 'fail', 0.02],
  ['lenient', 0.016, 'pass', 0.015],
  ['lenient', 0.014, 'fail', 0.015],
  ['strict', 0.027, 'pass', 0.026],
  ['strict', 0.025, 'fail', 0.026],
] as const)('the KLD gate in %s mode with a limit of %s nats: %s', (mode, maxKld, verdict, value) => {
  const [decision] = decideTokenGates(SUMMARY, { maxKld, mode });
  expect(decision).toMatchObject({ gate: 'max-kld', limit: maxKld, value, verdict });
});

test('the top-1 gate passes at its minimum and fails below it; each gate reports its own verdict', () => {
  expect(decideTokenGates(SUMMARY, { minTop1Agreement: 0.975 })).toEqual([
    {
      gate: 'min-top1-agreement',
      limit: 0.975,
      value: 0.975,
      verdict: 'pass',
      reason: 'the top-1 agreement, 97.50%, is at or above the 97.50% minimum',
    },
  ]);
  const both = decideTokenGates(SUMMARY, { maxKld: 0.05, minTop1Agreement: 0.99 });
  expect(both.map(({ gate, verdict }) => [gate, verdict])).toEqual([
    ['max-kld', 'pass'],
    ['min-top1-agreement', 'fail'],
  ]);
  expect(both[0]!.reason).toBe('the mean KLD, 0.02 nats, is within the 0.05-nat limit');
});

test('figures', () => {
  expect([formatNats(0), formatNats(0.012345), formatNats(1.5), formatNats(0.1)]).toEqual([
    '0',
    '0.01235',
    '1.5',
    '0.1',
  ]);
  expect(formatShare(0.98251)).toBe('98.25%');
});
