// The text normalizers WER scoring can apply to references and hypotheses before splitting them
// into words: `whisper` is Whisper's EnglishTextNormalizer (the published-WER convention), `basic`
// Whisper's BasicTextNormalizer, and `none` leaves the text as it is apart from its whitespace: runs
// of whitespace become one space and the ends are trimmed, so it yields exactly the input's words.

import { normalizeBasic } from './basic.js';
import { splitWords } from './python-text.js';
import { normalizeWhisperEnglish } from './whisper-english.js';

/** Words of a text as jiwer and Python's `str.split()` see them (Unicode whitespace, no empty words). */
export { splitWords };

export const NORMALIZER_NAMES = ['whisper', 'basic', 'none'] as const;
export type NormalizerName = (typeof NORMALIZER_NAMES)[number];
export type Normalizer = (text: string) => string;

const NORMALIZERS: Record<NormalizerName, Normalizer> = {
  whisper: normalizeWhisperEnglish,
  basic: normalizeBasic,
  none: (text) => splitWords(text).join(' '),
};

export function createNormalizer(name: NormalizerName): Normalizer {
  return NORMALIZERS[name];
}
