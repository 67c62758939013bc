// A LibriSpeech split as distributed by OpenSLR: <speaker>/<chapter>/<speaker>-<chapter>.trans.txt
// lists "ID TRANSCRIPT" lines, each beside ID.flac. Transcript files are found at any depth and
// read in path order, lines in file order.

import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { QuantgateError, describeError } from '../common/errors.js';
import { audioFileRecord, listedSource, type DatasetSource, type SourceRecord } from './source.js';

const TRANSCRIPT_SUFFIX = '.trans.txt';

export async function openLibriSpeechFolder(dir: string): Promise<DatasetSource> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (error) {
    throw new QuantgateError(`cannot list the dataset folder ${dir} (${describeError(error)}); check the path`, {
      cause: error,
    });
  }
  const transcripts = entries
    .filter((entry) => entry.endsWith(TRANSCRIPT_SUFFIX))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (transcripts.length === 0) {
    throw new QuantgateError(
      `no *${TRANSCRIPT_SUFFIX} files under ${dir}; point the dataset at a LibriSpeech split folder such as LibriSpeech/test-clean`,
    );
  }
  const records: SourceRecord[] = [];
  for (const transcript of transcripts) {
    const path = join(dir, transcript);
    const lines = (await readFile(path, 'utf8')).split(/\r?\n/);
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      const match = /^(\S+)\s+(.*\S)\s*$/.exec(line);
      if (!match) throw new QuantgateError(`${path} line ${index + 1}: expected "ID TRANSCRIPT"; fix that line`);
      const [, id, text] = match;
      records.push(audioFileRecord(id, text, join(dirname(path), `${id}.flac`)));
    });
  }
  return listedSource({ kind: 'librispeech', name: dir, split: basename(resolve(dir)) }, records);
}
