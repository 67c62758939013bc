// Parquet files shaped like openslr/librispeech_asr (file, audio{bytes, path}, text, speaker_id,
// chapter_id, id), written with hyparquet-writer for the parquet reader's tests.

import { writeFile } from 'node:fs/promises';
import { parquetWriteBuffer } from 'hyparquet-writer';

export interface LibriSpeechRow {
  id: string;
  text: string | null;
  /** Encoded audio; null leaves `audio.bytes` empty, as in datasets that only reference files. */
  audio: Uint8Array | null;
}

export async function writeLibriSpeechParquet(
  path: string,
  rows: LibriSpeechRow[],
  rowGroupSize: number,
): Promise<void> {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'file', data: rows.map((row) => `${row.id}.flac`) },
      { name: 'audio', data: rows.map((row) => ({ bytes: row.audio, path: `${row.id}.flac` })) },
      { name: 'text', data: rows.map((row) => row.text) },
      { name: 'speaker_id', data: rows.map((row) => BigInt(row.id.split('-')[0]!)) },
      { name: 'chapter_id', data: rows.map((row) => BigInt(row.id.split('-')[1]!)) },
      { name: 'id', data: rows.map((row) => row.id) },
    ],
    schema: [
      { name: 'schema', num_children: 6 },
      { name: 'file', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'audio', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'speaker_id', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'chapter_id', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ],
    rowGroupSize,
  });
  await writeFile(path, new Uint8Array(buffer));
}
