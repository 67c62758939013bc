// Whisper's EnglishTextNormalizer (openai/whisper @ c0d2f624, whisper/normalizers/english.py) in
// TypeScript: the normalizer behind published English WERs (Open ASR Leaderboard, Kyutai's own
// evaluation). It lower-cases, drops annotations and hesitations, expands contractions and titles,
// removes diacritics and every symbol but those of numbers, and standardizes numbers and spellings.
// It reproduces the Python output exactly, quirks included, so its rules run in Whisper's order.

import { removeBracketedText, removeSymbolsAndDiacritics } from './cleanup.js';
import { standardizeNumbers } from './english-numbers.js';
import { WORD_END, WORD_START, collapseSpaces, removeSpaceBeforeApostrophes } from './python-text.js';
import { americanizeSpellings } from './spelling.js';

const HESITATIONS = new RegExp(`${WORD_START}(?:hmm|mm|mhm|mmm|uh|um)${WORD_END}`, 'gu');

/** Whole words replaced wherever they stand alone. */
const WORDS: [string, string][] = [
  // contractions
  ["won't", 'will not'],
  ["can't", 'can not'],
  ["let's", 'let us'],
  ["ain't", 'aint'],
  ["y'all", 'you all'],
  ['wanna', 'want to'],
  ['gotta', 'got to'],
  ['gonna', 'going to'],
  ["i'ma", 'i am going to'],
  ['imma', 'i am going to'],
  ['woulda', 'would have'],
  ['coulda', 'could have'],
  ['shoulda', 'should have'],
  ["ma'am", 'madam'],
  // titles, whose trailing space Whisper keeps
  ['mr', 'mister '],
  ['mrs', 'missus '],
  ['st', 'saint '],
  ['dr', 'doctor '],
  ['prof', 'professor '],
  ['capt', 'captain '],
  ['gov', 'governor '],
  ['ald', 'alderman '],
  ['gen', 'general '],
  ['sen', 'senator '],
  ['rep', 'representative '],
  ['pres', 'president '],
  ['rev', 'reverend '],
  ['hon', 'honorable '],
  ['asst', 'assistant '],
  ['assoc', 'associate '],
  ['lt', 'lieutenant '],
  ['col', 'colonel '],
  ['jr', 'junior '],
  ['sr', 'senior '],
  ['esq', 'esquire '],
];

/** Endings replaced wherever they end a word: perfect tenses ("'s done" is ambiguous), then the general contractions. */
const ENDINGS: [string, string][] = [
  ["'d been", ' had been'],
  ["'s been", ' has been'],
  ["'d gone", ' had gone'],
  ["'s gone", ' has gone'],
  ["'d done", ' had done'],
  ["'s got", ' has got'],
  ["n't", ' not'],
  ["'re", ' are'],
  ["'s", ' is'],
  ["'d", ' would'],
  ["'ll", ' will'],
  ["'t", ' not'],
  ["'ve", ' have'],
  ["'m", ' am'],
];

/**
 * The word and ending replacements, applied one after another in Whisper's order (it matters). Each
 * keeps its literal text: most sentences hold none of them, and a substring check is far cheaper
 * than the Unicode word-boundary regex.
 */
const EXPANSIONS: readonly { literal: string; pattern: RegExp; expansion: string }[] = [
  ...WORDS.map(([word, expansion]) => ({
    literal: word,
    pattern: new RegExp(`${WORD_START}${word}${WORD_END}`, 'gu'),
    expansion,
  })),
  ...ENDINGS.map(([ending, expansion]) => ({
    literal: ending,
    pattern: new RegExp(`${ending}${WORD_END}`, 'gu'),
    expansion,
  })),
];

const THOUSANDS_COMMA = /(\p{Nd}),(\p{Nd})/gu;
const PERIOD_NOT_BEFORE_DIGIT = /\.([^0-9]|$)/gu;
const NUMBER_SYMBOLS: ReadonlySet<string> = new Set('.%$¢€£');
const PREFIX_SYMBOL_NOT_BEFORE_DIGIT = /[.$¢€£]([^0-9])/gu;
const PERCENT_NOT_AFTER_DIGIT = /([^0-9])%/gu;

export function normalizeWhisperEnglish(text: string): string {
  let result = removeSpaceBeforeApostrophes(removeBracketedText(text.toLowerCase()).replace(HESITATIONS, ''));
  for (const { literal, pattern, expansion } of EXPANSIONS) {
    if (result.includes(literal)) result = result.replace(pattern, expansion);
  }
  result = result.replace(THOUSANDS_COMMA, '$1$2').replace(PERIOD_NOT_BEFORE_DIGIT, ' $1');
  result = americanizeSpellings(standardizeNumbers(removeSymbolsAndDiacritics(result, NUMBER_SYMBOLS)));
  return collapseSpaces(result.replace(PREFIX_SYMBOL_NOT_BEFORE_DIGIT, ' $1').replace(PERCENT_NOT_AFTER_DIGIT, '$1 '));
}
