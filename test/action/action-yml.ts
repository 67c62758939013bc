// Reads the inputs (with their defaults) and outputs that action.yml declares. action.yml keeps to
// a plain layout — two-space keys under `inputs:` and `outputs:`, `default:` four spaces in — which
// this reader relies on instead of parsing YAML in general. It refuses the plain (unquoted) values
// YAML cannot parse, a `: ` or ` #` inside, which would break the action for every workflow.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

export interface ActionYml {
  inputs: Map<string, { default?: string }>;
  outputs: string[];
  runs: { using?: string; main?: string };
}

export async function readActionYml(): Promise<ActionYml> {
  const lines = (await readFile(join(repoRoot, 'action.yml'), 'utf8')).split('\n');
  const inputs = new Map<string, { default?: string }>();
  const outputs: string[] = [];
  const runs: ActionYml['runs'] = {};
  let section = '';
  let current: string | undefined;
  for (const [index, line] of lines.entries()) {
    const plain = /^ +[a-z-]+: ([^'"].*)$/.exec(line)?.[1];
    if (plain !== undefined && /: | #/.test(plain))
      throw new Error(`action.yml line ${index + 1}: quote the value, YAML cannot read "${plain}" unquoted`);
    const top = /^([a-z]+):/.exec(line);
    if (top) {
      section = top[1]!;
      continue;
    }
    const key = /^ {2}([a-z][a-z0-9-]*):\s*(.*)$/.exec(line);
    if (key) {
      current = key[1]!;
      if (section === 'inputs') inputs.set(current, {});
      if (section === 'outputs') outputs.push(current);
      if (section === 'runs') runs[current as keyof ActionYml['runs']] = key[2]!;
      continue;
    }
    const fallback = /^ {4}default:\s*(.*)$/.exec(line);
    if (fallback && section === 'inputs' && current)
      inputs.get(current)!.default = fallback[1]!.replace(/^'(.*)'$/, '$1');
  }
  return { inputs, outputs, runs };
}
