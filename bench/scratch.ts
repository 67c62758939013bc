// Scratch folders for benchmarks that time writes: in /dev/shm where it exists, so that the figures
// measure quantgate's code rather than the disk, whose write-back from one run lands on the next.

import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder named `<prefix>XXXXXX`; the caller removes it. */
export function inMemoryScratchDir(prefix: string): Promise<string> {
  return mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix));
}
