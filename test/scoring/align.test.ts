import { readFile } from 'node:fs/promises';
import { QuantgateError } from '../../src/common/errors.js';
import {
  alignWords,
  countErrors,
  MAX_ALIGNMENT_CELLS,
  MAX_WORDS_PER_UTTERANCE,
  type ErrorCounts,
} from '../../src/scoring/align.js';
import { splitWords } from '../../src/scoring/normalize/index.js';
import { SeededRandom } from '../../src/scoring/random.js';

const words = (text: string) => (text === '' ? [] : text.split(' '));
const counts = (ref: string, hyp: string): ErrorCounts => {
  const { pairs: _pairs, ...rest } = alignWords(words(ref), words(hyp));
  return rest;
};
const pairs = (ref: string, hyp: string) =>
  alignWords(words(ref), words(hyp)).pairs.map(({ ref: r, hyp: h }) => [r, h]);

describe('alignWords', () => {
  test('identical sequences are all hits', () => {
    expect(alignWords(words('the cat sat'), words('the cat sat'))).toEqual({
      substitutions: 0,
      deletions: 0,
      insertions: 0,
      hits: 3,
      referenceWords: 3,
      pairs: [
        { ref: 'the', hyp: 'the', op: 'hit' },
        { ref: 'cat', hyp: 'cat', op: 'hit' },
        { ref: 'sat', hyp: 'sat', op: 'hit' },
      ],
    });
  });

  test('an empty reference makes every hypothesis word an insertion', () => {
    expect(counts('', 'a b')).toEqual({ substitutions: 0, deletions: 0, insertions: 2, hits: 0, referenceWords: 0 });
    expect(pairs('', 'a b')).toEqual([
      [null, 'a'],
      [null, 'b'],
    ]);
  });

  test('an empty hypothesis makes every reference word a deletion', () => {
    expect(counts('a b c', '')).toEqual({ substitutions: 0, deletions: 3, insertions: 0, hits: 0, referenceWords: 3 });
    expect(pairs('a b c', '')).toEqual([
      ['a', null],
      ['b', null],
      ['c', null],
    ]);
    expect(counts('', '')).toEqual({ substitutions: 0, deletions: 0, insertions: 0, hits: 0, referenceWords: 0 });
  });

  test('a substitution is taken when it is strictly cheaper', () => {
    expect(counts('a b c', 'a x c')).toEqual({
      substitutions: 1,
      deletions: 0,
      insertions: 0,
      hits: 2,
      referenceWords: 3,
    });
    expect(counts('a b', 'c d')).toEqual({ substitutions: 2, deletions: 0, insertions: 0, hits: 0, referenceWords: 2 });
  });

  test('on a tie between two substitutions and a deletion plus an insertion, the deletion and insertion win', () => {
    expect(counts('a b', 'b c')).toEqual({ substitutions: 0, deletions: 1, insertions: 1, hits: 1, referenceWords: 2 });
    expect(pairs('a b', 'b c')).toEqual([
      ['a', null],
      ['b', 'b'],
      [null, 'c'],
    ]);
  });

  test('on a three-way tie the insertion is taken last in the trace, so it ends the alignment', () => {
    expect(pairs('a b', 'b a')).toEqual([
      ['a', null],
      ['b', 'b'],
      [null, 'a'],
    ]);
  });

  // kaldialign's own test cases (tests/test_align.py): same alignments and counts.
  test.each([
    [
      'a b c',
      'a s x c',
      [
        ['a', 'a'],
        ['b', 's'],
        [null, 'x'],
        ['c', 'c'],
      ],
      { substitutions: 1, deletions: 0, insertions: 1 },
    ],
    [
      'A B C',
      'D C A',
      [
        ['A', 'D'],
        ['B', null],
        ['C', 'C'],
        [null, 'A'],
      ],
      { substitutions: 1, deletions: 1, insertions: 1 },
    ],
    [
      'A B C D',
      'C E D F',
      [
        ['A', null],
        ['B', null],
        ['C', 'C'],
        [null, 'E'],
        ['D', 'D'],
        [null, 'F'],
      ],
      { substitutions: 0, deletions: 2, insertions: 2 },
    ],
  ])('matches kaldialign on %s / %s', (ref, hyp, expectedPairs, expectedCounts) => {
    expect(pairs(ref, hyp)).toEqual(expectedPairs);
    expect(counts(ref, hyp)).toMatchObject(expectedCounts);
  });

  test('random sequences: minimal total, consistent pairs, and the counts of Kaldi forward-counting edit distance', () => {
    const random = new SeededRandom(11);
    const draw = () => Array.from({ length: random.nextBelow(12) }, () => 'abcd'[random.nextBelow(4)]!);
    for (let trial = 0; trial < 2000; trial++) {
      const ref = draw();
      const hyp = draw();
      const alignment = alignWords(ref, hyp);
      const oracle = kaldiEditDistance(ref, hyp);
      expect([alignment.substitutions, alignment.deletions, alignment.insertions]).toEqual([
        oracle.sub,
        oracle.del,
        oracle.ins,
      ]);
      expect(alignment.hits + alignment.substitutions + alignment.deletions).toBe(ref.length);
      expect(alignment.pairs.flatMap((pair) => (pair.ref === null ? [] : [pair.ref]))).toEqual(ref);
      expect(alignment.pairs.flatMap((pair) => (pair.hyp === null ? [] : [pair.hyp]))).toEqual(hyp);
    }
  });

  test('an alignment past MAX_ALIGNMENT_CELLS word pairs is refused before any matrix is allocated', () => {
    const side = Math.ceil(Math.sqrt(MAX_ALIGNMENT_CELLS)) + 1;
    const long = Array.from({ length: side }, (_, i) => `w${i}`);
    expect(() => alignWords(long, long)).toThrow(QuantgateError);
    expect(() => alignWords(long, long)).toThrow(
      `an alignment of ${side} reference words against ${side} hypothesis words is too long to show word by word`,
    );
  });

  test('a long alignment grows the reused cost matrix without disturbing later short ones', () => {
    const long = Array.from({ length: 1500 }, (_, i) => `w${i % 37}`);
    const shifted = long.slice(1).concat('tail');
    expect(counts(long.join(' '), shifted.join(' '))).toMatchObject({ deletions: 1, insertions: 1, substitutions: 0 });
    expect(counts('a b c', 'a b d')).toEqual({
      substitutions: 1,
      deletions: 0,
      insertions: 0,
      hits: 2,
      referenceWords: 3,
    });
  });
});

