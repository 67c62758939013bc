import { QuantgateError } from '../../src/common/errors.js';
import { splitWords } from '../../src/scoring/normalize/index.js';
import { errorsOf, scoreCorpus, systemScore } from '../../src/scoring/wer.js';

describe('splitWords', () => {
  test('splits on any run of whitespace and ignores the ends', () => {
    expect(splitWords('  the\tcat \n sat  ')).toEqual(['the', 'cat', 'sat']);
    expect(splitWords('   ')).toEqual([]);
  });

  test("splits words as Python and jiwer do, not as JavaScript's \\s", () => {
    expect(splitWords('hello\ufeffworld')).toEqual(['hello\ufeffworld']);
    expect(splitWords('a\x1cb\u0085c')).toEqual(['a', 'b', 'c']);
  });
});

describe('scoreCorpus', () => {
  test('corpus WER sums errors and words over utterances instead of averaging per-utterance rates', () => {
    const score = scoreCorpus([
      { id: 'short', reference: 'yes', hypothesis: 'no' },
      {
        id: 'long',
        reference: 'one two three four five six seven eight nine',
        hypothesis: 'one two three four five six seven eight nine',
      },
    ]);
    // Per-utterance rates 100% and 0% would average to 50%; one error in ten words is 10%.
    expect(score.total).toEqual({
      substitutions: 1,
      deletions: 0,
      insertions: 0,
      hits: 9,
      referenceWords: 10,
      werPercent: 10,
    });
    expect(score.utterances.map((utterance) => [utterance.id, errorsOf(utterance.counts)])).toEqual([
      ['short', 1],
      ['long', 0],
    ]);
    expect(score.droppedEmptyIds).toEqual([]);
  });

  test('an empty hypothesis counts every reference word as deleted, and insertions can push WER past 100%', () => {
    expect(scoreCorpus([{ id: 'a', reference: 'a b c d', hypothesis: '' }]).total).toMatchObject({
      deletions: 4,
      werPercent: 100,
    });
    expect(scoreCorpus([{ id: 'a', reference: 'a', hypothesis: 'x y z' }]).total).toMatchObject({
      substitutions: 1,
      insertions: 2,
      werPercent: 300,
    });
  });

  test('references empty after normalization are dropped and listed, their hypotheses not counted', () => {
    const score = scoreCorpus([
      { id: 'a', reference: 'hello world', hypothesis: 'hello word' },
      { id: 'blank', reference: '  ', hypothesis: 'noise noise' },
      { id: 'b', reference: 'good morning', hypothesis: 'good morning' },
    ]);
    expect(score.droppedEmptyIds).toEqual(['blank']);
    expect(score.utterances.map((utterance) => utterance.id)).toEqual(['a', 'b']);
    expect(score.total).toMatchObject({ insertions: 0, referenceWords: 4, werPercent: 25 });
  });

  test('a set without reference words is an error naming the cause', () => {
    expect(() => scoreCorpus([{ id: 'a', reference: '', hypothesis: 'x' }])).toThrow(QuantgateError);
    expect(() => scoreCorpus([{ id: 'a', reference: '', hypothesis: 'x' }])).toThrow(
      /all 1 reference transcripts are empty after normalization/,
    );
    expect(() => scoreCorpus([])).toThrow(/no utterances to score/);
  });
});

describe('systemScore', () => {
  test('sums counts and computes WER in percent', () => {
    const score = systemScore([
      { substitutions: 1, deletions: 2, insertions: 3, hits: 4, referenceWords: 7 },
      { substitutions: 0, deletions: 0, insertions: 1, hits: 13, referenceWords: 13 },
    ]);
    expect(score).toEqual({
      substitutions: 1,
      deletions: 2,
      insertions: 4,
      hits: 17,
      referenceWords: 20,
      werPercent: 35,
    });
  });
});
