import { renderMarkdownSummary } from '../../src/report/markdown.js';
import { summarizeComparison } from '../../src/scoring/compare.js';
import type { KldFigures } from '../../src/scoring/types.js';
import { withTokenMetrics } from '../scoring/token-measures.js';
import { sampleComparison } from './comparison.js';

describe('markdown summary', () => {
  test('verdict table, reason, data set line, and the changed utterances folded in <details>, escaped', () => {
    expect(renderMarkdownSummary(sampleComparison())).toBe(`### quantgate WER gate: ❌ FAIL

| reference WER | candidate WER | ΔWER (points) | 95% interval | P(worse) | threshold | verdict |
| ---: | ---: | ---: | :---: | ---: | ---: | :---: |
| 3.45% (S 1, D 0, I 0) | 17.24% (S 4, D 0, I 1) | +13.79 | [-6.91, +34.62] | 0.888 | 2.00 (point) | **❌ FAIL** |

ΔWER +13.79 points exceeds the 2.00-point threshold.

Data set: openslr/librispeech_asr (clean) test @ 71ba8e1b8d37 · 5 utterances · 29 words · none normalizer · 1 empty reference dropped · 1 failed utterance

<details><summary>Utterances whose error count changed most (4 of 4 changed, of 5 scored)</summary>

| id | Δ errors | transcript | reference hypothesis | candidate hypothesis |
| :--- | ---: | :--- | :--- | :--- |
| \`1089-0001\` | +3 | turnips and carrots and bruised potatoes | turnips and carrots and bruised potatoes | turnip and carrot and bruised potato |
| \`1089-0000\` | +1 | he hoped there would be stew for dinner | he hoped there would be stew for dinner | he hoped there would be stew for diner |
| \`1089-0002\` | +1 | a \\| b &lt;i&gt;c&lt;/i&gt; | a \\| b &lt;i&gt;c&lt;/i&gt; | a \\| b &lt;i&gt;c&lt;/i&gt; \\*d\\* |
| \`1089-0004\` | -1 | the music came nearer | the music came near | the music came nearer |

</details>
`);
  });

  test('the list is cut to the limit, worst regressions kept first', () => {
    const markdown = renderMarkdownSummary(sampleComparison(), { changedLimit: 2 });
    expect(markdown).toContain('(2 of 4 changed, of 5 scored)');
    const ids = [...markdown.matchAll(/^\| `([^`]+)`/gm)].map((match) => match[1]);
    expect(ids).toEqual(['1089-0001', '1089-0000']);
  });

  test('a passing run without changed utterances has no <details> section', () => {
    const comparison = sampleComparison();
    const unchanged = comparison.utterances.map((record) => ({ ...record, candidate: { ...record.reference } }));
    const markdown = renderMarkdownSummary(summarizeComparison({ ...comparison, utterances: unchanged }));
    expect(markdown.startsWith('### quantgate WER gate: ✅ PASS\n')).toBe(true);
    expect(markdown).toContain(
      '| 3.45% (S 1, D 0, I 0) | 3.45% (S 1, D 0, I 0) | +0.00 | [+0.00, +0.00] | 0.000 | 2.00 (point) | **✅ PASS** |',
    );
    expect(markdown).not.toContain('<details>');
  });

  test('with token gates: the heading gives the verdict over all gates, the table the WER gate’s own; the KLD table, each gate, the reuse, and the utterances of largest KLD', () => {
    const measured = withTokenMetrics(sampleComparison(), {
      gates: { maxKld: 0.2, minTop1Agreement: 0.9 },
      bootstrap: { resamples: 1000, seed: 1 },
    });
    const comparison = { ...measured, run: { ...measured.run, reused: { reference: false, candidate: true } } };
    expect(renderMarkdownSummary(comparison, { changedLimit: 1 })).toBe(`### quantgate gates: ❌ FAIL

| reference WER | candidate WER | ΔWER (points) | 95% interval | P(worse) | threshold | verdict |
| ---: | ---: | ---: | :---: | ---: | ---: | :---: |
| 3.45% (S 1, D 0, I 0) | 17.24% (S 4, D 0, I 1) | +13.79 | [-6.91, +34.62] | 0.888 | 2.00 (point) | **❌ FAIL** |

| mean KLD (nats) | 95% interval | median | p99 | max | same top-1 | PPL ratio | steps |
| ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: |
| 0.1176 | [0.1059, 0.1283] | 0.125 | 0.2438 | 0.25 | 80.95% | 1.0605 | 21 |

- WER gate ❌ FAIL: ΔWER +13.79 points exceeds the 2.00-point threshold.
- max-kld gate ✅ PASS: the mean KLD, 0.1176 nats, is within the 0.2-nat limit.
- min-top1-agreement gate ❌ FAIL: the top-1 agreement, 80.95%, is below the 90.00% minimum.

Reference: evaluated, candidate: reused results.

Data set: openslr/librispeech_asr (clean) test @ 71ba8e1b8d37 · 5 utterances · 29 words · none normalizer · 1 empty reference dropped · 1 failed utterance

<details><summary>Utterances whose error count changed most (1 of 4 changed, of 5 scored)</summary>

| id | Δ errors | transcript | reference hypothesis | candidate hypothesis |
| :--- | ---: | :--- | :--- | :--- |
| \`1089-0001\` | +3 | turnips and carrots and bruised potatoes | turnips and carrots and bruised potatoes | turnip and carrot and bruised potato |

</details>

<details><summary>Utterances with the largest KLD (5 of 5 measured)</summary>

| id | KLD (nats) | same top-1 | Δ errors |
| :--- | ---: | ---: | ---: |
| \`1089-0004\` | 0.1354 | 66.67% | -1 |
| \`1089-0001\` | 0.125 | 100.00% | +3 |
| \`1089-0002\` | 0.125 | 80.00% | +1 |
| \`1089-0003\` | 0.1094 | 83.33% | 0 |
| \`1089-0000\` | 0.09375 | 66.67% | +1 |

</details>
`);
  });

  test('a failing token gate fails a run whose WER gate passes; a passing one leaves the verdict passing', () => {
    const comparison = sampleComparison();
    const unchanged = comparison.utterances.map((record) => ({ ...record, candidate: { ...record.reference } }));
    const passing = summarizeComparison({ ...comparison, utterances: unchanged });
    const strictTop1 = renderMarkdownSummary(withTokenMetrics(passing, { gates: { minTop1Agreement: 0.9 } }));
    expect(strictTop1.startsWith('### quantgate gates: ❌ FAIL\n')).toBe(true);
    expect(strictTop1).toContain('| 2.00 (point) | **✅ PASS** |');
    expect(strictTop1).toContain('- WER gate ✅ PASS: ');
    const lenientKld = renderMarkdownSummary(withTokenMetrics(passing, { gates: { maxKld: 1 } }));
    expect(lenientKld.startsWith('### quantgate gates: ✅ PASS\n')).toBe(true);
  });

  test('without token gates the reason stands alone; merged percentiles and missing metrics are explained', () => {
    const measured = withTokenMetrics(sampleComparison());
    const merged = renderMarkdownSummary({
      ...measured,
      kld: { ...(measured.kld as KldFigures), median: null, p99: null },
    });
    expect(merged.startsWith('### quantgate WER gate: ❌ FAIL\n')).toBe(true);
    expect(merged).toMatch(
      /\n\| [\d.]+ \| \[[\d.]+, [\d.]+\] \| — \| — \| [\d.]+ \| [\d.]+% \| [\d.]+ \| 21 \|\n\nMedian and p99: not kept when shards are merged\.\n\nΔWER \+13\.79 points exceeds the 2\.00-point threshold\.\n\nData set:/,
    );
    const unavailable = renderMarkdownSummary({
      ...sampleComparison(),
      kld: { available: false, reason: 'the command engine sees no *distributions*' },
    });
    expect(unavailable).toContain(
      '\n\nToken metrics (KLD, same top-1): not available (the command engine sees no \\*distributions\\*).\n\nΔWER +13.79',
    );
    expect(unavailable).not.toContain('largest KLD');
  });
});
