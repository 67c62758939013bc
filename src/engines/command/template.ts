// Command templates of the command engine: shell text with placeholders such as {manifest}. The
// text runs through /bin/sh, so pipes and redirections work; each placeholder becomes its value
// in single quotes, so a path holding spaces, quotes or `$` reaches the command as one word.
// That quoting only holds outside quotes, so a placeholder written inside quotes is refused.

import { QuantgateError } from '../../common/errors.js';

export const PLACEHOLDERS = ['manifest', 'output', 'model_dir', 'gguf', 'device'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export interface CommandTemplate {
  /** Literal shell text and placeholders, in order. */
  readonly parts: readonly (string | { placeholder: Placeholder })[];
  readonly uses: ReadonlySet<Placeholder>;
}

const KNOWN = new Set<string>(PLACEHOLDERS);
const KNOWN_LIST = PLACEHOLDERS.map((name) => `{${name}}`).join(', ');
const PLACEHOLDER_AT = /\{([A-Za-z_][A-Za-z0-9_]*)\}/y;

/**
 * Splits `text` into shell text and placeholders. `label` names the template in errors. Braces
 * inside quotes are left alone unless they spell a known placeholder (a jq or awk program may
 * hold `{text}`); unquoted, every `{name}` must be a known placeholder.
 */
export function parseCommandTemplate(text: string, label: string): CommandTemplate {
  if (!text.trim())
    throw new QuantgateError(
      `${label} is empty; give the shell command that transcribes the manifest {manifest} into {output}`,
    );
  const parts: (string | { placeholder: Placeholder })[] = [];
  const uses = new Set<Placeholder>();
  let quote: "'" | '"' | undefined;
  let literalStart = 0;

  for (let at = 0; at < text.length;) {
    const char = text[at]!;
    if (char === '\\' && quote !== "'") {
      at += 2; // the escaped character is literal
    } else if (char === "'" || char === '"') {
      if (quote === undefined) quote = char;
      else if (quote === char) quote = undefined;
      at++;
    } else if (char === '$' && text[at + 1] === '{' && quote !== "'") {
      const end = text.indexOf('}', at);
      at = end < 0 ? text.length : end + 1; // ${parameter} expansion, not a placeholder
    } else if (char === '{') {
      PLACEHOLDER_AT.lastIndex = at;
      const name = PLACEHOLDER_AT.exec(text)?.[1];
      if (name === undefined || (quote !== undefined && !KNOWN.has(name))) {
        at++;
        continue;
      }
      if (!KNOWN.has(name))
        throw new QuantgateError(
          `${label}: unknown placeholder {${name}}; the placeholders are ${KNOWN_LIST} — fix the name, or quote the braces ('{${name}}') if they are meant literally`,
        );
      if (quote !== undefined) {
        throw new QuantgateError(
          `${label}: {${name}} is inside ${quote} quotes; quantgate quotes each placeholder's value itself, so write it bare (e.g. --in {${name}}, not --in "{${name}}")`,
        );
      }
      if (at > literalStart) parts.push(text.slice(literalStart, at));
      parts.push({ placeholder: name as Placeholder });
      uses.add(name as Placeholder);
      at += name.length + 2;
      literalStart = at;
    } else {
      at++;
    }
  }
  if (quote !== undefined) throw new QuantgateError(`${label} has an unterminated ${quote} quote; close it`);
  if (literalStart < text.length) parts.push(text.slice(literalStart));
  return { parts, uses };
}

/** The shell text with every placeholder replaced by its single-quoted value. */
export function renderCommand(template: CommandTemplate, values: Record<Placeholder, string>): string {
  return template.parts
    .map((part) => (typeof part === 'string' ? part : shellQuote(values[part.placeholder])))
    .join('');
}

/** `value` as one shell word: single quotes keep everything literal, and `'` itself becomes '\''. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
