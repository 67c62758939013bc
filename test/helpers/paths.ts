// Locations tests share: the committed fixtures and fresh temp folders removed after each suite.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const fixturesDir = join(repoRoot, 'test', 'fixtures');

export function fixture(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}

/** A temp folder per call; every folder made is removed by `removeTempDirs` (call it in afterAll). */
const made: string[] = [];
export async function makeTempDir(prefix = 'quantgate-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
