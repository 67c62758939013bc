// The manifest written beside a quantized output, listing every file it consists of so a download
// can be checked before use. It is JSON with these fields:
//   manifestVersion  1
//   format           'single' (one .gguf), 'bytes' (raw chunks shard-aa, shard-ab, … of one
//                    .gguf, to be concatenated in order) or 'gguf-split' (llama.cpp split files)
//   files            [{ path, size, sha256 }] in order; path relative to the manifest's folder,
//                    with "/" separators; sha256 lowercase hex
//   totalSize        the sum of the file sizes (for 'bytes', the size of the rebuilt .gguf)
//   singleFile?      { path, size, sha256 } of the single .gguf kept beside byte shards: the same
//                    bytes as the shards concatenated, so its sha256 also checks a rebuilt file.
//                    Not among `files`: an upload of the shards and the manifest is complete
//                    without it, and a check skips it where it is absent
//   tensorCount      tensors in the model
//   types?           what the tensors are: { fileType (general.file_type), quantType (the
//                    --quant-type), tensorTypes (the --tensor-type lines, in order), byType
//                    ({ F32: { tensors, parameters, bytes }, Q4_0: …, … }) }; absent from
//                    manifests of quantgate versions before it
//   source           { repoId?, revision?, path? }: the Hub repository and commit, or local path
//   tool             { name, version }: what wrote it
//   inputsSha256?    sha256 of what decides the bytes: quantgate's version, the source (its Hub
//                    commit, or the sha256 of its files) and every setting of the quantization.
//                    A run whose output folder already holds a verified output with the same
//                    value does not write it again
//   createdAt?       ISO 8601 time, when the caller wants one (omitted for reproducible output)

import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { writeFileAtomic } from '../../common/atomic.js';
import { QuantgateError, describeError, jsonText } from '../../common/errors.js';
import { hashFile } from '../../common/file-hash.js';
import { silentProgress, type Progress } from '../../common/progress.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output-layout.js';
import type { WrittenFile } from './sink.js';

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface ManifestTypes {
  fileType: number;
  quantType: string;
  tensorTypes: string[];
  byType: Record<string, { tensors: number; parameters: number; bytes: number }>;
}

export interface Manifest {
  manifestVersion: 1;
  format: OutputFormat;
  files: ManifestFile[];
  totalSize: number;
  singleFile?: ManifestFile;
  tensorCount: number;
  types?: ManifestTypes;
  source: { repoId?: string; revision?: string; path?: string };
  tool: { name: string; version: string };
  inputsSha256?: string;
  createdAt?: string;
}

export interface ManifestInput {
  format: OutputFormat;
  /** The files as the writers report them; they must lie in the manifest's folder or below. */
  files: readonly WrittenFile[];
  /** The single .gguf kept beside byte shards. */
  singleFile?: WrittenFile;
  tensorCount: number;
  types?: ManifestTypes;
  source: Manifest['source'];
  tool: Manifest['tool'];
  inputsSha256?: string;
  createdAt?: string;
}

/** Writes the manifest for `input` to `manifestPath` atomically and returns it. */
export async function writeManifest(manifestPath: string, input: ManifestInput): Promise<Manifest> {
  const base = dirname(manifestPath);
  const listed = (file: WrittenFile): ManifestFile => {
    const path = relative(base, file.path);
    if (path === '' || isAbsolute(path) || path.split(sep)[0] === '..') {
      throw new Error(`manifest ${manifestPath} cannot list ${file.path}, which is outside its folder`);
    }
    return { path: path.split(sep).join('/'), size: file.size, sha256: file.sha256 };
  };
  const files = input.files.map(listed);
  const manifest: Manifest = {
    manifestVersion: 1,
    format: input.format,
    files,
    totalSize: files.reduce((sum, file) => sum + file.size, 0),
    ...(input.singleFile && { singleFile: listed(input.singleFile) }),
    tensorCount: input.tensorCount,
    ...(input.types && { types: input.types }),
    source: input.source,
    tool: input.tool,
    ...(input.inputsSha256 && { inputsSha256: input.inputsSha256 }),
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
    throw new QuantgateError(`cannot read manifest ${manifestPath} (${describeError(error)}); download it again`, {
      cause: error,
    });
  }
  const problem = manifestProblem(parsed);
  if (problem)
    throw new QuantgateError(
      `${manifestPath} is not a valid quantgate manifest: ${problem}; download it again or write it anew`,
    );
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
  const check = async (file: ManifestFile, size: number | undefined, path: string) => {
    if (size === undefined) bad.push(`${file.path} (missing)`);
    else if (size !== file.size) bad.push(`${file.path} (${size} bytes, expected ${file.size})`);
    else if ((await sha256Of(path, (bytes) => task.advance(bytes))) !== file.sha256)
      bad.push(`${file.path} (sha256 differs)`);
  };
  for (const file of manifest.files) {
    const path = join(dirname(manifestPath), ...file.path.split('/'));
    await check(file, (await stat(path).catch(() => undefined))?.size, path);
  }
  // The single file is optional: a download of the shards and the manifest is complete without it.
  if (manifest.singleFile) {
    const path = join(dirname(manifestPath), ...manifest.singleFile.path.split('/'));
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size !== undefined) await check(manifest.singleFile, size, path);
  }
  task.finish();
  const listed = manifest.files.length + (manifest.singleFile ? 1 : 0);
  if (bad.length > 0) {
    throw new QuantgateError(
      `${bad.length} of ${listed} files do not match ${manifestPath}: ${bad.join(', ')}; download ${bad.length === 1 ? 'it' : 'them'} again`,
    );
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
  if (!OUTPUT_FORMATS.includes(manifest.format as OutputFormat))
    return `format is ${jsonText(manifest.format)}, not one of ${OUTPUT_FORMATS.join(', ')}`;
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) return 'files is not a non-empty list';
  const listed = [
    ...(manifest.files as unknown[]),
    ...(manifest.singleFile === undefined ? [] : [manifest.singleFile]),
  ];
  for (const [index, file] of listed.entries()) {
    const problem = fileProblem(file as Partial<ManifestFile> | undefined, index);
    if (problem) return problem;
  }
  if (manifest.singleFile !== undefined && manifest.format !== 'bytes')
    return `singleFile is listed for format ${manifest.format}, which is not cut from one file`;
  const sum = (manifest.files as ManifestFile[]).reduce((total, file) => total + file.size, 0);
  if (manifest.totalSize !== sum)
    return `totalSize is ${jsonText(manifest.totalSize)}, not the sum of the file sizes, ${sum}`;
  if (!Number.isSafeInteger(manifest.tensorCount) || (manifest.tensorCount as number) < 0)
    return 'tensorCount is not a whole number';
  if (typeof manifest.source !== 'object' || manifest.source === null) return 'source is not an object';
  const tool = manifest.tool as Partial<Manifest['tool']> | undefined;
  if (typeof tool?.name !== 'string' || typeof tool.version !== 'string') return 'tool has no name and version';
  return undefined;
}

function fileProblem(file: Partial<ManifestFile> | undefined, index: number): string | undefined {
  const path = file?.path;
  if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.split('/').includes('..')) {
    return `the path of file ${index + 1} is ${jsonText(path)}, not a path relative to the manifest's folder`;
  }
  if (!Number.isSafeInteger(file!.size) || file!.size! < 0) return `${path} has no valid size`;
  if (typeof file!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file!.sha256)) return `${path} has no valid sha256`;
  return undefined;
}
