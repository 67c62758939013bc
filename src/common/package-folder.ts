// quantgate's own folder, found by walking up from a module's location, so that the same code
// finds the files shipped beside it from src/ (tests), lib/ (the CLI) and dist/ (the bundled action).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above the module at `moduleUrl` that holds every one of `paths`; undefined when none does. */
export function folderAbove(moduleUrl: string, paths: readonly string[]): string | undefined {
  for (let dir = dirname(fileURLToPath(moduleUrl)); ; dir = dirname(dir)) {
    if (paths.every((path) => existsSync(join(dir, path)))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
