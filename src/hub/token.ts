// The Hugging Face access token: where it is found, and keeping it out of everything quantgate
// prints. It is only ever held in memory and sent to the Hub itself; errors that pass through the
// download code have it replaced before they reach a log.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../common/errors.js';
import { hfHome } from './cache-layout.js';

const REDACTED = '***';

/**
 * The token to send, in huggingface_hub's order: the explicit option, `HF_TOKEN`, the legacy
 * `HUGGING_FACE_HUB_TOKEN`, then the file `huggingface-cli login` writes (`$HF_TOKEN_PATH`, else
 * `<HF_HOME>/token`). Undefined when none is set: public repos need none.
 */
export async function findToken(explicit: string | undefined, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const fromSettings = [explicit, env.HF_TOKEN, env.HUGGING_FACE_HUB_TOKEN].map((value) => value?.trim()).find(Boolean);
  if (fromSettings) return fromSettings;
  const file = env.HF_TOKEN_PATH || join(hfHome(env), 'token');
  const fromFile = await readFile(file, 'utf8').catch(() => undefined);
  return fromFile?.trim() || undefined;
}

/** `text` with every occurrence of `secret` replaced. */
export function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join(REDACTED) : text;
}

/**
 * The same failure with `secret` removed from its message and stack. A QuantgateError is rebuilt
 * without its cause, whose text may quote a server response that echoed the token.
 */
export function redactError(error: unknown, secret: string | undefined): unknown {
  if (!secret) return error;
  if (error instanceof QuantgateError) return new QuantgateError(redact(error.message, secret));
  if (error instanceof Error) {
    error.message = redact(error.message, secret);
    if (error.stack) error.stack = redact(error.stack, secret);
    return error;
  }
  return redact(String(error), secret);
}
