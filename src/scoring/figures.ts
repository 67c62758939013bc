// How WER figures are written in verdicts, results files, tables and the CLI, so that every place
// prints the same number the same way.

/** A WER as a percentage with two decimals: `5.23%`. */
export function formatPercent(percent: number): string {
  return `${percent.toFixed(2)}%`;
}

/** A difference in percentage points, always signed: `+0.42`, `-1.10`, `+0.00`. */
export function formatPoints(points: number): string {
  const text = Math.abs(points).toFixed(2);
  return points < 0 && text !== '0.00' ? `-${text}` : `+${text}`;
}

/** A 95% interval of point differences: `[-0.10, +0.95]`. */
export function formatInterval(low: number, high: number): string {
  return `[${formatPoints(low)}, ${formatPoints(high)}]`;
}

/** An integer with thousands separators, independent of the locale: `52,576`. */
export function formatInteger(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A count with its noun, singular or plural: `1 utterance`, `2,620 utterances`. */
export function formatQuantity(count: number, singular: string, plural = `${singular}s`): string {
  return `${formatInteger(count)} ${Math.abs(count) === 1 ? singular : plural}`;
}
