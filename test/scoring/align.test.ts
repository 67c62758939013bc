import { alignWords, type ErrorCounts } from '../../src/scoring/align.js';
import { SeededRandom } from '../../src/scoring/random.js';

const words = (text: string) => (text === '' ? [] : text.split(' '));
const counts = (ref: string, hyp: string): ErrorCounts => {
  const { pairs: _pairs, ...rest } = alignWords(words(ref), words(hyp));
  return rest;
};
const pairs = (ref: string, hyp: string) => alignWords(words(ref), words(hyp)).pairs.map(({ ref: r, hyp: h }) => [r, h]);

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
    expect(pairs('', 'a b')).toEqual([[null, 'a'], [null, 'b']]);
  });

  test('an empty hypothesis makes every reference word a deletion', () => {
    expect(counts('a b c', '')).toEqual({ substitutions: 0, deletions: 3, insertions: 0, hits: 0, referenceWords: 3 });
    expect(pairs('a b c', '')).toEqual([['a', null], ['b', null], ['c', null]]);
    expect(counts('', '')).toEqual({ substitutions: 0, deletions: 0, insertions: 0, hits: 0, referenceWords: 0 });
  });

  test('a substitution is taken when it is strictly cheaper', () => {
    expect(counts('a b c', 'a x c')).toEqual({ substitutions: 1, deletions: 0, insertions: 0, hits: 2, referenceWords: 3 });
    expect(counts('a b', 'c d')).toEqual({ substitutions: 2, deletions: 0, insertions: 0, hits: 0, referenceWords: 2 });
  });

  test('on a tie between two substitutions and a deletion plus an insertion, the deletion and insertion win', () => {
    expect(counts('a b', 'b c')).toEqual({ substitutions: 0, deletions: 1, insertions: 1, hits: 1, referenceWords: 2 });
    expect(pairs('a b', 'b c')).toEqual([['a', null], ['b', 'b'], [null, 'c']]);
  });

  test('on a three-way tie the insertion is taken last in the trace, so it ends the alignment', () => {
    expect(pairs('a b', 'b a')).toEqual([['a', null], ['b', 'b'], [null, 'a']]);
  });

  // kaldialign's own test cases (tests/test_align.py): same alignments and counts.
  test.each([
    ['a b c', 'a s x c', [['a', 'a'], ['b', 's'], [null, 'x'], ['c', 'c']], { substitutions: 1, deletions: 0, insertions: 1 }],
    ['A B C', 'D C A', [['A', 'D'], ['B', null], ['C', 'C'], [null, 'A']], { substitutions: 1, deletions: 1, insertions: 1 }],
    ['A B C D', 'C E D F', [['A', null], ['B', null], ['C', 'C'], [null, 'E'], ['D', 'D'], [null, 'F']], { substitutions: 0, deletions: 2, insertions: 2 }],
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
      expect([alignment.substitutions, alignment.deletions, alignment.insertions]).toEqual([oracle.sub, oracle.del, oracle.ins]);
      expect(alignment.hits + alignment.substitutions + alignment.deletions).toBe(ref.length);
      expect(alignment.pairs.flatMap((pair) => (pair.ref === null ? [] : [pair.ref]))).toEqual(ref);
      expect(alignment.pairs.flatMap((pair) => (pair.hyp === null ? [] : [pair.hyp]))).toEqual(hyp);
    }
  });

  test('a long alignment grows the reused cost matrix without disturbing later short ones', () => {
    const long = Array.from({ length: 1500 }, (_, i) => `w${i % 37}`);
    const shifted = long.slice(1).concat('tail');
    expect(counts(long.join(' '), shifted.join(' '))).toMatchObject({ deletions: 1, insertions: 1, substitutions: 0 });
    expect(counts('a b c', 'a b d')).toEqual({ substitutions: 1, deletions: 0, insertions: 0, hits: 2, referenceWords: 3 });
  });
});

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
      if (diagonal < deletion && diagonal < insertion) current.push({ ...previous[i - 1]!, cost: diagonal, sub: previous[i - 1]!.sub + (same ? 0 : 1) });
      else if (deletion < insertion) current.push({ ...current[i - 1]!, cost: deletion, del: current[i - 1]!.del + 1 });
      else current.push({ ...previous[i]!, cost: insertion, ins: previous[i]!.ins + 1 });
    }
    previous = current;
  }
  return previous[ref.length]!;
}
