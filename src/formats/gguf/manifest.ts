// The manifest written beside a quantized output, listing every file it consists of so a download
// can be checked before use. It is JSON with these fields:
//   manifestVersion  1
//   format           'single' (one .gguf), 'bytes' (raw chunks shard-aa, shard-ab, … of one
//                    .gguf, to be concatenated in order) or 'gguf-split' (llama.cpp split files)
//   files            [{ path, size, sha256 }] in order; path relative to the manifest's folder,
//                    with "/" separators; sha256 lowercase hex
//   totalSize        the sum of the file sizes (for 'bytes', the size of the rebuilt .gguf)
//   tensorCount      tensors in the model
//   source           { repoId?, revision?, path? }: the Hub repository and commit, or local path
//   tool             { name, version }: what wrote it
//   createdAt?       ISO 8601 time, when the caller wants one (omitted for reproducible output)

import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { writeFileAtomic } from '../../common/atomic.js';
import { QuantgateError, describeError, jsonText } from '../../common/errors.js';
import { hashFile } from '../../common/file-hash.js';
import { silentProgress, type Progress } from '../../common/progress.js';
import type { WrittenFile } from './sink.js';

export type OutputFormat = 'single' | 'bytes' | 'gguf-split';

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  manifestVersion: 1;
  format: OutputFormat;
  files: ManifestFile[];
  totalSize: number;
  tensorCount: number;
  source: { repoId?: string; revision?: string; path?: string };
  tool: { name: string; version: string };
  createdAt?: string;
}

export interface ManifestInput {
  format: OutputFormat;
  /** The files as the writers report them; they must lie in the manifest's folder or below. */
  files: readonly WrittenFile[];
  tensorCount: number;
  source: Manifest['source'];
  tool: Manifest['tool'];
  createdAt?: string;
}

const FORMATS: readonly OutputFormat[] = ['single', 'bytes', 'gguf-split'];

/** Writes the manifest for `input` to `manifestPath` atomically and returns it. */
export async function writeManifest(manifestPath: string, input: ManifestInput): Promise<Manifest> {
  const base = dirname(manifestPath);
  const files = input.files.map((file) => {
    const path = relative(base, file.path);
    if (path === '' || isAbsolute(path) || path.split(sep)[0] === '..') {
      throw new Error(`manifest ${manifestPath} cannot list ${file.path}, which is outside its folder`);
    }
    return { path: path.split(sep).join('/'), size: file.size, sha256: file.sha256 };
  });
  const manifest: Manifest = {
    manifestVersion: 1,
    format: input.format,
    files,
    totalSize: files.reduce((sum, file) => sum + file.size, 0),
    tensorCount: input.tensorCount,
    source: input.source,
    tool: input.tool,
    ...(input.createdAt === undefined ? {} : { createdAt: input.createdAt }),
  };
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads and checks the shape of a manifest. */
export async function readManifest(manifestPath: string): Promise<Manifest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    throw new QuantgateError(`cannot read manifest ${manifestPath} (${describeError(error)}); download it again`, { cause: error });
  }
  const problem = manifestProblem(parsed);
  if (problem) throw new QuantgateError(`${manifestPath} is not a valid quantgate manifest: ${problem}; download it again or write it anew`);
  return parsed as Manifest;
}

/**
 * Checks every file listed in the manifest for its size and SHA-256 (read as a stream) and
 * throws one error naming every file that is missing or differs.
 */
export async function verifyManifest(manifestPath: string, options: { progress?: Progress } = {}): Promise<Manifest> {
  const manifest = await readManifest(manifestPath);
  const task = (options.progress ?? silentProgress).task('verifying', { total: manifest.totalSize, unit: 'bytes' });
  const bad: string[] = [];
  for (const file of manifest.files) {
    const path = join(dirname(manifestPath), ...file.path.split('/'));
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size === undefined) bad.push(`${file.path} (missing)`);
    else if (size !== file.size) bad.push(`${file.path} (${size} bytes, expected ${file.size})`);
    else if ((await sha256Of(path, (bytes) => task.advance(bytes))) !== file.sha256) bad.push(`${file.path} (sha256 differs)`);
  }
  task.finish();
  if (bad.length > 0) {
    throw new QuantgateError(`${bad.length} of ${manifest.files.length} files do not match ${manifestPath}: ${bad.join(', ')}; download ${bad.length === 1 ? 'it' : 'them'} again`);
  }
  return manifest;
}

async function sha256Of(path: string, onBytes: (count: number) => void): Promise<string> {
  const hash = createHash('sha256');
  await hashFile(path, hash, { onBytes });
  return hash.digest('hex');
}

function manifestProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const manifest = value as Partial<Record<keyof Manifest, unknown>>;
  if (manifest.manifestVersion !== 1) return `manifestVersion is ${jsonText(manifest.manifestVersion)}, not 1`;
  if (!FORMATS.includes(manifest.format as OutputFormat)) return `format is ${jsonText(manifest.format)}, not one of ${FORMATS.join(', ')}`;
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) return 'files is not a non-empty list';
  for (const [index, file] of (manifest.files as Partial<ManifestFile>[]).entries()) {
    const path = file?.path;
    if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.split('/').includes('..')) {
      return `the path of file ${index + 1} is ${jsonText(path)}, not a path relative to the manifest's folder`;
    }
    if (!Number.isSafeInteger(file.size) || file.size! < 0) return `${path} has no valid size`;
    if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) return `${path} has no valid sha256`;
  }
  const sum = (manifest.files as ManifestFile[]).reduce((total, file) => total + file.size, 0);
  if (manifest.totalSize !== sum) return `totalSize is ${jsonText(manifest.totalSize)}, not the sum of the file sizes, ${sum}`;
  if (!Number.isSafeInteger(manifest.tensorCount) || (manifest.tensorCount as number) < 0) return 'tensorCount is not a whole number';
  if (typeof manifest.source !== 'object' || manifest.source === null) return 'source is not an object';
  const tool = manifest.tool as Partial<Manifest['tool']> | undefined;
  if (typeof tool?.name !== 'string' || typeof tool.version !== 'string') return 'tool has no name and version';
  return undefined;
}