describe('countErrors', () => {
  const expectSameAsFullMatrix = (ref: string[], hyp: string[]) => {
    expect(countErrors(ref, hyp)).toEqual(fullMatrixCounts(ref, hyp));
    expect(countErrors(hyp, ref)).toEqual(fullMatrixCounts(hyp, ref));
  };

  test('gives the counts of the full-matrix trace-back on 300 transcript pairs at 5 % to 60 % word errors', () => {
    const random = new SeededRandom(7);
    const vocabulary = Array.from({ length: 60 }, (_, i) => `w${i}`);
    for (let pair = 0; pair < 300; pair++) {
      const ref = Array.from(
        { length: 1 + random.nextBelow(40) },
        () => vocabulary[Math.floor(vocabulary.length ** random.nextFloat()) - 1]!,
      );
      const errorRate = 0.05 + (0.55 * pair) / 300;
      const hyp: string[] = [];
      for (const word of ref) {
        const roll = random.nextFloat() / errorRate;
        if (roll < 0.6) hyp.push(vocabulary[random.nextBelow(vocabulary.length)]!);
        else if (roll < 0.8) continue;
        else if (roll < 1) hyp.push(word, vocabulary[random.nextBelow(vocabulary.length)]!);
        else hyp.push(word);
      }
      expectSameAsFullMatrix(ref, hyp);
    }
  });

  test('gives the counts of the full-matrix trace-back on the golden normalizer cases', async () => {
    const lines = async (name: string, field: string) =>
      (await readFile(new URL(`../fixtures/normalizer/${name}`, import.meta.url), 'utf8'))
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, string>)
        .map((record) => [record.input!, record[field]!] as const);
    const english = await lines('whisper-english.jsonl', 'english');
    const basic = new Map(await lines('whisper-basic.jsonl', 'basic'));
    expect(english.length).toBe(700);
    for (const [input, normalized] of english) {
      expectSameAsFullMatrix(splitWords(input), splitWords(normalized));
      expectSameAsFullMatrix(splitWords(basic.get(input)!), splitWords(normalized));
    }
  });

  test('gives the counts of the full-matrix trace-back on tie-heavy random sequences of both shapes', () => {
    const random = new SeededRandom(23);
    const draw = (length: number) => Array.from({ length }, () => 'abc'[random.nextBelow(3)]!);
    for (let trial = 0; trial < 3000; trial++)
      expectSameAsFullMatrix(draw(random.nextBelow(25)), draw(random.nextBelow(25)));
    expectSameAsFullMatrix(draw(700), draw(650));
  });

  test('keeps one row of the shorter transcript: a hypothesis of the maximum length against a short reference', () => {
    const ref = 'the cat sat on the mat'.split(' ');
    const hyp = Array.from({ length: MAX_WORDS_PER_UTTERANCE }, (_, i) => (i < ref.length ? ref[i]! : 'again'));
    expect(countErrors(ref, hyp)).toEqual({
      substitutions: 0,
      deletions: 0,
      insertions: MAX_WORDS_PER_UTTERANCE - 6,
      hits: 6,
      referenceWords: 6,
    });
    expect(countErrors(hyp, ref)).toEqual({
      substitutions: 0,
      deletions: MAX_WORDS_PER_UTTERANCE - 6,
      insertions: 0,
      hits: 6,
      referenceWords: MAX_WORDS_PER_UTTERANCE,
    });
  });

  test('a transcript past MAX_WORDS_PER_UTTERANCE is a clear error naming the utterance and the fix', () => {
    const tooLong = Array.from({ length: MAX_WORDS_PER_UTTERANCE + 1 }, () => 'word');
    expect(() => countErrors(tooLong, ['word'], 'utterance 7')).toThrow(QuantgateError);
    expect(() => countErrors(['word'], tooLong, 'utterance 7')).toThrow(
      `utterance 7: its hypothesis has ${MAX_WORDS_PER_UTTERANCE + 1} words, more than the ${MAX_WORDS_PER_UTTERANCE} words per utterance that scoring aligns; cut long-form audio and its transcripts into shorter utterances`,
    );
    const fuzzCase = Array.from({ length: 80_000 }, (_, i) => `w${i % 100}`);
    expect(() => countErrors(fuzzCase, fuzzCase)).toThrow(/its reference has 80000 words/);
  });
});

