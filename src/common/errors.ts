// The one error class for problems the user can fix (bad input, bad arguments, network faults,
// a failing engine). Its message is a single line naming the cause and the fix; the CLI and the
// action print it without a stack and exit with code 2. Any other error is a bug.

export class QuantgateError extends Error {
  override readonly name = 'QuantgateError';

  constructor(message: string, options?: { cause?: unknown }) {
    // A lone \r (or U+2028) echoed from the input would break the line on a terminal just as \n does.
    super(message.replace(/\s*[\n\r\u2028\u2029]\s*/g, ' '), options);
  }
}

export function isQuantgateError(error: unknown): error is QuantgateError {
  return error instanceof QuantgateError;
}

/** The text of any thrown value, for wrapping lower-level errors into a QuantgateError. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * The one line a failed command shows: a QuantgateError's message as it is; any other error is a
 * bug, shown by its first line with `stackHint` telling how to get its stack for a report.
 */
export function failureLine(error: unknown, stackHint: string): string {
  if (isQuantgateError(error)) return error.message;
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return `unexpected error: ${message} (a bug in quantgate; ${stackHint})`;
}
