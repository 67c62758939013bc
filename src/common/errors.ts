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

/**
 * The text of any thrown value, for wrapping lower-level errors into a QuantgateError. A value that
 * is not an error is shown as JSON, never as "undefined" or "[object Object]".
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  if (typeof error === 'string') return error;
  if (error === undefined || error === null) return 'an error without a description';
  if (typeof error === 'object' && !hasOwnToString(error)) {
    let json: string | undefined;
    try {
      json = JSON.stringify(error);
    } catch {
      json = undefined;
    }
    if (json === undefined || json === '{}') return 'an error without a description';
    return json.length > 200 ? `${json.slice(0, 200)}…` : json;
  }
  return String(error);
}

/** A value read from a JSON document, as a message shows it: its JSON text, or "missing" where it is absent. */
export function jsonText(value: unknown): string {
  return value === undefined ? 'missing' : (JSON.stringify(value) ?? String(value));
}

/** Whether `value` prints as something other than "[object Object]" (an error from another realm does). */
function hasOwnToString(value: object): boolean {
  return Object.prototype.toString !== (value as { toString?: unknown }).toString;
}

/**
 * What debug output (QUANTGATE_DEBUG=1, or the runner's debug logging) adds to the one line: a bug's
 * stack, or the errors a QuantgateError wraps, with the libraries' own text that the line puts in
 * quantgate's words. Undefined when there is nothing more to show.
 */
export function debugDetail(error: unknown): string | undefined {
  if (!isQuantgateError(error)) return error instanceof Error ? error.stack : undefined;
  const causes: string[] = [];
  // Bounded, since a cause chain could loop.
  for (
    let cause = error.cause;
    cause !== undefined && causes.length < 10;
    cause = cause instanceof Error ? cause.cause : undefined
  ) {
    causes.push(`caused by ${cause instanceof Error ? (cause.stack ?? describeError(cause)) : describeError(cause)}`);
  }
  return causes.length > 0 ? causes.join('\n') : undefined;
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
