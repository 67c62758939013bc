// Runs before every test file (jest's setupFilesAfterEnv): every error a test looks at must have a
// message without internals (test/helpers/messages.ts). `expect` is wrapped so that it sees
//   - any error passed to it: `expect(error)…`, as quantgateRejection and try/catch tests do;
//   - the error a function throws under `toThrow`;
//   - the rejection of a promise under `rejects`.
// The matcher runs as usual, and the test then fails on the bad message even when the matcher
// passed (as `toThrow()` with no argument does for any error).

import { badErrorMessage } from '../helpers/messages.js';

type Expect = typeof expect;
const globals = globalThis as unknown as { expect: Expect };
const jestExpect = globals.expect;

function wrapThrowing(fn: (...args: unknown[]) => unknown, found: Error[]) {
  return function (this: unknown, ...args: unknown[]) {
    try {
      return fn.apply(this, args);
    } catch (error) {
      const bad = badErrorMessage(error);
      if (bad) found.push(bad);
      throw error;
    }
  };
}

/** Runs a matcher, then raises the first bad message found while it ran (after a promise settles). */
function afterMatcher(run: () => unknown, found: Error[]): unknown {
  const result = run();
  if (result instanceof Promise) {
    return result.then((value) => {
      if (found.length > 0) throw found[0];
      return value;
    });
  }
  if (found.length > 0) throw found[0];
  return result;
}

function matchersOf(actual: unknown, matchers: object): object {
  return new Proxy(matchers, {
    get(target, property, receiver) {
      if (property === 'toThrow' && typeof actual === 'function') {
        return (...expected: unknown[]) => {
          const found: Error[] = [];
          const wrapped = wrapThrowing(actual as (...args: unknown[]) => unknown, found);
          return afterMatcher(
            () => jestExpect(wrapped).toThrow(...(expected as Parameters<ReturnType<Expect>['toThrow']>)),
            found,
          );
        };
      }
      if (property === 'rejects' && actual !== null && typeof (actual as { then?: unknown })?.then === 'function') {
        const found: Error[] = [];
        const watched = Promise.resolve(actual as Promise<unknown>).catch((error: unknown) => {
          const bad = badErrorMessage(error);
          if (bad) found.push(bad);
          throw error;
        });
        const rejects = jestExpect(watched).rejects as unknown as Record<string | symbol, unknown>;
        return new Proxy(rejects, {
          get(rejectTarget, matcher) {
            const run = rejectTarget[matcher];
            if (typeof run !== 'function') return run;
            return (...expected: unknown[]) =>
              afterMatcher(() => (run as (...a: unknown[]) => unknown)(...expected), found);
          },
        });
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

globals.expect = new Proxy(jestExpect, {
  apply(target, thisArg, args: unknown[]) {
    const [actual] = args;
    const bad = badErrorMessage(actual);
    if (bad) throw bad;
    return matchersOf(actual, Reflect.apply(target, thisArg, args) as object);
  },
}) as Expect;
