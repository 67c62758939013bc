// Scoring speed on a LibriSpeech test-clean sized run: 2,620 synthetic utterances of about 20
// words, references in LibriSpeech style (upper case, no punctuation) and hypotheses in engine
// style (sentence case, punctuation, about 5% word errors). Times Whisper normalization, alignment
// and corpus scoring of one system (budget 1 s), and the paired bootstrap of two systems with
// 10,000 resamples (budget 2 s). Each figure is the median of five runs after a warm-up. Then one
// utterance at the ceiling, MAX_WORDS_PER_UTTERANCE words on each side, counted once: its time and
// the heap it needs, which two rows of the cost matrix keep near a megabyte.

import { countErrors, MAX_WORDS_PER_UTTERANCE } from '../src/scoring/align.js';
import { pairedBootstrap } from '../src/scoring/bootstrap.js';
import { createNormalizer } from '../src/scoring/normalize/index.js';
import { SeededRandom } from '../src/scoring/random.js';
import { errorsOf, scoreCorpus } from '../src/scoring/wer.js';
import { medianSeconds } from './measure.js';

const UTTERANCES = 2620;
const WORD_ERROR_RATE = 0.05;
const SCORE_BUDGET_MS = 1000;
const BOOTSTRAP_BUDGET_MS = 2000;

const FUNCTION_WORDS =
  'the of and to a in that he was it his i you with as for had her she at him not on be but by my is all so they which this from said were one have me we there no an when or been would what if their them then could into out more some upon now very little up'.split(
    ' ',
  );
const SYLLABLES =
  'ba be bi bo ca co da de di do fa fe ga go ha he la le li lo ma me mi mo na ne no pa pe po ra re ri ro sa se si so ta te ti to va ve wa we ya'.split(
    ' ',
  );

export const bench = {
  name: 'scoring',
  summary:
    'normalize + align + score 2,620 utterance pairs, the 10,000-resample paired bootstrap, and one utterance at the word ceiling',
  run: async () => {
    const random = new SeededRandom(1);
    const vocabulary = [...FUNCTION_WORDS, ...Array.from({ length: 3000 }, () => syntheticWord(random))];
    const references = Array.from({ length: UTTERANCES }, () => sentence(random, vocabulary));
    const referenceSystem = references.map((words) => engineStyle(withErrors(random, words, vocabulary)));
    const candidateSystem = references.map((words) => engineStyle(withErrors(random, words, vocabulary)));
    const transcripts = references.map((words) => words.join(' ').toUpperCase());
    const normalize = createNormalizer('whisper');

    const scoreOneSystem = (hypotheses: string[]) =>
      scoreCorpus(
        transcripts.map((transcript, i) => ({
          id: String(i),
          reference: normalize(transcript),
          hypothesis: normalize(hypotheses[i]!),
        })),
      );
    const normalizeOnly = () =>
      transcripts.forEach((transcript, i) => (normalize(transcript), normalize(referenceSystem[i]!)));

    const scoreMs = await medianMs(() => scoreOneSystem(referenceSystem));
    const normalizeMs = await medianMs(normalizeOnly);
    const referenceScore = scoreOneSystem(referenceSystem);
    const candidateScore = scoreOneSystem(candidateSystem);
    const words = referenceScore.total.referenceWords;
    console.log(
      `${UTTERANCES} utterances, ${words} words, reference system WER ${referenceScore.total.werPercent.toFixed(2)}%, candidate ${candidateScore.total.werPercent.toFixed(2)}%`,
    );
    console.log(
      `normalize + align + score one system: ${scoreMs.toFixed(0)} ms (${(scoreMs / SCORE_BUDGET_MS).toFixed(2)}× the 1 s budget); ` +
        `of which whisper normalization ${normalizeMs.toFixed(0)} ms (${((100 * normalizeMs) / scoreMs).toFixed(0)}%)`,
    );

    const counts = {
      words: Int32Array.from(referenceScore.utterances, (utterance) => utterance.counts.referenceWords),
      referenceErrors: Int32Array.from(referenceScore.utterances, (utterance) => errorsOf(utterance.counts)),
      candidateErrors: Int32Array.from(candidateScore.utterances, (utterance) => errorsOf(utterance.counts)),
    };
    const bootstrapMs = await medianMs(() => pairedBootstrap(counts));
    const draws = 10_000 * UTTERANCES;
    console.log(
      `paired bootstrap, 10,000 resamples × ${UTTERANCES}: ${bootstrapMs.toFixed(0)} ms (${(bootstrapMs / BOOTSTRAP_BUDGET_MS).toFixed(2)}× the 2 s budget, ` +
        `${((1e6 * bootstrapMs) / draws).toFixed(1)} ns per drawn utterance)`,
    );

    const longReference = Array.from(
      { length: MAX_WORDS_PER_UTTERANCE },
      () => vocabulary[random.nextBelow(vocabulary.length)]!,
    );
    const longHypothesis = withErrors(random, longReference, vocabulary).slice(0, MAX_WORDS_PER_UTTERANCE);
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const started = performance.now();
    const longCounts = countErrors(longReference, longHypothesis);
    const longMs = performance.now() - started;
    const heapGrowth = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heapBefore;
    const cells = longReference.length * longHypothesis.length;
    console.log(
      `one utterance at the ceiling, ${longReference.length} × ${longHypothesis.length} words (WER ${((100 * errorsOf(longCounts)) / longCounts.referenceWords).toFixed(2)}%): ` +
        `${(longMs / 1000).toFixed(2)} s, ${((1e6 * longMs) / cells).toFixed(2)} ns per word pair, heap growth ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`,
    );
  },
};

/** Milliseconds: the median of five runs after a warm-up run. */
async function medianMs(work: () => unknown): Promise<number> {
  work();
  const [median] = await medianSeconds([work], 5);
  return median! * 1000;
}

function syntheticWord(random: SeededRandom): string {
  const syllables = 1 + random.nextBelow(3);
  return Array.from({ length: syllables }, () => SYLLABLES[random.nextBelow(SYLLABLES.length)]!).join('');
}

/** 8–32 words, drawn Zipf-like: low vocabulary ranks (function words first) far more often. */
function sentence(random: SeededRandom, vocabulary: string[]): string[] {
  const length = 8 + random.nextBelow(25);
  return Array.from({ length }, () => vocabulary[Math.floor(vocabulary.length ** random.nextFloat()) - 1]!);
}

/** Substitutions, deletions and insertions at WORD_ERROR_RATE overall, in ratio 3 : 1 : 1. */
function withErrors(random: SeededRandom, words: string[], vocabulary: string[]): string[] {
  const out: string[] = [];
  for (const word of words) {
    const roll = random.nextFloat() / WORD_ERROR_RATE;
    if (roll < 0.6) out.push(vocabulary[random.nextBelow(vocabulary.length)]!);
    else if (roll < 0.8) continue;
    else if (roll < 1) out.push(word, vocabulary[random.nextBelow(vocabulary.length)]!);
    else out.push(word);
  }
  return out;
}

/** Sentence case with commas and a full stop, as an engine writes. */
function engineStyle(words: string[]): string {
  const text = words.map((word, i) => (i > 0 && i % 7 === 0 ? `${word},` : word)).join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
