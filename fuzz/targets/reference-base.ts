// The reference base file (`--reference-base`): readReferenceBase, header, records and all. Each
// input is a body that the target seals with its SHA-256 first, as an intact file would be, so that
// mutations reach the header and record parsing rather than all stopping at the checksum.
import { createHash } from 'node:crypto';
import { readReferenceBase } from '../../src/scoring/reference-base.js';
import { referenceBaseSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';

export const referenceBase: FuzzTarget = {
  name: 'reference-base',
  summary: 'a reference_base.bin, checksum resealed (readReferenceBase)',
  structure: 'binary-head',
  seeds: referenceBaseSeeds,
  async parse(input, scratch) {
    const sealed = Buffer.concat([input, createHash('sha256').update(input).digest()]);
    await readReferenceBase(await scratch.file('reference_base.bin', sealed));
  },
};
