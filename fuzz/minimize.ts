// Shrinks a failing input while it still fails the same way (a crash with the same signature, a
// hang, an abort), by deleting ever smaller chunks of it (delta debugging), and writes it to
// `<findings>/<target>/<kind>-<hash>.bin` with a note saying what it does and the line that makes
// it a regression test. Hangs are shrunk under a shorter time bound: an input that takes that long
// still counts as hanging.

import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Finding } from './harness.js';
import { Host } from './host.js';
import { sameFailure } from './outcome.js';

export interface MinimizeOptions {
  seconds: number;
  /** The time bound while shrinking a hang. */
  hangTimeoutMs: number;
}

export async function minimize(
  host: Host,
  finding: Finding,
  input: Uint8Array,
  options: MinimizeOptions,
): Promise<Uint8Array> {
  const deadline = Date.now() + options.seconds * 1000;
  const timeoutMs = finding.kind === 'hang' ? options.hangTimeoutMs : undefined;
  const stillFails = async (candidate: Uint8Array) => sameFailure(await host.check(candidate, timeoutMs), finding);
  // A flaky finding is written as found.
  if (!(await stillFails(input))) return input;
  let current = input;
  let chunk = Math.max(1, Math.ceil(current.length / 2));
  while (Date.now() < deadline) {
    let shrunk = false;
    for (let start = 0; start < current.length && Date.now() < deadline;) {
      const candidate = new Uint8Array(current.length - Math.min(chunk, current.length - start));
      candidate.set(current.subarray(0, start));
      candidate.set(current.subarray(start + chunk), start);
      if (await stillFails(candidate)) {
        current = candidate;
        shrunk = true;
      } else {
        start += chunk;
      }
    }
    if (!shrunk) {
      if (chunk === 1) break;
      chunk = Math.ceil(chunk / 2);
    }
  }
  return current;
}

export interface WrittenFinding {
  path: string;
  bytes: number;
}

/** Writes the reproducer and its note; returns where. */
export async function writeFinding(
  folder: string,
  target: string,
  runSeed: number,
  finding: Finding,
  original: Uint8Array,
  minimized: Uint8Array,
): Promise<WrittenFinding> {
  const hash = createHash('sha256')
    .update(`${finding.kind} ${finding.signature.split(': ')[0]}`)
    .digest('hex')
    .slice(0, 10);
  const dir = join(folder, target);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${finding.kind}-${hash}.bin`);
  await writeFile(path, minimized);
  const note = [
    `target: ${target}`,
    `class: ${finding.kind}`,
    `signature: ${printable(finding.signature)}`,
    `seen on: ${finding.count} input(s); first at index ${finding.index} of seed ${runSeed} (npm run fuzz -- ${target} --seed ${runSeed})`,
    `size: ${original.length} bytes, minimized to ${minimized.length}`,
    '',
    'regression test: copy this file to test/fuzz/reproducers/ under a name that says what it does, and add',
    `  ['${target}', '<that name>.bin', '<what it did>'],`,
    'to FIXED in test/fuzz/reproducers.test.ts (or to PENDING, with the failure it shows, until it is fixed)',
    '',
    'detail:',
    printable(finding.detail),
    '',
  ].join('\n');
  await writeFile(path.replace(/\.bin$/, '.txt'), note);
  return { path, bytes: minimized.length };
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e\n…]/g, '?');
}
