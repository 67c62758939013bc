import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { pairTranscripts, readTranscriptFile } from '../../src/scoring/transcripts.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

async function file(name: string, content: string): Promise<string> {
  const path = join(await makeTempDir(), name);
  await writeFile(path, content);
  return path;
}

describe('readTranscriptFile', () => {
  test('plain text: one utterance per line, blank lines included, the final newline ends the last line', async () => {
    const path = await file('ref.txt', '\uFEFFthe cat\r\n\r\nsat down\n');
    expect(await readTranscriptFile(path)).toEqual({
      path,
      format: 'lines',
      entries: [
        { id: '1', text: 'the cat', line: 1 },
        { id: '2', text: '', line: 2 },
        { id: '3', text: 'sat down', line: 3 },
      ],
    });
  });

  test('JSON Lines: detected from the first non-blank line; blank lines skipped; numeric ids accepted', async () => {
    const path = await file('ref.jsonl', '\n{"id": "a", "text": "the cat"}\n\n{"id": 7, "text": ""}\n');
    expect(await readTranscriptFile(path)).toMatchObject({
      format: 'jsonl',
      entries: [
        { id: 'a', text: 'the cat', line: 2 },
        { id: '7', text: '', line: 4 },
      ],
    });
  });

  test('bad JSON Lines and unreadable files are errors naming the file and line', async () => {
    const broken = await file('broken.jsonl', '{"id": "a", "text": "x"}\n{"id": "b", "text": \n');
    await expect(readTranscriptFile(broken)).rejects.toThrow(new RegExp(`^${broken} line 2: not valid JSON`));
    const missing = await file('missing.jsonl', '{"id": "a", "text": "x"}\n{"id": "b"}\n');
    await expect(readTranscriptFile(missing)).rejects.toThrow(`${missing} line 2 lacks a string "id" or "text"`);
    const repeated = await file('repeated.jsonl', '{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n');
    await expect(readTranscriptFile(repeated)).rejects.toThrow(`${repeated} line 2 repeats id "a" of line 1`);
    await expect(readTranscriptFile('/nonexistent/ref.txt')).rejects.toThrow(QuantgateError);
  });
});

describe('pairTranscripts', () => {
  test('JSON Lines files pair by id in the reference order', async () => {
    const reference = await readTranscriptFile(
      await file('ref.jsonl', '{"id":"a","text":"A"}\n{"id":"b","text":"B"}\n'),
    );
    const hypothesis = await readTranscriptFile(
      await file('hyp.jsonl', '{"id":"b","text":"hb"}\n{"id":"a","text":"ha"}\n'),
    );
    expect(pairTranscripts(reference, [hypothesis])).toEqual([
      { id: 'a', reference: 'A', hypotheses: ['ha'] },
      { id: 'b', reference: 'B', hypotheses: ['hb'] },
    ]);
  });

  test('otherwise files pair line by line', async () => {
    const reference = await readTranscriptFile(await file('ref.txt', 'A\nB\n'));
    const hypothesis = await readTranscriptFile(
      await file('hyp.jsonl', '{"id":"x","text":"h1"}\n{"id":"y","text":"h2"}\n'),
    );
    const baseline = await readTranscriptFile(await file('base.txt', 'b1\nb2'));
    expect(pairTranscripts(reference, [hypothesis, baseline])).toEqual([
      { id: '1', reference: 'A', hypotheses: ['h1', 'b1'] },
      { id: '2', reference: 'B', hypotheses: ['h2', 'b2'] },
    ]);
  });

  test('mismatches are errors naming the files and the line without a counterpart', async () => {
    const referencePath = await file('ref.txt', 'A\nB\nC\n');
    const hypothesisPath = await file('hyp.txt', 'a\nb\n');
    const reference = await readTranscriptFile(referencePath);
    const hypothesis = await readTranscriptFile(hypothesisPath);
    expect(() => pairTranscripts(reference, [hypothesis])).toThrow(
      `${hypothesisPath} has 2 utterances but ${referencePath} has 3, so ${referencePath} line 3 has no counterpart`,
    );

    const referenceJson = await readTranscriptFile(
      await file('ref.jsonl', '{"id":"a","text":"A"}\n{"id":"b","text":"B"}\n'),
    );
    const lacking = await readTranscriptFile(await file('lacking.jsonl', '{"id":"a","text":"ha"}\n'));
    expect(() => pairTranscripts(referenceJson, [lacking])).toThrow(
      `${lacking.path} has no line with id "b" (${referenceJson.path} line 2)`,
    );
    const extra = await readTranscriptFile(
      await file('extra.jsonl', '{"id":"a","text":"ha"}\n{"id":"b","text":"hb"}\n{"id":"z","text":"hz"}\n'),
    );
    expect(() => pairTranscripts(referenceJson, [extra])).toThrow(
      `${extra.path} line 3 has id "z", which ${referenceJson.path} lacks`,
    );
  });
});
