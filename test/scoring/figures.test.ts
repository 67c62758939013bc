import { formatInteger, formatInterval, formatPercent, formatPoints } from '../../src/scoring/figures.js';

describe('figures', () => {
  test('percentages have two decimals', () => {
    expect(formatPercent(5.2345)).toBe('5.23%');
    expect(formatPercent(0)).toBe('0.00%');
  });

  test('point differences are always signed, and a rounded zero is +0.00', () => {
    expect(formatPoints(0.4249)).toBe('+0.42');
    expect(formatPoints(-1.1)).toBe('-1.10');
    expect(formatPoints(-0.001)).toBe('+0.00');
    expect(formatInterval(-0.1, 0.95)).toBe('[-0.10, +0.95]');
  });

  test('integers get thousands separators', () => {
    expect(formatInteger(52576)).toBe('52,576');
    expect(formatInteger(1234567)).toBe('1,234,567');
    expect(formatInteger(999)).toBe('999');
  });
});
