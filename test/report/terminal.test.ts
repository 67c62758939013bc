import { renderTextSummary } from '../../src/report/terminal.js';
import type { KldFigures } from '../../src/scoring/types.js';
import { withTokenMetrics } from '../scoring/token-measures.js';
import { sampleComparison } from './comparison.js';

describe('plain-text summary', () => {
  test('aligned system table, ΔWER line, verdict line, data set line and changed utterances', () => {
    expect(renderTextSummary(sampleComparison(), { changedLimit: 2 })).toBe(`              WER  S  D  I  words
reference   3.45%  1  0  0     29
candidate  17.24%  4  0  1     29

ΔWER +13.79 points, 95% interval [-6.91, +34.62], P(candidate worse) 0.888
FAIL (point mode, threshold 2.00 points): ΔWER +13.79 points exceeds the 2.00-point threshold
Data set: openslr/librispeech_asr (clean) test @ 71ba8e1b8d37 · 5 utterances · 29 words · none normalizer · 1 empty reference dropped · 1 failed utterance

Utterances whose error count changed most (2 of 4 changed, of 5 scored):
  1089-0001  +3 errors
    transcript: turnips and carrots and bruised potatoes
    reference:  turnips and carrots and bruised potatoes
    candidate:  turnip and carrot and bruised potato
  1089-0000  +1 error
    transcript: he hoped there would be stew for dinner
    reference:  he hoped there would be stew for dinner
    candidate:  he hoped there would be stew for diner
`);
  });

  test('with token metrics: the KLD table, each gate and the verdict over all, the reuse, and the utterances of largest KLD', () => {
    const measured = withTokenMetrics(sampleComparison(), {
      gates: { maxKld: 0.2, minTop1Agreement: 0.9 },
      bootstrap: { resamples: 1000, seed: 1 },
    });
    const comparison = { ...measured, run: { ...measured.run, reused: { reference: true, candidate: false } } };
    expect(renderTextSummary(comparison, { changedLimit: 1 })).toBe(`              WER  S  D  I  words
reference   3.45%  1  0  0     29
candidate  17.24%  4  0  1     29

mean KLD (nats)      95% interval  median     p99   max  same top-1  PPL ratio  steps
         0.1176  [0.1059, 0.1283]   0.125  0.2438  0.25      80.95%     1.0605     21

ΔWER +13.79 points, 95% interval [-6.91, +34.62], P(candidate worse) 0.888
WER gate FAIL (point mode, threshold 2.00 points): ΔWER +13.79 points exceeds the 2.00-point threshold
max-kld gate PASS: the mean KLD, 0.1176 nats, is within the 0.2-nat limit
min-top1-agreement gate FAIL: the top-1 agreement, 80.95%, is below the 90.00% minimum
Verdict FAIL: the WER and min-top1-agreement gates fail
reference: reused results, candidate: evaluated
Data set: openslr/librispeech_asr (clean) test @ 71ba8e1b8d37 · 5 utterances · 29 words · none normalizer · 1 empty reference dropped · 1 failed utterance

Utterances whose error count changed most (1 of 4 changed, of 5 scored):
  1089-0001  +3 errors
    transcript: turnips and carrots and bruised potatoes
    reference:  turnips and carrots and bruised potatoes
    candidate:  turnip and carrot and bruised potato

Utterances with the largest KLD (5 of 5 measured):
  id         KLD (nats)  same top-1  Δ errors
  1089-0004      0.1354      66.67%        -1
  1089-0001       0.125     100.00%        +3
  1089-0002       0.125      80.00%        +1
  1089-0003      0.1094      83.33%         0
  1089-0000     0.09375      66.67%        +1
`);
  });

  test('without token gates the WER line is the verdict as before; merged figures and missing metrics are explained', () => {
    const measured = withTokenMetrics(sampleComparison(), { bootstrap: { resamples: 1000, seed: 1 } });
    const merged = renderTextSummary({
      ...measured,
      kld: { ...(measured.kld as KldFigures), median: null, p99: null },
    });
    expect(merged).toContain(`mean KLD (nats)      95% interval  median  p99   max  same top-1  PPL ratio  steps
         0.1176  [0.1059, 0.1283]       —    —  0.25      80.95%     1.0605     21
Median and p99: not kept when shards are merged.
`);
    expect(merged).toContain(
      '\nFAIL (point mode, threshold 2.00 points): ΔWER +13.79 points exceeds the 2.00-point threshold\nData set:',
    );
    const unavailable = renderTextSummary({
      ...sampleComparison(),
      kld: { available: false, reason: 'the command engine sees no output distributions' },
    });
    expect(unavailable).toContain(
      'P(candidate worse) 0.888\nToken metrics: not available (the command engine sees no output distributions)\nFAIL (point mode',
    );
    expect(unavailable).not.toContain('largest KLD');
  });

  test('the utterances of largest KLD are cut to ten, the largest first', () => {
    const base = sampleComparison();
    const many = {
      ...base,
      utterances: Array.from({ length: 12 }, (_, index) => ({ ...base.utterances[0]!, id: `u${index}` })),
    };
    const text = renderTextSummary(withTokenMetrics(many));
    expect(text).toContain('Utterances with the largest KLD (10 of 12 measured):');
    const listed = text
      .slice(text.indexOf('largest KLD'))
      .match(/^ {2}u\d+/gm)!
      .map((id) => id.trim());
    expect(listed).toHaveLength(10);
    const kldOf = new Map(withTokenMetrics(many).utterances.map((record) => [record.id, record.kld!]));
    const klds = listed.map((id) => kldOf.get(id)!);
    expect(klds).toEqual([...klds].sort((a, b) => b - a));
    expect(Math.min(...klds)).toBeGreaterThanOrEqual(
      Math.max(...[...kldOf].filter(([id]) => !listed.includes(id)).map(([, kld]) => kld)),
    );
  });
});
