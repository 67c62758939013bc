// Python's Unicode text semantics, for the ports of Whisper's normalizers. Whisper writes its rules
// as Python `re` patterns on `str`, where `\w`, `\d`, `\s` and `\b` follow the Unicode database and
// `str.split()` splits on Unicode whitespace; JavaScript's shorthands are ASCII-only (and its `\s` is
// a different set), so the ports build their patterns from these pieces, with the `u` flag.

/** Python's `\w`: a letter or number of any script (`str.isalnum`), or `_`. */
const WORD_CHAR = '[\\p{L}\\p{N}_]';

/** Python's `\b` where the next character is a word character. */
export const WORD_START = `(?<!${WORD_CHAR})`;

/** Python's `\b` where the previous character is a word character. */
export const WORD_END = `(?!${WORD_CHAR})`;

/** Python's `\s` and `str.split()` separators (JavaScript's `\s` also has U+FEFF but lacks U+001C–U+001F and U+0085). */
export const SPACE = '[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';

const SPACE_RUN = new RegExp(`${SPACE}+`, 'u');
const SPACE_RUNS = new RegExp(`${SPACE}+`, 'gu');

/** Python's `str.split()`: the runs of non-whitespace, with no empty words. */
export function splitWords(text: string): string[] {
  return text.split(SPACE_RUN).filter((word) => word !== '');
}

const ONE_SPACE = new RegExp(`^${SPACE}$`, 'u');

/**
 * Python's `re.sub(r"\s+'", "'", text)`: the whitespace before each apostrophe removed. Written as a
 * scan, since the regular expression backtracks over every run of whitespace not followed by an
 * apostrophe, which takes quadratic time (13 s for a 120,000-character line of spaces).
 */
export function removeSpaceBeforeApostrophes(text: string): string {
  if (!text.includes("'")) return text;
  const pieces = text.split("'");
  for (let i = 0; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    let end = piece.length;
    while (end > 0 && ONE_SPACE.test(piece[end - 1]!)) end--;
    pieces[i] = piece.slice(0, end);
  }
  return pieces.join("'");
}

/** Python's `re.sub(r"\s+", " ", text)`: each run of whitespace becomes one space; the ends are not trimmed. */
export function collapseSpaces(text: string): string {
  return text.replace(SPACE_RUNS, ' ');
}

const NON_ASCII_DIGIT = /(?![0-9])\p{Nd}/gu;
const DECIMAL_DIGIT = /^\p{Nd}$/u;

/**
 * Every decimal digit (`\d`, of any script) replaced by its ASCII digit, as Python's `int()` reads them.
 * Unicode encodes each script's digits as one contiguous run from zero to nine, so a digit's value is
 * its distance from the start of its run, modulo ten (some runs of ten follow one another).
 */
export function toAsciiDigits(text: string): string {
  return text.replace(NON_ASCII_DIGIT, (digit) => {
    const codePoint = digit.codePointAt(0)!;
    let runStart = codePoint;
    while (DECIMAL_DIGIT.test(String.fromCodePoint(runStart - 1))) runStart--;
    return String((codePoint - runStart) % 10);
  });
}
