// Whisper's EnglishNumberNormalizer (openai/whisper @ c0d2f624, whisper/normalizers/english.py) in
// TypeScript: spelled-out numbers become digits ("twenty one" → "21", "one oh one" → "101", "two and
// a half" → "2.5"), a currency word after a number becomes its symbol ("five dollars" → "$5"),
// "percent" becomes "%", and ordinals and plurals keep their ending ("twentieth" → "20th", "sixties"
// → "60s"). Whisper's quirks are kept on purpose ("one point five percent" → "one.5%", "ninth" is no
// ordinal, "0 point 5" → ".5"), because published WERs are computed with them. Integers are BigInts:
// the multipliers reach 10^33.

import { SPACE, WORD_END, WORD_START, splitWords, toAsciiDigits } from './python-text.js';

type NumberWord =
  | { kind: 'zero' }
  | { kind: 'one' | 'ten' | 'multiplier'; value: bigint }
  | { kind: 'one-suffixed' | 'ten-suffixed' | 'multiplier-suffixed'; value: bigint; suffix: string }
  /** "minus five" → "-5": the symbol goes before the number that follows. */
  | { kind: 'sign'; symbol: string }
  /** "five dollars" → "$5": the symbol goes before the number that precedes. */
  | { kind: 'currency'; symbol: string }
  /** "five percent", "five per cent" → "5%"; `before` is the word that must follow for the symbol to apply. */
  | { kind: 'percent'; symbol: string; before?: string }
  | { kind: 'and' | 'point' }
  | { kind: 'repeat'; times: number };

type Kind = NumberWord['kind'];

