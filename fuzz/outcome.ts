// How one parse ended, in the four classes the fuzzer counts: accepted (returned), a clean refusal
// (a QuantgateError with one clean line), a crash (anything else thrown, or a refusal whose message
// shows internals), and, decided by the parent process, a hang or an abort (the process died: a
// V8 fatal error, out of memory, or past the memory bound).

import { isQuantgateError } from '../src/common/errors.js';
import { messageProblem } from './target.js';

export type OutcomeKind = 'accepted' | 'clean' | 'crash' | 'hang' | 'abort';

export interface Outcome {
  kind: OutcomeKind;
  /** What makes two crashes the same bug: the error's class and message with numbers and paths blurred. */
  signature: string;
  /** The full message and the top of the stack, for the report. */
  detail: string;
}

export function classify(error: unknown, scratchDir: string): Outcome {
  if (isQuantgateError(error)) {
    const problem = messageProblem(error.message);
    if (problem === undefined) return { kind: 'clean', signature: '', detail: '' };
    return {
      kind: 'crash',
      signature: `QuantgateError whose message ${problem}, thrown ${thrownAt(error)}: ${blur(error.message, scratchDir)}`,
      detail: describe(error),
    };
  }
  const name = error instanceof Error ? error.constructor.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return {
    kind: 'crash',
    signature: `${name} thrown ${thrownAt(error)}: ${blur(message, scratchDir)}`,
    detail: describe(error),
  };
}

/** Whether two outcomes are the same failure: the same class, and for crashes the same error thrown at the same place. */
export function sameFailure(a: Outcome, b: Outcome): boolean {
  return a.kind === b.kind && (a.kind !== 'crash' || a.signature.split(': ')[0] === b.signature.split(': ')[0]);
}

/** The first frame of the stack inside quantgate or a library, e.g. "at src/hub/hub-api.js:95". */
function thrownAt(error: unknown): string {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const frame = /(?:\/|\()((?:src|node_modules)\/[^\s():]+):(\d+)/.exec(
    stack.split('\n').find((line) => /\/(src|node_modules)\//.test(line) && !line.includes('/common/errors.')) ?? '',
  );
  return frame ? `at ${frame[1]}:${frame[2]}` : 'elsewhere';
}

/**
 * The message's first line with what came from the input blurred: the scratch folder, and every
 * word that is not plain text (names, numbers, quoted bytes) becomes "…", so one bug met on many
 * inputs keeps one signature.
 */
export function blur(message: string, scratchDir: string): string {
  const line =
    scratchDir === '' ? message.split('\n')[0]! : message.split('\n')[0]!.split(scratchDir).join('<scratch>');
  return line
    .split(' ')
    .map((word) => (/^[A-Za-z()'",;:<>/-]*$/.test(word) ? word : '…'))
    .join(' ')
    .replace(/…( …)+/g, '…')
    .slice(0, 160);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return (error.stack ?? `${error.name}: ${error.message}`).split('\n').slice(0, 12).join('\n');
}
