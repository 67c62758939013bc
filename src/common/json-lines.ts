// JSON Lines text, one JSON value per line, as transcript files and dataset manifests hold it:
// blank lines are skipped, each value keeps its line number for later messages, and a line that
// is not JSON is a one-line error naming the file and the line.

import { QuantgateError, describeError } from './errors.js';

export interface JsonLine {
  /** Counted from 1. */
  line: number;
  value: unknown;
}

/** `fix` ends the error for a line that is not JSON, e.g. "fix that line". */
export function parseJsonLines(text: string, path: string, fix: string): JsonLine[] {
  const values: JsonLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.trim() === '') return;
    try {
      values.push({ line: index + 1, value: JSON.parse(raw) });
    } catch (error) {
      throw new QuantgateError(`${path} line ${index + 1}: not valid JSON (${describeError(error)}); ${fix}`, {
        cause: error,
      });
    }
  });
  return values;
}
