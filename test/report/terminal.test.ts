import { renderTextSummary } from '../../src/report/terminal.js';
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
});
