// A results entry as the Actions cache may hand it back, its checksums resealed: a variant's
// results.json (readVariantRecord) and a decoded-audio spool's audio.json (AudioSpool.openStored):
// an input that starts as a JSON list (after spaces) is an index, any other a record.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { AudioSpool } from '../../src/pipeline/audio-spool.js';
import { readVariantRecord } from '../../src/reuse/variant-record.js';
import { storedResultsSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';

/** Samples enough for the seeds' index, and for a mutated one to overrun. */
const SPOOL_BYTES = new Uint8Array(400);

export const storedResults: FuzzTarget = {
  name: 'stored-results',
  summary: 'a stored results.json (readVariantRecord) and audio.json (AudioSpool.openStored)',
  structure: 'json',
  seeds: storedResultsSeeds,
  async parse(input, scratch) {
    const dir = await scratch.folder();
    if (Buffer.from(input).toString('latin1').trimStart().startsWith('[')) {
      await writeFile(join(dir, 'audio.json'), input);
      await writeFile(join(dir, 'audio.f32'), SPOOL_BYTES);
      const spool = await AudioSpool.openStored(dir);
      if (typeof spool === 'string') throw new QuantgateError(`the stored audio does not read back: ${spool}`);
      for await (const batch of spool.batches(2)) void batch;
      await spool.close();
    } else {
      await writeFile(join(dir, 'results.json'), input);
      await readVariantRecord(dir);
    }
  },
};
