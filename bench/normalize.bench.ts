// Text normalizers on a LibriSpeech test-clean sized workload: 2,620 upper-case sentences of about
// 20 words, with the contractions, number words and British spellings the rules act on. Reports
// the median time of each normalizer against the 0.5 s budget, and as a ratio of the time taken
// just to lower-case and split the same text (a floor no normalizer can beat).

import { createNormalizer, NORMALIZER_NAMES } from '../src/scoring/normalize/index.js';
import { median, seconds } from './measure.js';

const SENTENCES = 2620;
const WORDS_PER_SENTENCE = 20;
const RUNS = 7;
const BUDGET_MS = 500;

const VOCABULARY = [
  'THE',
  'AND',
  'OF',
  'TO',
  'A',
  'IN',
  'HE',
  'WAS',
  'THAT',
  'HIS',
  'IT',
  'WITH',
  'HAD',
  'AS',
  'FOR',
  'HER',
  'YOU',
  'NOT',
  'BUT',
  'AT',
  'SHE',
  'BE',
  'THEY',
  'WHICH',
  'HIM',
  'THIS',
  'ALL',
  'BY',
  'SAID',
  'FROM',
  'SO',
  'WERE',
  'ONE',
  'THEIR',
  'WOULD',
  'THERE',
  'IF',
  'NO',
  "DON'T",
  "IT'S",
  "I'M",
  "WON'T",
  "HE'D",
  "THEY'RE",
  "CAN'T",
  'MISTER',
  'MISSUS',
  'DOCTOR',
  'COLOUR',
  'HONOUR',
  'FAVOUR',
  'GREY',
  'TWENTY',
  'FIVE',
  'HUNDRED',
  'THOUSAND',
  'FIRST',
  'SECOND',
  'THIRTY',
  'NINE',
  'POUNDS',
  'DOLLARS',
  'PER',
  'CENT',
  'POINT',
  'HALF',
];

/** A fixed pseudo-random sequence (mulberry32), so every run normalizes the same text. */
function randomSource(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

function makeSentences(): string[] {
  const random = randomSource(2620);
  return Array.from({ length: SENTENCES }, () =>
    Array.from({ length: WORDS_PER_SENTENCE }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]).join(' '),
  );
}

/** The first run's time (cold: the one a scoring run pays) and the median of all runs. */
async function timeMs(work: () => void): Promise<{ firstMs: number; medianMs: number }> {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) times.push((await seconds(work)) * 1000);
  return { firstMs: times[0]!, medianMs: median(times) };
}

export const bench = {
  name: 'normalize',
  summary: `WER text normalizers on ${SENTENCES} LibriSpeech-length sentences`,
  run: async () => {
    const sentences = makeSentences();
    const floor = await timeMs(() => sentences.forEach((sentence) => sentence.toLowerCase().split(/\s+/)));
    console.log(`lower-case and split (floor): median ${floor.medianMs.toFixed(1)} ms`);
    for (const name of NORMALIZER_NAMES) {
      const normalize = createNormalizer(name);
      const { firstMs, medianMs } = await timeMs(() => sentences.forEach((sentence) => normalize(sentence)));
      const verdict = firstMs < BUDGET_MS ? 'within' : 'OVER';
      console.log(
        `${name.padEnd(7)}: first run ${firstMs.toFixed(1)} ms, median ${medianMs.toFixed(1)} ms (${(medianMs / floor.medianMs).toFixed(1)}× the floor); ` +
          `first run ${verdict} the ${BUDGET_MS} ms budget (${((firstMs / BUDGET_MS) * 100).toFixed(0)}%)`,
      );
    }
  },
};
