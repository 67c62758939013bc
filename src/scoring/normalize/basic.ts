// Whisper's BasicTextNormalizer (openai/whisper @ c0d2f624, whisper/normalizers/basic.py) with its
// defaults, for languages the English rules do not fit: lower-case, annotations dropped, marks,
// symbols and punctuation turned into spaces (accents kept), runs of whitespace made one space.
// Like Whisper's, its output may begin or end with a space.

import { removeBracketedText, removeSymbols } from './cleanup.js';
import { collapseSpaces } from './python-text.js';

export function normalizeBasic(text: string): string {
  return collapseSpaces(removeSymbols(removeBracketedText(text.toLowerCase())).toLowerCase());
}
