// Finds the four files of a Kyutai STT model folder: config.json, the LM weights, Mimi's weights
// and the SentencePiece tokenizer. Names given in config.json (moshi_name, mimi_name,
// tokenizer_name) win, as in moshi's loader; otherwise model.safetensors, the one
// mimi*.safetensors and the one *.model are taken, which is how the Hub repos name them.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError, describeError } from '../../common/errors.js';
import { readConfiguredNames, type ConfiguredNames } from './config.js';

export interface KyutaiFiles {
  lm: string;
  mimi: string;
  tokenizer: string;
}

const DEFAULT_LM = 'model.safetensors';

interface FileRule {
  /** What the file is, in messages. */
  what: string;
  /** The config.json key that may name it. */
  key: string;
  pattern: string;
  matches: (name: string) => boolean;
}

const RULES = {
  lm: { what: 'LM weights', key: 'moshi_name', pattern: DEFAULT_LM, matches: (name: string) => name === DEFAULT_LM },
  mimi: {
    what: 'Mimi weights',
    key: 'mimi_name',
    pattern: 'mimi*.safetensors',
    matches: (name: string) => name.startsWith('mimi') && name.endsWith('.safetensors'),
  },
  tokenizer: {
    what: 'tokenizer',
    key: 'tokenizer_name',
    pattern: '*.model',
    matches: (name: string) => name.endsWith('.model'),
  },
} satisfies Record<keyof KyutaiFiles, FileRule>;

/** The files of the model in `dir`, or what is wrong with the folder. */
export async function findKyutaiFiles(
  dir: string,
  names: ConfiguredNames = {},
): Promise<KyutaiFiles | { problem: string }> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).sort();
  } catch (error) {
    return { problem: `the folder cannot be read (${describeError(error)})` };
  }
  if (!entries.includes('config.json')) return { problem: 'it has no config.json' };
  const found: Partial<KyutaiFiles> = {};
  for (const role of ['lm', 'mimi', 'tokenizer'] as const) {
    const { what, key, pattern, matches } = RULES[role];
    const named = names[role];
    if (named !== undefined) {
      if (!entries.includes(named)) return { problem: `it has no ${named}, which config.json names as ${key}` };
      found[role] = join(dir, named);
      continue;
    }
    const candidates = entries.filter(matches);
    if (candidates.length === 0) return { problem: `it has no ${what} (${pattern})` };
    if (candidates.length > 1)
      return {
        problem: `it has several ${what} files (${candidates.join(', ')}) and config.json names none as ${key}`,
      };
    found[role] = join(dir, candidates[0]!);
  }
  return found as KyutaiFiles;
}

/** Like `findKyutaiFiles`, but a folder with a file missing is a one-line error. */
export async function requireKyutaiFiles(dir: string, names: ConfiguredNames): Promise<KyutaiFiles> {
  const found = await findKyutaiFiles(dir, names);
  if ('problem' in found) {
    throw new QuantgateError(
      `${dir} is not a complete Kyutai STT model folder: ${found.problem}; download the whole model repo (config.json, model.safetensors, the mimi*.safetensors and the tokenizer .model)`,
    );
  }
  return found;
}

const KYUTAI_STT_REPOS = 'kyutai/stt-';

/** Whether the model is a Kyutai STT checkpoint: a `kyutai/stt-*` repository, or a folder holding its files. */
export async function acceptsKyutaiModel(model: { dir: string; repoId?: string }): Promise<boolean> {
  if (model.repoId?.startsWith(KYUTAI_STT_REPOS)) return true;
  return !('problem' in (await findKyutaiFiles(model.dir, await readConfiguredNames(model.dir))));
}
