// Fetching a published model back, from a release's assets or a workflow artifact: the manifest
// first, then every file it lists, each checked for size and SHA-256 while it streams in. Byte
// shards are joined, in order, into the one .gguf they were cut from; a single .gguf and gguf-split
// files (which llama.cpp loads as they are) are kept under their manifest paths with the manifest
// beside them. Nothing appears in the output folder unless every file arrived whole and matched.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, extname, join, posix } from 'node:path';
import { AtomicFile, ensureWritableDir, holdTempPath, releaseTempPath, tempPathFor } from '../common/atomic.js';
import { QuantgateError, describeError, isQuantgateError } from '../common/errors.js';
import { silentProgress, type Progress, type ProgressTask } from '../common/progress.js';
import { readManifest, type Manifest, type ManifestFile } from '../formats/gguf/manifest.js';
import type { OutputFormat } from '../formats/gguf/output-layout.js';
import { downloadArtifactFromRun } from './artifacts.js';
import type { GitHubClient, RepoRef } from './github.js';
import { getRelease, listAssets, readAsset, type ReleaseRef } from './release.js';

/** The files of a published model, read by name: a release's assets or an unpacked artifact. */
interface PublishedFiles {
  /** What they are, for messages, e.g. `release v1 of o/r`. */
  readonly label: string;
  /** Every file name there; an artifact's names keep their folders, a release's are flat. */
  readonly names: readonly string[];
  read(name: string): Promise<AsyncIterable<Uint8Array>>;
}

export interface DownloadOptions {
  /** The output folder; may exist and hold other files. */
  out: string;
  /** The manifest's name, when the source holds more than one. */
  manifest?: string;
  /** The file name of the .gguf rebuilt from byte shards (default: the model's name + .gguf). */
  ggufName?: string;
  progress?: Progress;
}

export interface DownloadedModel {
  format: OutputFormat;
  manifest: Manifest;
  /** The files written: the rebuilt .gguf, or the listed files and then the manifest. */
  files: string[];
}

/** Manifests are small; a bigger "manifest" is not one, and is not read into memory. */
const MAX_MANIFEST_BYTES = 16 << 20;

export async function downloadFromRelease(
  options: DownloadOptions & { client: GitHubClient; release: ReleaseRef },
): Promise<DownloadedModel> {
  const { client, release: ref } = options;
  const assets = await listAssets(client, ref, await getRelease(client, ref));
  const source: PublishedFiles = {
    label: `release ${ref.tag} of ${ref.owner}/${ref.repo}`,
    names: assets.map((asset) => asset.name),
    read: (name) =>
      readAsset(
        client,
        ref,
        assets.find((asset) => asset.name === name)!,
      ),
  };
  return downloadPublishedModel(source, options);
}

/** Downloads artifact `artifactId` of run `runId` (unpacked beside the output, removed afterwards), then takes the model from it. */
export async function downloadFromArtifact(
  options: DownloadOptions & { repo: RepoRef; runId: number; artifactId: number; token: string },
): Promise<DownloadedModel> {
  await ensureWritableDir(options.out);
  const staging = tempPathFor(join(options.out, 'artifact'));
  holdTempPath(staging);
  try {
    await mkdir(staging);
    await downloadArtifactFromRun({ ...options, dir: staging });
    const source = await folderFiles(
      staging,
      `artifact ${options.artifactId} of run ${options.runId} in ${options.repo.owner}/${options.repo.repo}`,
    );
    return await downloadPublishedModel(source, options);
  } finally {
    await rm(staging, { recursive: true, force: true });
    releaseTempPath(staging);
  }
}

async function downloadPublishedModel(source: PublishedFiles, options: DownloadOptions): Promise<DownloadedModel> {
  const manifestName = options.manifest ?? findManifest(source);
  if (!source.names.includes(manifestName))
    throw new QuantgateError(
      `${source.label} has no file ${manifestName}; check --manifest (it has ${source.names.join(', ')})`,
    );
  await ensureWritableDir(options.out);
  const pending: AtomicFile[] = [];
  try {
    const manifestFile = await AtomicFile.create(join(options.out, basename(manifestName)));
    pending.push(manifestFile);
    const manifest = await receiveManifest(source, manifestName, manifestFile);
    const names = manifest.files.map((file) => nameInSource(source, manifestName, file));
    const task = (options.progress ?? silentProgress).task(`downloading ${source.label}`, {
      total: manifest.totalSize,
      unit: 'bytes',
    });
    let result: DownloadedModel;
    if (manifest.format === 'bytes') {
      const gguf = await AtomicFile.create(
        join(options.out, options.ggufName === undefined ? defaultGgufName(manifest) : checkGgufName(options.ggufName)),
      );
      pending.push(gguf);
      for (const [index, file] of manifest.files.entries())
        await receive(source, names[index]!, file, task, (chunk) => gguf.write(chunk));
      await manifestFile.abort();
      await gguf.commit();
      result = { format: manifest.format, manifest, files: [gguf.finalPath] };
    } else {
      const written: AtomicFile[] = [];
      for (const [index, file] of manifest.files.entries()) {
        const output = await AtomicFile.create(join(options.out, ...file.path.split('/')));
        pending.push(output);
        written.push(output);
        await receive(source, names[index]!, file, task, (chunk) => output.write(chunk));
      }
      for (const output of written) await output.commit();
      await manifestFile.commit();
      result = { format: manifest.format, manifest, files: [...written, manifestFile].map((file) => file.finalPath) };
    }
    task.finish();
    return result;
  } catch (error) {
    await Promise.all(pending.map((file) => file.abort()));
    throw error;
  }
}

