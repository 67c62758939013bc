// Typed readers for parsed option values; each bad value becomes a one-line QuantgateError that
// names the option and what it accepts.

import { QuantgateError } from '../common/errors.js';
import type { ParsedValues } from './command.js';

export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredString(values: ParsedValues, name: string): string {
  const value = stringOption(values, name);
  if (value === undefined || value === '') throw new QuantgateError(`--${name} is required; see --help`);
  return value;
}

export function listOption(values: ParsedValues, name: string): string[] {
  const value = values[name];
  const items = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return items.flatMap((item) => String(item).split(',')).map((item) => item.trim()).filter(Boolean);
}

export function numberOption(values: ParsedValues, name: string, range: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const kind = range.integer ? 'an integer' : 'a number';
  const bounds = [range.min !== undefined ? `≥ ${range.min}` : '', range.max !== undefined ? `≤ ${range.max}` : ''].filter(Boolean).join(' and ');
  if (raw.trim() === '' || !Number.isFinite(value) || (range.integer && !Number.isInteger(value)) || (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
    throw new QuantgateError(`--${name} must be ${kind}${bounds ? ` ${bounds}` : ''}, got "${raw}"`);
  }
  return value;
}

export function choiceOption<T extends string>(values: ParsedValues, name: string, choices: readonly T[]): T | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new QuantgateError(`--${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}
