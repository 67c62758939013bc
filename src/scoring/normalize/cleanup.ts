// The character-level cleanup Whisper's normalizers share (openai/whisper @ c0d2f624,
// whisper/normalizers/basic.py): dropping bracketed annotations, and turning marks, symbols and
// punctuation into spaces, with or without stripping diacritics.

/**
 * Removes `[laughter]`, `<unk>` and `(inaudible)`-style annotations (on lower-cased text, as Whisper
 * does): Python's `re.sub(r"[<\[][^>\]]*[>\]]", "", s)`, then `re.sub(r"\(([^)]+?)\)", "", s)`.
 */
export function removeBracketedText(text: string): string {
  return removeDelimited(removeDelimited(text, '<[', '>]', 0), '(', ')', 1);
}

/**
 * Each span from an opener to the first closer after it, with at least `minInner` characters
 * between, removed leftmost first, as the regular expressions above match. Written as a scan: the
 * expressions retry from every opener that has no closer after it, which takes quadratic time on
 * a long run of openers.
 */
function removeDelimited(text: string, openers: string, closers: string, minInner: number): string {
  let kept = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    if (!openers.includes(text[i]!)) continue;
    let close = i + 1;
    while (close < text.length && !closers.includes(text[close]!)) close++;
    // No closer after this opener: none after any later opener either.
    if (close === text.length) break;
    if (close - i - 1 < minInner) continue;
    kept += text.slice(from, i);
    from = close + 1;
    i = close;
  }
  return kept + text.slice(from);
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
