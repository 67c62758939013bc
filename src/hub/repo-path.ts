// Repo file paths and revision names come from the Hub (or from whoever controls a repo) and are
// joined onto local folders, so each one is checked before it touches the file system: only plain
// relative POSIX paths that stay inside the folder they are joined onto are accepted.

import { isAbsolute, relative, resolve, sep } from 'node:path';
import { QuantgateError } from '../common/errors.js';

export type UntrustedPathKind = 'repo file' | 'revision';

const FIX: Record<UntrustedPathKind, string> = {
  'repo file': 'ask the repo owner to rename it, or leave it out with --exclude',
  revision: 'pass a branch, tag or 40-hex commit sha',
};

/** `root` joined with the untrusted relative `path`; throws a QuantgateError naming the path unless it stays inside `root`. */
export function joinInside(root: string, path: string, kind: UntrustedPathKind): string {
  const problem = pathProblem(path);
  if (problem)
    throw new QuantgateError(`${kind} "${path}" is unsafe (${problem}); quantgate refuses to write it — ${FIX[kind]}`);
  const joined = resolve(root, ...path.split('/'));
  const inside = relative(resolve(root), joined);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new QuantgateError(
      `${kind} "${path}" resolves outside ${root}; quantgate refuses to write it — ${FIX[kind]}`,
    );
  }
  return joined;
}

function pathProblem(path: string): string | undefined {
  if (path === '') return 'empty';
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'absolute';
  if (/^[A-Za-z]:/.test(path)) return 'starts with a drive letter';
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
  }
  return undefined;
}
