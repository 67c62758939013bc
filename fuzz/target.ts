// What a fuzz target is: a named parser of outside bytes, its seed inputs (made by the tests' own
// fixture builders), the family of structure-aware mutations that suits them, and the one call
// that parses an input the way quantgate does. Adapters under targets/ are kept tiny, so they can
// be re-pointed when the parsing code moves.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isQuantgateError } from '../src/common/errors.js';
import type { Structure } from './mutators.js';

export interface FuzzTarget {
  readonly name: string;
  /** What it parses, through which public function. */
  readonly summary: string;
  readonly structure: Structure;
  /** Seed inputs; built once per run, deterministically. */
  seeds(): Promise<Uint8Array[]>;
  /** Parses one input; returns when quantgate accepts it, throws when it refuses it. */
  parse(input: Uint8Array, scratch: Scratch): Promise<void>;
}

/**
 * A private folder for the files a parser reads. Synchronous file calls: they cost a fraction of
 * a round trip through libuv's thread pool, which dominates the time of small inputs.
 */
export class Scratch {
  constructor(readonly dir: string) {}

  /** A fresh empty folder for this input. */
  async folder(): Promise<string> {
    const dir = join(this.dir, 'folder');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Writes `bytes` as `name` (the same name overwrites the last input's file); returns its path. */
  async file(name: string, bytes: Uint8Array): Promise<string> {
    const dir = join(this.dir, 'files');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  }
}

/**
 * Runs every parse in `calls`, so that one parser's clean refusal does not hide another's crash:
 * the first error that is not a clean refusal is thrown, else the first clean refusal, else none.
 */
export async function parseAll(calls: readonly (() => Promise<unknown>)[]): Promise<void> {
  let refusal: unknown;
  for (const call of calls) {
    try {
      await call();
    } catch (error) {
      if (!isCleanError(error)) throw error;
      refusal ??= error;
    }
  }
  if (refusal !== undefined) throw refusal;
}

const LEAKED_INTERNALS = ['undefined', 'NaN', '[object Object]'];

/** The problem with a refusal's message, or undefined when it is the one clean line quantgate promises. */
export function messageProblem(message: string): string | undefined {
  if (/[\r\n\u2028\u2029]/.test(message)) return 'spans several lines';
  if (message.trim() === '') return 'is empty';
  const leaked = LEAKED_INTERNALS.find((word) => message.includes(word));
  return leaked === undefined ? undefined : `shows "${leaked}"`;
}

/** A QuantgateError with a clean one-line message. */
export function isCleanError(error: unknown): boolean {
  return isQuantgateError(error) && messageProblem(error.message) === undefined;
}