const ONES = [
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
/** Each one a thousand times the one before it, from a thousand on. */
const MULTIPLIERS = [
  'hundred',
  'thousand',
  'million',
  'billion',
  'trillion',
  'quadrillion',
  'quintillion',
  'sextillion',
  'septillion',
  'octillion',
  'nonillion',
  'decillion',
];

/** The 139 words the reader treats as part of a number; no word is in two categories. */
const VOCABULARY: ReadonlyMap<string, NumberWord> = (() => {
  const words = new Map<string, NumberWord>();
  const add = (name: string, word: NumberWord) => words.set(name, word);
  for (const name of ['o', 'oh', 'zero']) add(name, { kind: 'zero' });
  ONES.forEach((name, index) => add(name, { kind: 'one', value: BigInt(index + 1) }));
  ONES.forEach((name, index) =>
    add(name === 'six' ? 'sixes' : `${name}s`, { kind: 'one-suffixed', value: BigInt(index + 1), suffix: 's' }),
  );
  const irregularOrdinals: [string, number, string][] = [
    ['zeroth', 0, 'th'],
    ['first', 1, 'st'],
    ['second', 2, 'nd'],
    ['third', 3, 'rd'],
    ['fifth', 5, 'th'],
    ['twelfth', 12, 'th'],
  ];
  for (const [name, value, suffix] of irregularOrdinals)
    add(name, { kind: 'one-suffixed', value: BigInt(value), suffix });
  ONES.forEach((name, index) => {
    const value = index + 1;
    // Whisper's rule makes "eighth" but "nineth": "ninth" stays a plain word.
    if (value > 3 && value !== 5 && value !== 12)
      add(`${name}${name.endsWith('t') ? 'h' : 'th'}`, { kind: 'one-suffixed', value: BigInt(value), suffix: 'th' });
  });
  TENS.forEach((name, index) => add(name, { kind: 'ten', value: BigInt(20 + 10 * index) }));
  TENS.forEach((name, index) =>
    add(name.replaceAll('y', 'ies'), { kind: 'ten-suffixed', value: BigInt(20 + 10 * index), suffix: 's' }),
  );
  TENS.forEach((name, index) =>
    add(name.replaceAll('y', 'ieth'), { kind: 'ten-suffixed', value: BigInt(20 + 10 * index), suffix: 'th' }),
  );
  const multiplierValue = (index: number) => (index === 0 ? 100n : 1000n ** BigInt(index));
  MULTIPLIERS.forEach((name, index) => add(name, { kind: 'multiplier', value: multiplierValue(index) }));
  MULTIPLIERS.forEach((name, index) =>
    add(`${name}s`, { kind: 'multiplier-suffixed', value: multiplierValue(index), suffix: 's' }),
  );
  MULTIPLIERS.forEach((name, index) =>
    add(`${name}th`, { kind: 'multiplier-suffixed', value: multiplierValue(index), suffix: 'th' }),
  );
  for (const [name, symbol] of [
    ['minus', '-'],
    ['negative', '-'],
    ['plus', '+'],
    ['positive', '+'],
  ] as const)
    add(name, { kind: 'sign', symbol });
  const currencies = [
    ['pound', '£'],
    ['pounds', '£'],
    ['euro', '€'],
    ['euros', '€'],
    ['dollar', '$'],
    ['dollars', '$'],
    ['cent', '¢'],
    ['cents', '¢'],
  ] as const;
  for (const [name, symbol] of currencies) add(name, { kind: 'currency', symbol });
  add('per', { kind: 'percent', symbol: '%', before: 'cent' });
  add('percent', { kind: 'percent', symbol: '%' });
  add('and', { kind: 'and' });
  add('double', { kind: 'repeat', times: 2 });
  add('triple', { kind: 'repeat', times: 3 });
  add('point', { kind: 'point' });
  return words;
})();

/** Symbols that may stand before the digits of a numeral ("$5", "-3"). */
const PREFIX_SYMBOLS = new Set(['-', '+', '£', '€', '$', '¢']);
const NUMERAL = /^\p{Nd}+(?:\.\p{Nd}+)?$/u;
const DECIMAL_STRING = /^(?=\.?\p{Nd})(\p{Nd}*)(?:\.(\p{Nd}*))?$/u;

function kindOf(word: string | undefined): Kind | undefined {
  return word === undefined ? undefined : VOCABULARY.get(word)?.kind;
}

function isDigitWord(word: string | undefined): boolean {
  const kind = kindOf(word);
  return kind === 'zero' || kind === 'one' || kind === 'ten';
}

/** Python's `Fraction(text)` for the digit strings the reader builds ("1.5", "3.", ".5", "007"); null where it raises ("1.2.3"). */
function parseFraction(text: string): { numerator: bigint; denominator: bigint } | null {
  const match = DECIMAL_STRING.exec(text);
  if (match === null) return null;
  const whole = toAsciiDigits(match[1]!);
  const decimals = toAsciiDigits(match[2] ?? '');
  return { numerator: BigInt(whole + decimals), denominator: 10n ** BigInt(decimals.length) };
}

/**
 * The pending value times a multiplier: "two thousand five hundred" multiplies only the last three
 * digits (2005 → 2500), "1.5 million" the exact fraction; null when a digit string has no integer
 * product ("1.2.3", "0.001 hundred").
 */
function multiply(value: bigint | string, multiplier: bigint): bigint | null {
  if (typeof value === 'bigint') return (value / 1000n) * 1000n + (value % 1000n) * multiplier;
  const fraction = parseFraction(value);
  if (fraction === null) return null;
  const product = fraction.numerator * multiplier;
  return product % fraction.denominator === 0n ? product / fraction.denominator : null;
}

/** Reads one sentence's words left to right, gathering number words into a pending value and writing each finished token. */
class NumberReader {
  private readonly tokens: string[] = [];
  /** The number being read: an integer while arithmetic applies, digit text once digits are spelled one by one ("one oh one"). */
  private value: bigint | string | null = null;
  /** A sign or currency symbol for the next token written. */
  private prefix = '';

  read(words: readonly string[]): string[] {
    for (let index = 0; index < words.length; index++) {
      const consumedNext = this.readWord(words[index - 1], words[index]!, words[index + 1]);
      if (consumedNext) index++;
    }
    this.flush();
    return this.tokens;
  }

  private write(token: bigint | string): void {
    this.tokens.push(`${this.prefix}${token}`);
    this.value = null;
    this.prefix = '';
  }

  private flush(): void {
    if (this.value !== null) this.write(this.value);
  }

  /** The pending value as digit text to extend; Whisper's `value or ""` makes an integer 0 empty too. */
  private pendingDigits(): string {
    return this.value === null || this.value === 0n ? '' : String(this.value);
  }

  /** Reads `current`; true when it also used up `next` ("per cent", "double five"). */
  private readWord(previous: string | undefined, current: string, next: string | undefined): boolean {
    const symbol = PREFIX_SYMBOLS.has(current[0]!) ? current[0]! : '';
    const numeral = current.slice(symbol.length);
    if (NUMERAL.test(numeral)) {
      this.readNumeral(current, numeral, symbol);
      return false;
    }
    const word = VOCABULARY.get(current);
    if (word === undefined) {
      this.flush();
      this.write(current);
      return false;
    }
    const nextCanBeNumeric = next !== undefined && (VOCABULARY.has(next) || NUMERAL.test(next));
    switch (word.kind) {
      case 'zero':
        this.value = `${this.pendingDigits()}0`;
        return false;
      case 'one':
        this.value = this.withOnes(previous, word.value);
        return false;
      case 'one-suffixed':
        this.write(`${this.withOnes(previous, word.value)}${word.suffix}`);
        return false;
      case 'ten':
        this.value = this.withTens(word.value);
        return false;
      case 'ten-suffixed':
        this.write(`${this.withTens(word.value)}${word.suffix}`);
        return false;
      case 'multiplier':
        this.readMultiplier(word.value, '');
        return false;
      case 'multiplier-suffixed':
        this.readMultiplier(word.value, word.suffix);
        return false;
      case 'sign':
        this.flush();
        if (nextCanBeNumeric) this.prefix = word.symbol;
        else this.write(current);
        return false;
      case 'currency':
        if (this.value === null) this.write(current);
        else {
          this.prefix = word.symbol;
          this.write(this.value);
        }
        return false;
      case 'percent':
        return this.readPercent(current, next, word.symbol, word.before);
    }
    if (!nextCanBeNumeric) {
      this.flush();
      this.write(current);
      return false;
    }
    switch (word.kind) {
      case 'and':
        // "and" after a multiplier ("one hundred and five") is part of the number and dropped
        if (kindOf(previous) !== 'multiplier') {
          this.flush();
          this.write(current);
        }
        return false;
      case 'repeat': {
        const repeated = VOCABULARY.get(next!);
        if (repeated?.kind === 'one' || repeated?.kind === 'zero') {
          const digit = repeated.kind === 'one' ? repeated.value : 0n;
          this.value = this.pendingDigits() + String(digit).repeat(word.times);
          return true;
        }
        this.flush();
        this.write(current);
        return false;
      }
      case 'point':
        // before a number word that is no digit ("point million") the word is dropped
        if (isDigitWord(next) || NUMERAL.test(next!)) this.value = `${this.pendingDigits()}.`;
        return false;
    }
  }

  /** Digits, perhaps after a sign or currency symbol, perhaps with decimals. */
  private readNumeral(current: string, numeral: string, symbol: string): void {
    if (this.value !== null) {
      if (typeof this.value === 'string' && this.value.endsWith('.')) {
        // decimals after "point", or the parts of an IP address
        this.value += current;
        return;
      }
      this.write(this.value);
    }
    if (symbol !== '') this.prefix = symbol;
    const [whole, decimals = ''] = toAsciiDigits(numeral).split('.');
    this.value = /^0*$/.test(decimals) ? BigInt(whole!) : numeral;
  }

  /** The pending value with a number from one to nineteen added: 20 + 5 → 25, 100 + 12 → 112, but "one two" → "12". */
  private withOnes(previous: string | undefined, ones: bigint): bigint | string {
    const value = this.value;
    if (value === null) return ones;
    if (typeof value === 'string' || kindOf(previous) === 'one') {
      // digit text ending in spelled tens ("oh twenty five"): the ones replace the tens' zero → "025"
      if (typeof value === 'string' && kindOf(previous) === 'ten' && ones < 10n) return `${value.slice(0, -1)}${ones}`;
      return `${value}${ones}`;
    }
    const place = ones < 10n ? 10n : 100n;
    return value % place === 0n ? value + ones : `${value}${ones}`;
  }

  /** The pending value with a multiple of ten added: 100 + 20 → 120, but "nineteen twenty" → "1920". */
  private withTens(tens: bigint): bigint | string {
    const value = this.value;
    if (value === null) return tens;
    if (typeof value === 'bigint' && value % 100n === 0n) return value + tens;
    return `${value}${tens}`;
  }

  private readMultiplier(multiplier: bigint, suffix: string): void {
    const value = this.value;
    const product = value === null ? multiplier : multiply(value, multiplier);
    if (product === null) {
      this.write(value!);
      this.value = multiplier;
    } else this.value = product;
    if (suffix !== '') this.write(`${this.value}${suffix}`);
  }

  private readPercent(current: string, next: string | undefined, symbol: string, before: string | undefined): boolean {
    if (this.value === null) {
      this.write(current);
      return false;
    }
    if (before === undefined || next === before) {
      this.write(`${this.value}${symbol}`);
      return before !== undefined;
    }
    this.write(this.value);
    this.write(current);
    return false;
  }
}

const AND_A_HALF = new RegExp(`${WORD_START}and${SPACE}+a${SPACE}+half${WORD_END}`, 'u');
const LETTER_THEN_DIGIT = /([a-z])([0-9])/g;
const DIGIT_THEN_LETTER = /([0-9])([a-z])/g;
const SPACED_SUFFIX = new RegExp(`([0-9])${SPACE}+(st|nd|rd|th|s)${WORD_END}`, 'gu');

/** "two and a half" → "two point five"; digits and letters apart ("10am" → "10 am"), but suffixes kept on ("1960 s" → "1960s"). */
function prepare(text: string): string {
  const segments = text.split(AND_A_HALF);
  const parts: string[] = [];
  segments.forEach((segment, index) => {
    const words = splitWords(segment);
    if (words.length === 0) return;
    parts.push(segment);
    if (index === segments.length - 1) return;
    const lastWord = words.at(-1);
    parts.push(isDigitWord(lastWord) || kindOf(lastWord) === 'multiplier' ? 'point five' : 'and a half');
  });
  return parts
    .join(' ')
    .replace(LETTER_THEN_DIGIT, '$1 $2')
    .replace(DIGIT_THEN_LETTER, '$1 $2')
    .replace(SPACED_SUFFIX, '$1$2');
}

const AMOUNT_AND_CENTS = new RegExp(`([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})${WORD_END}`, 'gu');
const ZERO_AMOUNT_CENTS = new RegExp(`[€£$]0[^\\n]([0-9]{1,2})${WORD_END}`, 'gu');
const LONE_ONE = new RegExp(`${WORD_START}1(s?)${WORD_END}`, 'gu');

/** "$2 and ¢7" → "$2.07", "$0.07" → "¢7", and a lone "1" or "1s" spelled "one"/"ones". */
function finish(text: string): string {
  return text
    .replace(
      AMOUNT_AND_CENTS,
      (_match, currency: string, amount: string, cents: string) => `${currency}${amount}.${cents.padStart(2, '0')}`,
    )
    .replace(ZERO_AMOUNT_CENTS, (_match, cents: string) => `¢${Number(cents)}`)
    .replace(LONE_ONE, 'one$1');
}

/** Whisper's number standardization of lower-cased text whose symbols other than `.%$¢€£` are already spaces. */
export function standardizeNumbers(text: string): string {
  return finish(new NumberReader().read(splitWords(prepare(text))).join(' '));
}
