// Typed readers over named option values, shared by the CLI (parsed flags) and the action (inputs),
// which use the same names. Each bad value becomes a one-line QuantgateError that names the option
// the way its shell spells it (`--threshold` or `input "threshold"`) and what it accepts.

import { QuantgateError } from './errors.js';

export type RawOptionValue = string | boolean | (string | boolean)[] | undefined;

export interface OptionValues {
  raw(name: string): RawOptionValue;
  /** How messages name the option. */
  label(name: string): string;
}

export function optionValues(
  record: Readonly<Record<string, RawOptionValue>>,
  label: (name: string) => string = (name) => `--${name}`,
): OptionValues {
  return { raw: (name) => record[name], label };
}

/** The text of an option; an empty string counts as not given (an action input left blank). */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values.raw(name);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function requiredString(values: OptionValues, name: string): string {
  const value = stringOption(values, name);
  if (value === undefined) throw new QuantgateError(`${values.label(name)} is required; see --help`);
  return value;
}

/** Comma- or newline-separated items, from one value or a repeated option. */
export function listOption(values: OptionValues, name: string): string[] {
  const value = values.raw(name);
  const items = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return items
    .flatMap((item) => String(item).split(/[,\n]/))
    .map((item) => item.trim())
    .filter(Boolean);
}

export function numberOption(
  values: OptionValues,
  name: string,
  range: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const kind = range.integer ? 'an integer' : 'a number';
  const bounds = [range.min !== undefined ? `≥ ${range.min}` : '', range.max !== undefined ? `≤ ${range.max}` : '']
    .filter(Boolean)
    .join(' and ');
  const outOfRange = (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max);
  if (raw.trim() === '' || !Number.isFinite(value) || (range.integer && !Number.isInteger(value)) || outOfRange) {
    throw new QuantgateError(`${values.label(name)} must be ${kind}${bounds ? ` ${bounds}` : ''}, got "${raw}"`);
  }
  return value;
}

export function choiceOption<T extends string>(
  values: OptionValues,
  name: string,
  choices: readonly T[],
): T | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new QuantgateError(`${values.label(name)} must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** A switch: a CLI flag, or an action input `true`/`false` (YAML 1.2 core schema spellings). */
export function flagOption(values: OptionValues, name: string): boolean | undefined {
  const value = values.raw(name);
  if (typeof value === 'boolean') return value;
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string' && /^(true|True|TRUE)$/.test(value)) return true;
  if (typeof value === 'string' && /^(false|False|FALSE)$/.test(value)) return false;
  throw new QuantgateError(`${values.label(name)} must be true or false, got "${String(value)}"`);
}

/** One item per line, from one value or a repeated option; unlike `listOption`, commas stay inside items. */
export function lineListOption(values: OptionValues, name: string): string[] {
  const value = values.raw(name);
  const items = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return items
    .flatMap((item) => String(item).split(/\r?\n/))
    .map((item) => item.trim())
    .filter(Boolean);
}
