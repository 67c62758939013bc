// Builds what the quantize stage publishes, in a temp folder: the reference GGUF cut into byte
// shards under shards/ with manifest.json beside that folder, or gguf-split-like files listed by a
// manifest, plus the results files.

import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { byteShardName } from '../../src/formats/gguf/byte-shards.js';
import { writeManifest } from '../../src/formats/gguf/manifest.js';
import type { OutputFormat } from '../../src/formats/gguf/output-layout.js';
import { fixture, makeTempDir } from '../helpers/paths.js';

export interface PublishedModel {
  dir: string;
  manifestPath: string;
  /** The listed files, in order. */
  files: string[];
  /** Every file to publish: the listed ones, the manifest and the results files. */
  all: string[];
  /** The one GGUF the byte shards rebuild. */
  original: Buffer;
}

export const REPO_ID = 'kyutai/stt-1b-en_fr';

export async function byteShardModel(shardBytes = 4096): Promise<PublishedModel> {
  const original = await readFile(fixture('gguf', 'reference.gguf'));
  const dir = await makeTempDir('quantgate-publish-');
  await mkdir(join(dir, 'shards'));
  const parts: Buffer[] = [];
  for (let offset = 0; offset < original.byteLength; offset += shardBytes)
    parts.push(original.subarray(offset, offset + shardBytes));
  const files = parts.map((_, index) => join(dir, 'shards', byteShardName(index)));
  await Promise.all(parts.map((part, index) => writeFile(files[index]!, part)));
  return finish(dir, 'bytes', files, parts, original);
}

/** Two files listed as a gguf-split set (their content is arbitrary: downloads do not parse it). */
export async function splitModel(): Promise<PublishedModel> {
  const original = await readFile(fixture('gguf', 'reference.gguf'));
  const dir = await makeTempDir('quantgate-publish-');
  const parts = [original.subarray(0, 10000), original.subarray(10000)];
  const files = ['model-00001-of-00002.gguf', 'model-00002-of-00002.gguf'].map((name) => join(dir, name));
  await Promise.all(parts.map((part, index) => writeFile(files[index]!, part)));
  return finish(dir, 'gguf-split', files, parts, original);
}

async function finish(
  dir: string,
  format: OutputFormat,
  files: string[],
  parts: Buffer[],
  original: Buffer,
): Promise<PublishedModel> {
  const manifestPath = join(dir, 'manifest.json');
  await writeManifest(manifestPath, {
    format,
    files: files.map((path, index) => ({
      path,
      size: parts[index]!.byteLength,
      sha256: createHash('sha256').update(parts[index]!).digest('hex'),
    })),
    tensorCount: 8,
    source: { repoId: REPO_ID, revision: '0123456789abcdef0123456789abcdef01234567' },
    tool: { name: 'quantgate', version: '0.1.0' },
  });
  const results = [join(dir, 'eval_results.txt'), join(dir, 'eval_results.json')];
  await writeFile(results[0]!, 'WER 5.00%\n');
  await writeFile(results[1]!, '{"werPercent":5}\n');
  return { dir, manifestPath, files, all: [...files, manifestPath, ...results], original };
}
