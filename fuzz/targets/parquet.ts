// A parquet dataset file: footer and schema (openParquetSource), then every record's transcript and audio.
import { openParquetSource } from '../../src/datasets/parquet.js';
import { parquetSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';

export const parquet: FuzzTarget = {
  name: 'parquet',
  summary: 'a parquet dataset (openParquetSource, then records and load)',
  structure: 'binary-tail',
  seeds: parquetSeeds,
  async parse(input, scratch) {
    const source = await openParquetSource({ files: [await scratch.file('data.parquet', input)] });
    try {
      for await (const record of source.records(0, Math.min(source.size, 16))) await record.load();
    } finally {
      await source.close();
    }
  },
};
