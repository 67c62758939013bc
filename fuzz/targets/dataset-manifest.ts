// Dataset manifests, JSON Lines and CSV (openManifest), with every record loaded.
import { openManifest } from '../../src/datasets/manifest.js';
import { csvSeeds, jsonlSeeds } from '../corpus.js';
import { isCleanError, type FuzzTarget, type Scratch } from '../target.js';

/** A record whose audio file is missing fails alone; the others are still loaded. */
function passCleanError(error: unknown): void {
  if (!isCleanError(error)) throw error;
}

async function openAndLoad(path: string): Promise<void> {
  const source = await openManifest(path);
  try {
    for await (const record of source.records(0, Math.min(source.size, 8))) await record.load().catch(passCleanError);
  } finally {
    await source.close();
  }
}

export const jsonl: FuzzTarget = {
  name: 'jsonl',
  summary: 'a JSON Lines dataset manifest (openManifest)',
  structure: 'lines',
  seeds: async () => jsonlSeeds(),
  parse: async (input: Uint8Array, scratch: Scratch) => openAndLoad(await scratch.file('data.jsonl', input)),
};

export const csv: FuzzTarget = {
  name: 'csv',
  summary: 'a CSV dataset manifest (openManifest)',
  structure: 'lines',
  seeds: async () => csvSeeds(),
  parse: async (input: Uint8Array, scratch: Scratch) => openAndLoad(await scratch.file('data.csv', input)),
};
