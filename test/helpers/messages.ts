// What a message shown to the user may not contain: internals leaking through a template (`undefined`,
// `NaN`) or an object printed without a format (`[object Object]`). Every error the tests provoke is
// checked against it (see test/setup/clean-messages.ts), as is the CLI's captured stderr.

const LEAKED_INTERNALS = /\bundefined\b|\bNaN\b|\[object Object\]/;

/** Marks the error raised for a bad message, so that expecting it does not count as a bad message itself. */
const VIOLATION = Symbol('bad message');

/** The error to raise when `text` (from `where`) shows internals; undefined when it is clean. */
export function badMessageError(text: string, where: string): Error | undefined {
  const found = LEAKED_INTERNALS.exec(text);
  if (!found) return undefined;
  const error = new Error(
    `${where} contains "${found[0]}", which no message may show; name the cause in words instead: ${JSON.stringify(text)}`,
  );
  Object.defineProperty(error, VIOLATION, { value: true });
  return error;
}

/** Throws when `text` shows internals. */
export function expectCleanMessage(text: string, where: string): void {
  const error = badMessageError(text, where);
  if (error) throw error;
}

/** The bad-message error for a thrown value, if it is an error with such a message (in any realm). */
export function badErrorMessage(thrown: unknown): Error | undefined {
  if (thrown === null || typeof thrown !== 'object' || (thrown as Record<symbol, unknown>)[VIOLATION]) return undefined;
  const { message, name } = thrown as { message?: unknown; name?: unknown };
  if (typeof message !== 'string' || typeof name !== 'string' || !('stack' in thrown)) return undefined;
  return badMessageError(message, `the message of a ${name}`);
}
