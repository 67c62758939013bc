// The child process that runs one target's inputs, started by the harness with a bounded heap. It
// parses the inputs of the index ranges it is sent, in order, and reports progress at least every
// `flushMs`: the parent learns which input was running from the last index reported, so a hang
// (no report within the time bound) or a death (a V8 fatal error, out of memory) is pinned on it.

import { inputAt } from './inputs.js';
import { classify, type Outcome } from './outcome.js';
import { Scratch, type FuzzTarget } from './target.js';
import { findTarget } from './targets/index.js';

export type ToChild =
  | { type: 'init'; target: string; seeds: Uint8Array[]; runSeed: number; scratchDir: string }
  | { type: 'run'; start: number; end: number; flushMs: number }
  | { type: 'check'; input: Uint8Array };

export type FromChild =
  | { type: 'ready' }
  | { type: 'progress'; next: number; accepted: number; clean: number; crashes: { index: number; outcome: Outcome }[] }
  | { type: 'checked'; outcome: Outcome };

let target: FuzzTarget;
let seeds: Uint8Array[];
let runSeed: number;
let scratch: Scratch;
/** Set while an input runs: errors that escape the parse's promise are blamed on it. */
let escaped: unknown;
let printed = '';

const send = (message: FromChild) => process.send!(message);

// A parser that prints to the terminal breaks the one-line promise too; the text is caught here.
const capture = (chunk: string | Uint8Array): boolean => {
  if (printed.length < 4096) printed += String(chunk);
  return true;
};
process.stdout.write = capture as typeof process.stdout.write;
process.stderr.write = capture as typeof process.stderr.write;
process.on('uncaughtException', (error) => (escaped ??= error));
process.on('unhandledRejection', (error) => (escaped ??= error));

async function runOne(input: Uint8Array): Promise<Outcome> {
  escaped = undefined;
  printed = '';
  let outcome: Outcome;
  try {
    await target.parse(input, scratch);
    outcome = { kind: 'accepted', signature: '', detail: '' };
  } catch (error) {
    outcome = classify(error, scratch.dir);
  }
  if (escaped !== undefined) {
    const inner = classify(escaped, scratch.dir);
    outcome = { kind: 'crash', signature: `escaped the parse: ${inner.signature}`, detail: inner.detail };
  } else if (printed !== '' && outcome.kind !== 'crash') {
    outcome = {
      kind: 'crash',
      signature: `printed to the terminal: ${printed.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 120)}`,
      detail: printed,
    };
  }
  return outcome;
}

async function run(start: number, end: number, flushMs: number): Promise<void> {
  let accepted = 0;
  let clean = 0;
  let crashes: { index: number; outcome: Outcome }[] = [];
  let lastFlush = Date.now();
  for (let index = start; index < end; index++) {
    const outcome = await runOne(inputAt(seeds, target.structure, runSeed, target.name, index));
    if (outcome.kind === 'accepted') accepted++;
    else if (outcome.kind === 'clean') clean++;
    else crashes.push({ index, outcome });
    const now = Date.now();
    if (now - lastFlush >= flushMs || index === end - 1) {
      send({ type: 'progress', next: index + 1, accepted, clean, crashes });
      accepted = clean = 0;
      crashes = [];
      lastFlush = now;
    }
  }
}

process.on('message', (message: ToChild) => {
  void (async () => {
    if (message.type === 'init') {
      target = findTarget(message.target);
      seeds = message.seeds;
      runSeed = message.runSeed;
      scratch = new Scratch(message.scratchDir);
      send({ type: 'ready' });
    } else if (message.type === 'run') {
      await run(message.start, message.end, message.flushMs);
    } else {
      send({ type: 'checked', outcome: await runOne(message.input) });
    }
  })();
});
