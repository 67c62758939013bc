// Whisper's EnglishSpellingNormalizer: British spellings become American ("colour" → "color"), word
// by word. The map, english.json, is Whisper's own data (openai/whisper @ c0d2f624,
// whisper/normalizers/english.json; MIT licence, copyright OpenAI), taken from the UK–US spelling
// list at tysto.com; it is imported statically so that a bundled build carries it.

import britishToAmerican from './english.json' with { type: 'json' };
import { splitWords } from './python-text.js';

const AMERICAN_SPELLINGS: ReadonlyMap<string, string> = new Map(Object.entries(britishToAmerican));

/** The words of `text`, each in its American spelling, joined by single spaces. */
export function americanizeSpellings(text: string): string {
  return splitWords(text)
    .map((word) => AMERICAN_SPELLINGS.get(word) ?? word)
    .join(' ');
}
