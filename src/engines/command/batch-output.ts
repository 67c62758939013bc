// The file a command writes: JSON lines {"id", "text"} (other fields allowed; `tokens`, when
// present, must be integers). It is read line by line and checked against the manifest: every
// id exactly once and no other. A problem comes back as a cause and a fix, which the engine
// puts in one error line together with the command's stderr.

import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { describeError } from '../../common/errors.js';
import type { Transcript } from '../engine.js';

export type OutputProblem = { ok: false; problem: string; fix: string };
export type OutputCheck = { ok: true; transcripts: Transcript[] } | OutputProblem;

const ONE_LINE_EACH =
  'write exactly one JSON line {"id": ..., "text": ...} per manifest entry, with the id copied unchanged';

/** The transcripts in the order of `ids`, or what is wrong with the file at `path`. */
export async function readBatchOutput(path: string, ids: readonly string[]): Promise<OutputCheck> {
  let handle: FileHandle;
  try {
    handle = await open(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT'
      ? {
          ok: false,
          problem: 'wrote no output file',
          fix: 'write the transcripts as JSON lines to the path given by {output}',
        }
      : unreadable(error);
  }

  const expected = new Set(ids);
  const found = new Map<string, { line: number; transcript: Transcript }>();
  const lines = createInterface({ input: handle.createReadStream({ autoClose: false }), crlfDelay: Infinity });
  try {
    let lineNumber = 0;
    for await (const text of lines) {
      lineNumber++;
      if (!text.trim()) continue;
      const transcript = parseLine(text, lineNumber);
      if ('problem' in transcript) return transcript;
      const earlier = found.get(transcript.id);
      if (earlier)
        return {
          ok: false,
          problem: `output lines ${earlier.line} and ${lineNumber} both have id ${quoted(transcript.id)}`,
          fix: ONE_LINE_EACH,
        };
      if (!expected.has(transcript.id)) {
        return {
          ok: false,
          problem: `output line ${lineNumber} has id ${quoted(transcript.id)}, which is not in the manifest`,
          fix: ONE_LINE_EACH,
        };
      }
      found.set(transcript.id, { line: lineNumber, transcript });
    }
  } catch (error) {
    return unreadable(error);
  } finally {
    lines.close();
    await handle.close();
  }

  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) {
    const shown = missing.slice(0, 3).map(quoted).join(', ');
    return {
      ok: false,
      problem: `wrote no line for ${missing.length} of ${ids.length} utterances (${shown}${missing.length > 3 ? ', …' : ''})`,
      fix: `${ONE_LINE_EACH}, even when the transcript is empty`,
    };
  }
  return { ok: true, transcripts: ids.map((id) => found.get(id)!.transcript) };
}

function unreadable(error: unknown): OutputProblem {
  return {
    ok: false,
    problem: `left an output file that cannot be read (${describeError(error)})`,
    fix: 'write the transcripts as a plain JSON-lines file at the path given by {output}',
  };
}

function parseLine(text: string, lineNumber: number): Transcript | OutputProblem {
  const where = `output line ${lineNumber}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      problem: `${where} is not valid JSON (it starts ${quoted(text)})`,
      fix: 'write one JSON object per line, with no other output in that file',
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      problem: `${where} is not a JSON object`,
      fix: 'write one JSON object {"id": ..., "text": ...} per line',
    };
  }
  const { id, text: transcriptText, tokens } = value as Record<string, unknown>;
  if (typeof id !== 'string') return { ok: false, problem: `${where} has no string "id"`, fix: ONE_LINE_EACH };
  if (typeof transcriptText !== 'string') {
    return {
      ok: false,
      problem: `${where} (id ${quoted(id)}) has no string "text"`,
      fix: 'give every line its transcript as a string "text" ("" when nothing was recognised)',
    };
  }
  if (tokens === undefined) return { id, text: transcriptText };
  if (!Array.isArray(tokens) || !tokens.every(Number.isInteger)) {
    return {
      ok: false,
      problem: `${where} (id ${quoted(id)}) has "tokens" that are not an array of integers`,
      fix: 'write the token ids as integers, or leave "tokens" out',
    };
  }
  return { id, text: transcriptText, tokens: tokens as number[] };
}

/** `text` as a JSON string, shortened to keep messages to one readable line. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