/**
 * The full-matrix alignment that countErrors replaced, kept as its oracle: the whole cost matrix,
 * then Kaldi's trace-back from the end.
 */
function fullMatrixCounts(ref: readonly string[], hyp: readonly string[]): ErrorCounts {
  const width = hyp.length + 1;
  const costs = new Int32Array((ref.length + 1) * width);
  for (let j = 0; j < width; j++) costs[j] = j;
  for (let i = 1; i <= ref.length; i++) {
    const row = i * width;
    const above = row - width;
    costs[row] = i;
    for (let j = 1; j < width; j++) {
      const diagonal = costs[above + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      const deletion = costs[above + j]! + 1;
      const insertion = costs[row + j - 1]! + 1;
      costs[row + j] =
        diagonal < deletion
          ? diagonal < insertion
            ? diagonal
            : insertion
          : deletion < insertion
            ? deletion
            : insertion;
    }
  }
  const counts = { substitutions: 0, deletions: 0, insertions: 0, hits: 0, referenceWords: ref.length };
  let i = ref.length;
  let j = hyp.length;
  while (i > 0 || j > 0) {
    let step: 'diagonal' | 'deletion' | 'insertion';
    if (i === 0) step = 'insertion';
    else if (j === 0) step = 'deletion';
    else {
      const diagonal = costs[(i - 1) * width + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      const deletion = costs[(i - 1) * width + j]! + 1;
      const insertion = costs[i * width + j - 1]! + 1;
      step = diagonal < deletion && diagonal < insertion ? 'diagonal' : deletion < insertion ? 'deletion' : 'insertion';
    }
    if (step === 'diagonal') {
      i--;
      j--;
      if (ref[i] === hyp[j]) counts.hits++;
      else counts.substitutions++;
    } else if (step === 'deletion') {
      i--;
      counts.deletions++;
    } else {
      j--;
      counts.insertions++;
    }
  }
  return counts;
}

/**
 * Kaldi's LevenshteinEditDistance, formulated independently of alignWords: a forward pass keeping
 * each cell's counts, taking the diagonal only when strictly cheapest, else the deletion when
 * strictly cheaper than the insertion, else the insertion.
 */
function kaldiEditDistance(ref: string[], hyp: string[]) {
  type Cell = { cost: number; sub: number; del: number; ins: number };
  let previous: Cell[] = ref.map((_, i) => ({ cost: i + 1, sub: 0, del: i + 1, ins: 0 }));
  previous.unshift({ cost: 0, sub: 0, del: 0, ins: 0 });
  for (let j = 1; j <= hyp.length; j++) {
    const current: Cell[] = [{ ...previous[0]!, cost: previous[0]!.cost + 1, ins: previous[0]!.ins + 1 }];
    for (let i = 1; i <= ref.length; i++) {
      const same = ref[i - 1] === hyp[j - 1];
      const diagonal = previous[i - 1]!.cost + (same ? 0 : 1);
      const deletion = current[i - 1]!.cost + 1;
      const insertion = previous[i]!.cost + 1;
      if (diagonal < deletion && diagonal < insertion)
        current.push({ ...previous[i - 1]!, cost: diagonal, sub: previous[i - 1]!.sub + (same ? 0 : 1) });
      else if (deletion < insertion) current.push({ ...current[i - 1]!, cost: deletion, del: current[i - 1]!.del + 1 });
      else current.push({ ...previous[i]!, cost: insertion, ins: previous[i]!.ins + 1 });
    }
    previous = current;
  }
  return previous[ref.length]!;
}
