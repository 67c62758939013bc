// The license of the model a quantized output was made from, as its own model card declares it in
// its YAML front matter, so the published card can carry it over. The card is read from the local
// model folder, or from the Hub at the recorded commit. A source without a card, or with no license
// in it, has none to copy: that is not an error, and neither is a Hub that cannot be reached.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Manifest } from '../formats/gguf/manifest.js';
import { proxiedFetch } from '../net/fetch.js';

export interface SourceCardAccess {
  hubUrl: string;
  token?: string;
  env?: NodeJS.ProcessEnv;
  /** Leave the Hub alone (a dry run): only a local model folder's card is read. */
  offline?: boolean;
}

/** The `license` of the source model's card, or undefined when there is none to read. */
export async function sourceLicense(source: Manifest['source'], access: SourceCardAccess): Promise<string | undefined> {
  const card = source.path
    ? await readFile(join(source.path, 'README.md'), 'utf8').catch(() => undefined)
    : source.repoId && !access.offline
      ? await hubCard(source.repoId, source.revision ?? 'main', access)
      : undefined;
  return card === undefined ? undefined : licenseOf(card);
}

/** The front matter's license, when the card opens with a YAML block that names one. */
export function licenseOf(card: string): string | undefined {
  const block = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(card)?.[1];
  if (block === undefined) return undefined;
  try {
    const matter: unknown = parse(block);
    const license = (matter as { license?: unknown } | null)?.license;
    return typeof license === 'string' && license.trim() !== '' ? license.trim() : undefined;
  } catch {
    // A card whose front matter YAML cannot parse has no license we can trust.
    return undefined;
  }
}

async function hubCard(repoId: string, revision: string, access: SourceCardAccess): Promise<string | undefined> {
  const url = `${access.hubUrl.replace(/\/+$/, '')}/${repoId}/resolve/${encodeURIComponent(revision)}/README.md`;
  try {
    const response = await proxiedFetch(
      url,
      { headers: access.token ? { authorization: `Bearer ${access.token}` } : {} },
      access.env,
    );
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}
