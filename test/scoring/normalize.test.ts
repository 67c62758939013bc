import { readFileSync } from 'node:fs';
import { removeBracketedText } from '../../src/scoring/normalize/cleanup.js';
import { createNormalizer, NORMALIZER_NAMES, type NormalizerName } from '../../src/scoring/normalize/index.js';
import { removeSpaceBeforeApostrophes, SPACE } from '../../src/scoring/normalize/python-text.js';
import { SeededRandom } from '../../src/scoring/random.js';
import { fixture } from '../helpers/paths.js';

type Case = { input: string } & Record<string, string>;

function readCases(name: string): Case[] {
  return readFileSync(fixture('normalizer', name), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Case);
}

/** Every case whose output differs from Python's, with both outputs, so a failure shows each one. */
function mismatches(cases: Case[], normalizer: NormalizerName, field: string) {
  const normalize = createNormalizer(normalizer);
  return cases
    .map((testCase) => ({ input: testCase.input, expected: testCase[field], actual: normalize(testCase.input) }))
    .filter(({ expected, actual }) => actual !== expected);
}

describe('whisper normalizer', () => {
  test("reproduces Whisper's EnglishTextNormalizer on all 700 golden cases", () => {
    const cases = readCases('whisper-english.jsonl');
    expect(cases).toHaveLength(700);
    expect(mismatches(cases, 'whisper', 'english')).toEqual([]);
  });

  test('follows Python on Unicode text, big numbers and the quirks Whisper keeps', () => {
    const cases = readCases('unicode-and-quirks.jsonl');
    expect(cases.length).toBeGreaterThan(40);
    expect(mismatches(cases, 'whisper', 'english')).toEqual([]);
  });
});

describe('basic normalizer', () => {
  test("reproduces Whisper's BasicTextNormalizer on the 700 golden inputs", () => {
    const cases = readCases('whisper-basic.jsonl');
    expect(cases).toHaveLength(700);
    expect(mismatches(cases, 'basic', 'basic')).toEqual([]);
  });

  test('follows Python on Unicode text', () => {
    expect(mismatches(readCases('unicode-and-quirks.jsonl'), 'basic', 'basic')).toEqual([]);
  });
});

describe('none normalizer', () => {
  const normalize = createNormalizer('none');

  test('keeps case, punctuation and spelling, and only collapses and trims whitespace', () => {
    expect(normalize("  Mr. Smith's\tCOLOUR,\n twenty-five $ ")).toBe("Mr. Smith's COLOUR, twenty-five $");
  });

  test("splits on Python's whitespace: U+0085 and U+001C separate words, U+FEFF does not", () => {
    expect(normalize('a\u0085b\u001cc\u2028d\u3000e\ufefff')).toBe('a b c d e\ufefff');
    expect(normalize(' \t\n ')).toBe('');
  });
});

describe('createNormalizer', () => {
  test('offers whisper, basic and none', () => {
    expect([...NORMALIZER_NAMES]).toEqual(['whisper', 'basic', 'none']);
  });

  test('returns one reusable function per normalizer', () => {
    for (const name of NORMALIZER_NAMES) expect(createNormalizer(name)).toBe(createNormalizer(name));
    const normalize = createNormalizer('whisper');
    expect(normalize('Twenty five per cent')).toBe('25%');
    expect(normalize('Twenty five per cent')).toBe('25%');
  });
});

describe('the scans that replace backtracking expressions', () => {
  // The expressions Whisper writes, run here on short strings only: on long runs of openers or of
  // whitespace they take quadratic time, which is why the normalizers scan instead.
  const bracketed = (text: string) => text.replace(/[<[][^>\]]*[>\]]/gu, '').replace(/\([^)]+?\)/gu, '');
  const spaceBeforeApostrophe = (text: string) => text.replace(new RegExp(`${SPACE}+'`, 'gu'), "'");

  test('give what the expressions give, on 20,000 random strings of openers, closers, apostrophes and spaces', () => {
    const random = new SeededRandom(12);
    const alphabet = ['<', '[', '>', ']', '(', ')', "'", ' ', '\t', '\u3000', 'a'];
    for (let n = 0; n < 20_000; n++) {
      const text = Array.from({ length: random.nextBelow(24) }, () => alphabet[random.nextBelow(alphabet.length)]).join(
        '',
      );
      expect(removeBracketedText(text)).toBe(bracketed(text));
      expect(removeSpaceBeforeApostrophes(text)).toBe(spaceBeforeApostrophe(text));
    }
  });
});
