// A manifest file listing utterances: JSON Lines ({"id", "audio", "text"} per line) or CSV with
// a header naming the columns id, audio and text (others are ignored). Audio paths are relative
// to the manifest's folder; the files are WAV or FLAC.

import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { QuantgateError, describeError } from '../common/errors.js';
import { parseJsonLines } from '../common/json-lines.js';
import { parseCsv } from './csv.js';
import { audioFileRecord, listedSource, type DatasetSource } from './source.js';

interface ManifestEntry {
  id: string;
  audio: string;
  text: string;
}

const FIELDS = ['id', 'audio', 'text'] as const;

export async function openManifest(path: string): Promise<DatasetSource> {
  const extension = extname(path).toLowerCase();
  if (!['.jsonl', '.ndjson', '.csv'].includes(extension)) {
    throw new QuantgateError(
      `${path}: a manifest must be JSON Lines (.jsonl, .ndjson) or CSV (.csv); rename or convert it`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new QuantgateError(`cannot read the manifest ${path} (${describeError(error)}); check the path`, {
      cause: error,
    });
  }
  const entries = extension === '.csv' ? parseCsvManifest(text, path) : parseJsonManifest(text, path);
  const base = dirname(path);
  return listedSource(
    { kind: 'manifest', name: path },
    entries.map((entry) => audioFileRecord(entry.id, entry.text, resolve(base, entry.audio))),
  );
}

function parseJsonManifest(text: string, path: string): ManifestEntry[] {
  return parseJsonLines(text, path, 'fix that line').map(({ line, value }) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new QuantgateError(`${path} line ${line}: expected an object with "id", "audio" and "text"; fix that line`);
    }
    return entryFrom(value as Record<string, unknown>, `${path} line ${line}`);
  });
}

function parseCsvManifest(text: string, path: string): ManifestEntry[] {
  const [header, ...rows] = parseCsv(text, path);
  if (!header) return [];
  const columns = FIELDS.map((field) => header.fields.indexOf(field));
  const missing = FIELDS.filter((_, i) => columns[i] < 0);
  if (missing.length > 0) {
    throw new QuantgateError(
      `${path} line ${header.line}: the header lacks ${missing.join(', ')} (it has ${header.fields.join(', ')}); the header must name id, audio and text`,
    );
  }
  return rows.map(({ fields, line }) => {
    if (fields.length !== header.fields.length) {
      throw new QuantgateError(
        `${path} line ${line}: ${fields.length} fields where the header has ${header.fields.length}; quote fields that contain commas`,
      );
    }
    return entryFrom(Object.fromEntries(FIELDS.map((field, i) => [field, fields[columns[i]]])), `${path} line ${line}`);
  });
}

function entryFrom(value: Record<string, unknown>, where: string): ManifestEntry {
  for (const field of FIELDS) {
    if (typeof value[field] !== 'string' || (field !== 'text' && value[field] === '')) {
      throw new QuantgateError(
        `${where}: "${field}" must be a${field === 'text' ? '' : ' non-empty'} string; fix that line`,
      );
    }
  }
  return { id: value.id as string, audio: value.audio as string, text: value.text as string };
}
