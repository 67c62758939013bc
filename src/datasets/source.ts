// What each dataset reader provides to the datasets stage: its size, known up front and cheaply,
// and its records in a fixed order, whose audio and transcript are loaded one at a time.

import { readFile } from 'node:fs/promises';
import { QuantgateError, describeError } from '../common/errors.js';

export type DatasetKind = 'parquet' | 'librispeech' | 'manifest';

export interface SourceRecord {
  id: string;
  /** The transcript and encoded audio; a QuantgateError here fails this utterance only. */
  load(): Promise<{ text: string; audio: Uint8Array }>;
}

export interface DatasetSource {
  readonly kind: DatasetKind;
  /** The repository, folder or file, for reports. */
  readonly name: string;
  readonly split?: string;
  readonly revision?: string;
  /** How many utterances the dataset holds. */
  readonly size: number;
  /** Records `start` (inclusive) to `end` (exclusive), in the dataset's order. */
  records(start: number, end: number): AsyncIterable<SourceRecord>;
  close(): Promise<void>;
}

/** An utterance whose audio is a file on disk; a missing or unreadable file fails that utterance. */
export function audioFileRecord(id: string, text: string, audioPath: string): SourceRecord {
  return {
    id,
    async load() {
      try {
        return { text, audio: new Uint8Array(await readFile(audioPath)) };
      } catch (error) {
        throw new QuantgateError(
          `cannot read its audio file ${audioPath} (${describeError(error)}); restore the file or remove the utterance`,
          { cause: error },
        );
      }
    },
  };
}

/** A source whose records are all listed up front (folders and manifests). */
export function listedSource(
  fields: Pick<DatasetSource, 'kind' | 'name' | 'split'>,
  records: SourceRecord[],
): DatasetSource {
  return {
    ...fields,
    size: records.length,
    async *records(start, end) {
      yield* records.slice(start, end);
    },
    close: async () => undefined,
  };
}
