// The character-level cleanup Whisper's normalizers share (openai/whisper @ c0d2f624,
// whisper/normalizers/basic.py): dropping bracketed annotations, and turning marks, symbols and
// punctuation into spaces, with or without stripping diacritics.

const BRACKETED = /[<[][^>\]]*[>\]]/gu;
const PARENTHESIZED = /\([^)]+?\)/gu;

/** Removes `[laughter]`, `<unk>` and `(inaudible)`-style annotations (on lower-cased text, as Whisper does). */
export function removeBracketedText(text: string): string {
  return text.replace(BRACKETED, '').replace(PARENTHESIZED, '');
}

const MARK_SYMBOL_OR_PUNCTUATION = /[\p{M}\p{S}\p{P}]/gu;

/** Each mark, symbol and punctuation character of the NFKC form becomes a space; letters keep their accents. */
export function removeSymbols(text: string): string {
  return text.normalize('NFKC').replace(MARK_SYMBOL_OR_PUNCTUATION, ' ');
}

/** Letters that NFKD does not split into a base letter and a combining mark. */
const UNSPLIT_LETTERS = new Map<string, string>([
  ['œ', 'oe'],
  ['Œ', 'OE'],
  ['ø', 'o'],
  ['Ø', 'O'],
  ['æ', 'ae'],
  ['Æ', 'AE'],
  ['ß', 'ss'],
  ['ẞ', 'SS'],
  ['đ', 'd'],
  ['Đ', 'D'],
  ['ð', 'd'],
  ['Ð', 'D'],
  ['þ', 'th'],
  ['Þ', 'th'],
  ['ł', 'l'],
  ['Ł', 'L'],
]);
const DIACRITIC_OR_SYMBOL = new RegExp(`[\\p{M}\\p{S}\\p{P}${[...UNSPLIT_LETTERS.keys()].join('')}]`, 'gu');
const NONSPACING_MARK = /^\p{Mn}$/u;

/**
 * The NFKD form with diacritics dropped (nonspacing marks removed, the unsplit letters spelled in
 * ASCII) and every other mark, symbol and punctuation character turned into a space, except those
 * in `keep`.
 */
export function removeSymbolsAndDiacritics(text: string, keep: ReadonlySet<string>): string {
  return text.normalize('NFKD').replace(DIACRITIC_OR_SYMBOL, (char) => {
    if (keep.has(char)) return char;
    return UNSPLIT_LETTERS.get(char) ?? (NONSPACING_MARK.test(char) ? '' : ' ');
  });
}