function findManifest(source: PublishedFiles): string {
  const manifests = source.names.filter((name) => /(^|[/.])manifest\.json$/.test(name));
  if (manifests.length === 1) return manifests[0]!;
  if (manifests.length === 0) {
    throw new QuantgateError(
      `${source.label} holds no manifest.json (it has ${source.names.join(', ') || 'no files'}); publish the model with its manifest, or name it with --manifest`,
    );
  }
  throw new QuantgateError(
    `${source.label} holds ${manifests.length} manifests (${manifests.join(', ')}); choose one with --manifest`,
  );
}

/** Streams the manifest into `file` (kept as a temp file until the end) and validates it. */
async function receiveManifest(source: PublishedFiles, name: string, file: AtomicFile): Promise<Manifest> {
  for await (const chunk of await source.read(name)) {
    if (file.bytesWritten + chunk.byteLength > MAX_MANIFEST_BYTES) {
      throw new QuantgateError(
        `${name} in ${source.label} is over ${MAX_MANIFEST_BYTES >> 20} MiB, so it is not a quantgate manifest; check --manifest`,
      );
    }
    await file.write(chunk);
  }
  try {
    return await readManifest(file.tempPath);
  } catch (error) {
    if (!isQuantgateError(error)) throw error;
    throw new QuantgateError(`${name} in ${source.label} is not a usable manifest (${describeError(error)})`, {
      cause: error,
    });
  }
}

/** Where a listed file is in the source: beside the manifest, or, in a flat release, by base name. */
function nameInSource(source: PublishedFiles, manifestName: string, file: ManifestFile): string {
  const beside = posix.join(posix.dirname(manifestName), file.path);
  const name = [beside, posix.basename(file.path)].find((candidate) => source.names.includes(candidate));
  if (name === undefined) {
    throw new QuantgateError(
      `${source.label} lacks ${file.path}, which its manifest ${manifestName} lists; publish all the files of the model again`,
    );
  }
  return name;
}

/** Streams `name` into `sink`, failing as soon as it is longer than `file` says, and at the end unless its size and SHA-256 match. */
async function receive(
  source: PublishedFiles,
  name: string,
  file: ManifestFile,
  task: ProgressTask,
  sink: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  const mismatch = (what: string) =>
    new QuantgateError(
      `${name} from ${source.label} ${what}; it was corrupted on the way or changed after publishing — download again, and publish again if it persists`,
    );
  for await (const chunk of await source.read(name)) {
    size += chunk.byteLength;
    if (size > file.size) throw mismatch(`is longer than the ${file.size} bytes its manifest lists`);
    hash.update(chunk);
    await sink(chunk);
    task.advance(chunk.byteLength);
  }
  if (size !== file.size) throw mismatch(`has ${size} bytes, but its manifest lists ${file.size}`);
  const sha256 = hash.digest('hex');
  if (sha256 !== file.sha256) throw mismatch(`has sha256 ${sha256}, but its manifest lists ${file.sha256}`);
}

/** `<model>.gguf`, after the Hub repo's name, else the source file or folder's name without its extension. */
function defaultGgufName(manifest: Manifest): string {
  const { repoId, path } = manifest.source;
  const fromPath = path?.split(/[/\\]/).filter(Boolean).pop();
  const model = repoId?.split('/').pop() || (fromPath && basename(fromPath, extname(fromPath))) || 'model';
  return `${model}.gguf`;
}

function checkGgufName(name: string): string {
  if (name === '' || name !== basename(name) || name.includes('\\') || name === '.' || name === '..') {
    throw new QuantgateError(
      `--gguf-name "${name}" is not a plain file name; give one like model-q4_0.gguf, and the folder with --out`,
    );
  }
  return name;
}

/** The files under `dir`, named by their paths relative to it with "/" separators. */
async function folderFiles(dir: string, label: string): Promise<PublishedFiles> {
  const names: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(dir, relative), { withFileTypes: true })) {
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(name);
      else if (entry.isFile()) names.push(name);
    }
  };
  await walk('');
  return {
    label,
    names,
    read: async (name) => createReadStream(join(dir, ...name.split('/')), { highWaterMark: 1 << 20 }),
  };
}
