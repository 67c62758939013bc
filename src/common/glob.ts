// Shell-style patterns for tensor names and repo file paths, with the semantics of Python's
// fnmatch, which huggingface_hub uses for allow/ignore patterns: `*` matches any run of characters
// (including `/` and `.`), `?` one character, `[abc]`/`[a-z]` a set, `[!abc]` its complement.
// Matching is case-sensitive and anchored at both ends.

export type GlobMatcher = (text: string) => boolean;

export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else source += char.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** True when `text` matches any of `patterns`; no patterns match nothing. */
export function matchAny(patterns: readonly string[]): GlobMatcher {
  const expressions = patterns.map(globToRegExp);
  return (text) => expressions.some((expression) => expression.test(text));
}
