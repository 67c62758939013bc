import { renderMarkdownSummary } from '../../src/report/markdown.js';
import { summarizeComparison } from '../../src/scoring/compare.js';
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
});
