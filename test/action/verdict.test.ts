import { verdictOf } from '../../src/action/verdict.js';
import { sampleComparison } from '../report/comparison.js';
import { withTokenMetrics } from '../scoring/token-measures.js';

describe('the verdict the workflow shows', () => {
  test('the WER gate alone: its verdict and reason, as before token gates', () => {
    expect(verdictOf(sampleComparison())).toEqual({
      passed: false,
      message:
        'quantgate WER gate FAIL: reference WER 3.45%, candidate 17.24%; ΔWER +13.79 points exceeds the 2.00-point threshold',
    });
  });

  test('with token gates every gate must pass, and each says why', () => {
    const comparison = sampleComparison();
    const passingWer = { ...comparison, gate: { ...comparison.gate, verdict: 'pass' as const, reason: 'ΔWER within' } };
    expect(verdictOf(withTokenMetrics(passingWer, { gates: { maxKld: 0.2, minTop1Agreement: 0.9 } }))).toEqual({
      passed: false,
      message:
        'quantgate gates FAIL: reference WER 3.45%, candidate 17.24%; WER gate PASS: ΔWER within; max-kld gate PASS: the mean KLD, 0.1176 nats, is within the 0.2-nat limit; min-top1-agreement gate FAIL: the top-1 agreement, 80.95%, is below the 90.00% minimum',
    });
    expect(verdictOf(withTokenMetrics(passingWer, { gates: { maxKld: 0.2 } })).passed).toBe(true);
  });
});
