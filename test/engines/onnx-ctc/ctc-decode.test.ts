import { CtcVocabulary, greedyCtc } from '../../../src/engines/onnx-ctc/ctc-decode.js';

/** Logits whose best class per frame is `path`; the other classes score lower. */
function logitsFor(path: readonly number[], classes: number): Float32Array {
  const logits = new Float32Array(path.length * classes).fill(-1);
  path.forEach((best, frame) => (logits[frame * classes + best] = 2));
  return logits;
}

describe('greedyCtc', () => {
  test('collapses repeats, drops blanks, and keeps a letter repeated across a blank', () => {
    expect(greedyCtc(logitsFor([0, 3, 3, 0, 3, 4, 4, 4, 0, 0, 1], 5), 11, 5, 0)).toEqual([3, 3, 4, 1]);
  });

  test('the blank can be any id', () => {
    expect(greedyCtc(logitsFor([4, 2, 4, 2, 2, 0], 5), 6, 5, 4)).toEqual([2, 2, 0]);
  });

  test('the first of tied classes wins', () => {
    expect(greedyCtc(Float32Array.from([0, 1, 1, 0.5, 3, 3, 3, 1]), 2, 4, 0)).toEqual([1]);
    expect(greedyCtc(Float32Array.from([1, 1, 0, 0]), 1, 4, 1)).toEqual([0]);
    expect(greedyCtc(Float32Array.from([1, 1, 0, 0]), 1, 4, 0)).toEqual([]);
  });

  test('reads only the frames it is given, so padding frames are left out', () => {
    const logits = logitsFor([2, 2, 3, 1, 1], 4);
    expect(greedyCtc(logits, 3, 4, 0)).toEqual([2, 3]);
    expect(greedyCtc(logits, 0, 4, 0)).toEqual([]);
    expect(() => greedyCtc(logits, 6, 4, 0)).toThrow(RangeError);
  });
});

describe('CtcVocabulary', () => {
  const tokens = new Map(
    ['<pad>', '<s>', '</s>', '<unk>', '|', 'A', 'B', "'", '[UNK]', 'ÇA'].map((token, id) => [token, id]),
  );
  const vocabulary = new CtcVocabulary(tokens, 0, '|');

  test('maps ids to text, the delimiter to a space, dropping special tokens', () => {
    expect(vocabulary.text([1, 5, 6, 4, 7, 6, 3, 8, 2])).toBe("AB 'B");
    expect(vocabulary.text([9, 4, 5])).toBe('ÇA A');
  });

  test('trims and collapses spaces, and drops ids it does not know, as Hugging Face does with <unk>', () => {
    expect(vocabulary.text([4, 4, 5, 4, 4, 4, 6, 4, 42])).toBe('A B');
    expect(vocabulary.text([])).toBe('');
  });

  test('another word delimiter', () => {
    expect(
      new CtcVocabulary(
        new Map([
          ['_', 0],
          ['x', 1],
        ]),
        2,
        '_',
      ).text([1, 0, 1]),
    ).toBe('x x');
  });
});
