// A Hugging Face wav2vec2 / HuBERT CTC export as the onnx-ctc engine reads it: model.onnx and
// vocab.json (token → id), preprocessor_config.json (sampling rate, normalization) and the
// optional config.json (blank id, word delimiter, frame geometry). Missing or malformed files are
// one-line errors naming the file and what to export.

import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError, describeError, jsonText } from '../../common/errors.js';
import { CtcVocabulary } from './ctc-decode.js';
import { frameRule, type FrameRule } from './frames.js';

export const MODEL_FILE = 'model.onnx';
const VOCAB_FILE = 'vocab.json';
const PREPROCESSOR_FILE = 'preprocessor_config.json';
const CONFIG_FILE = 'config.json';

export interface CtcModelSettings {
  modelPath: string;
  sampleRate: number;
  normalize: boolean;
  vocabulary: CtcVocabulary;
  frames: FrameRule;
}

/** Hugging Face's defaults when preprocessor_config.json or config.json leave a key out. */
const DEFAULT_SAMPLE_RATE = 16000;
const DEFAULT_NORMALIZE = true;
const DEFAULT_WORD_DELIMITER = '|';
const PAD_TOKENS = ['<pad>', '[PAD]'];
const EXPORT_HINT =
  'the onnx-ctc engine needs a Hugging Face wav2vec2/HuBERT CTC export (model.onnx, vocab.json, preprocessor_config.json, config.json)';

/** What `--engine auto` checks: the two files no other layout has together. */
export async function hasCtcModelFiles(dir: string): Promise<boolean> {
  const found = await Promise.all(
    [MODEL_FILE, VOCAB_FILE].map((file) =>
      access(join(dir, file)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return found.every(Boolean);
}

export async function readCtcModelSettings(dir: string): Promise<CtcModelSettings> {
  const modelPath = join(dir, MODEL_FILE);
  try {
    await access(modelPath);
  } catch {
    throw new QuantgateError(`${dir} has no ${MODEL_FILE}; ${EXPORT_HINT}`);
  }
  const preprocessor = await readJsonObject(dir, PREPROCESSOR_FILE, true);
  const config = (await readJsonObject(dir, CONFIG_FILE, false)) ?? {};
  const sampleRate = preprocessor!.sampling_rate ?? DEFAULT_SAMPLE_RATE;
  if (!Number.isSafeInteger(sampleRate) || (sampleRate as number) <= 0)
    throw badValue(dir, PREPROCESSOR_FILE, 'sampling_rate', sampleRate, 'a positive integer');
  const normalize = preprocessor!.do_normalize ?? DEFAULT_NORMALIZE;
  if (typeof normalize !== 'boolean')
    throw badValue(dir, PREPROCESSOR_FILE, 'do_normalize', normalize, 'true or false');
  return {
    modelPath,
    sampleRate: sampleRate as number,
    normalize,
    vocabulary: await readVocabulary(dir, config),
    frames: frameRule(config, join(dir, CONFIG_FILE)),
  };
}

async function readVocabulary(dir: string, config: Readonly<Record<string, unknown>>): Promise<CtcVocabulary> {
  const vocab = (await readJsonObject(dir, VOCAB_FILE, true))!;
  const tokens = new Map<string, number>();
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) {
      throw new QuantgateError(
        `${join(dir, VOCAB_FILE)}: token ${JSON.stringify(token)} maps to ${JSON.stringify(id)}, not a token id; the engine reads a flat {"token": id} vocabulary (one language), as Wav2Vec2CTCTokenizer saves it`,
      );
    }
    tokens.set(token, id as number);
  }
  const blank = config.pad_token_id ?? PAD_TOKENS.map((token) => tokens.get(token)).find((id) => id !== undefined) ?? 0;
  if (!Number.isSafeInteger(blank) || (blank as number) < 0)
    throw badValue(dir, CONFIG_FILE, 'pad_token_id', blank, 'a token id');
  const delimiter = config.word_delimiter_token ?? DEFAULT_WORD_DELIMITER;
  if (typeof delimiter !== 'string') throw badValue(dir, CONFIG_FILE, 'word_delimiter_token', delimiter, 'a token');
  return new CtcVocabulary(tokens, blank as number, delimiter);
}

async function readJsonObject(
  dir: string,
  file: string,
  required: boolean,
): Promise<Record<string, unknown> | undefined> {
  const path = join(dir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const problem =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${dir} has no ${file}`
        : `cannot read ${path} (${describeError(error)})`;
    throw new QuantgateError(`${problem}; ${EXPORT_HINT}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new QuantgateError(`${path} is not valid JSON (${describeError(error)}); download or export it again`, {
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new QuantgateError(
      `${path} holds ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}, not a JSON object; download or export it again`,
    );
  return value as Record<string, unknown>;
}

function badValue(dir: string, file: string, key: string, value: unknown, expected: string): QuantgateError {
  return new QuantgateError(
    `${join(dir, file)}: ${key} is ${jsonText(value)}, not ${expected}; use the ${file} exported with the model`,
  );
}
