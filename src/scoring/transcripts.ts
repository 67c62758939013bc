// Transcript files for `quantgate wer`: either one utterance per line, or JSON Lines with an `id`
// and a `text` per line. The format is detected per file: a file whose first non-blank line starts
// with `{` is JSON Lines. Files pair up by id when all of them are JSON Lines, otherwise by position
// (line number); every mismatch is an error naming the file and line.

import { readFile } from 'node:fs/promises';
import { QuantgateError, describeError } from '../common/errors.js';
import { parseJsonLines } from '../common/json-lines.js';

export interface TranscriptEntry {
  id: string;
  text: string;
  /** 1-based line in the file. */
  line: number;
}

export interface TranscriptFile {
  path: string;
  format: 'lines' | 'jsonl';
  entries: TranscriptEntry[];
}

/** One utterance: the reference transcript and the text each hypothesis file gives for it. */
export interface PairedTranscript {
  id: string;
  reference: string;
  hypotheses: string[];
}

export async function readTranscriptFile(path: string): Promise<TranscriptFile> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    throw new QuantgateError(`cannot read ${path} (${describeError(error)}); check the path`, { cause: error });
  }
  const text = content.replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const firstText = lines.find((line) => line.trim() !== '');
  if (firstText?.trimStart().startsWith('{')) return { path, format: 'jsonl', entries: jsonLinesEntries(text, path) };
  return {
    path,
    format: 'lines',
    entries: lines.map((line, index) => ({ id: String(index + 1), text: line, line: index + 1 })),
  };
}

function jsonLinesEntries(text: string, path: string): TranscriptEntry[] {
  const lineOfId = new Map<string, number>();
  return parseJsonLines(text, path, 'write one {"id": …, "text": …} object per line').map(({ line, value }) => {
    const where = `${path} line ${line}`;
    const record = value as { id?: unknown; text?: unknown } | null;
    const id = typeof record?.id === 'number' ? String(record.id) : record?.id;
    if (typeof id !== 'string' || typeof record?.text !== 'string') {
      throw new QuantgateError(
        `${where} lacks a string "id" or "text"; write one {"id": …, "text": …} object per line`,
      );
    }
    const earlier = lineOfId.get(id);
    if (earlier !== undefined)
      throw new QuantgateError(`${where} repeats id "${id}" of line ${earlier}; give each utterance one line`);
    lineOfId.set(id, line);
    return { id, text: record.text, line };
  });
}

/** Pairs each reference entry with one entry of every hypothesis file, in the reference's order. */
export function pairTranscripts(reference: TranscriptFile, hypotheses: readonly TranscriptFile[]): PairedTranscript[] {
  const byId = reference.format === 'jsonl' && hypotheses.every((file) => file.format === 'jsonl');
  const columns = hypotheses.map((file) => (byId ? alignById(reference, file) : alignByPosition(reference, file)));
  return reference.entries.map((entry, index) => ({
    id: entry.id,
    reference: entry.text,
    hypotheses: columns.map((texts) => texts[index]!),
  }));
}

function alignById(reference: TranscriptFile, hypothesis: TranscriptFile): string[] {
  const texts = new Map(hypothesis.entries.map((entry) => [entry.id, entry.text]));
  const referenceIds = new Set(reference.entries.map((entry) => entry.id));
  const extra = hypothesis.entries.find((entry) => !referenceIds.has(entry.id));
  if (extra) {
    throw new QuantgateError(
      `${hypothesis.path} line ${extra.line} has id "${extra.id}", which ${reference.path} lacks; hypotheses must use the reference ids`,
    );
  }
  return reference.entries.map((entry) => {
    const text = texts.get(entry.id);
    if (text === undefined) {
      throw new QuantgateError(
        `${hypothesis.path} has no line with id "${entry.id}" (${reference.path} line ${entry.line}); every reference id needs a hypothesis`,
      );
    }
    return text;
  });
}

function alignByPosition(reference: TranscriptFile, hypothesis: TranscriptFile): string[] {
  const [want, have] = [reference.entries.length, hypothesis.entries.length];
  if (want !== have) {
    const [longer, shorter] = want > have ? [reference, hypothesis] : [hypothesis, reference];
    const unmatched = longer.entries[shorter.entries.length]!;
    throw new QuantgateError(
      `${hypothesis.path} has ${have} utterances but ${reference.path} has ${want}, so ${longer.path} line ${unmatched.line} has no counterpart; without ids on every line (JSON Lines), files pair line by line and need the same count`,
    );
  }
  return hypothesis.entries.map((entry) => entry.text);
}
