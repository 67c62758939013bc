// How a quantized model lies on disk: its output formats, and the names of every file and folder
// `quantize` writes under the output folder for one base name — `<name>.gguf`, the byte-shard
// folder `<name>-shards`, the gguf-split folder `<name>-split` and `<name>.manifest.json`. Writers,
// `verify` and `transcribe` all find outputs through these names.

import { basename, dirname, join } from 'node:path';
import type { QuantType } from '../../quant/plan.js';

/** One .gguf, raw byte chunks of one .gguf, or llama.cpp's gguf-split files. */
export const OUTPUT_FORMATS = ['single', 'bytes', 'gguf-split'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The formats a model too large for one file is cut into. */
export const SHARD_FORMATS = ['bytes', 'gguf-split'] as const satisfies readonly OutputFormat[];
export type ShardFormat = (typeof SHARD_FORMATS)[number];

/** The seed's shard size: 512 MB counted as 512·1024·1024 bytes. */
export const DEFAULT_MAX_SHARD_BYTES = 512 * 1024 * 1024;

const MANIFEST_SUFFIX = '.manifest.json';
/** What follows the base name in each format's path; a gguf-split part adds `-00001-of-00003.gguf`. */
const OUTPUT_SUFFIXES: Record<OutputFormat, string> = { single: '.gguf', bytes: '-shards', 'gguf-split': '-split' };

/** Where each format puts its output under `outDir` for base name `name`. */
export function outputPaths(outDir: string, name: string): Record<OutputFormat, string> {
  return {
    single: join(outDir, `${name}${OUTPUT_SUFFIXES.single}`),
    bytes: join(outDir, `${name}${OUTPUT_SUFFIXES.bytes}`),
    'gguf-split': join(outDir, `${name}${OUTPUT_SUFFIXES['gguf-split']}`),
  };
}

export function manifestPath(outDir: string, name: string): string {
  return join(outDir, `${name}${MANIFEST_SUFFIX}`);
}

export function isManifestPath(path: string): boolean {
  return path.endsWith(MANIFEST_SUFFIX);
}

/**
 * The base name of an output path: a .gguf, a shard or split folder, or a gguf-split part
 * (`m-q4-00001-of-00002.gguf` → `m-q4`); a manifest's path gives its own base name.
 */
export function outputBaseName(path: string): string {
  const name = basename(path.replace(/[/\\]+$/, ''));
  if (isManifestPath(name)) return name.slice(0, -MANIFEST_SUFFIX.length);
  return name.replace(/(-\d{5}-of-\d{5}\.gguf|\.gguf|-shards|-split)$/, '');
}

/**
 * Where the manifest of the output at `path` would be: beside the output, or for a gguf-split part
 * beside its folder.
 */
export function manifestCandidates(path: string): string[] {
  const name = outputBaseName(path);
  const dir = dirname(path.replace(/[/\\]+$/, ''));
  return [manifestPath(dir, name), manifestPath(dirname(dir), name)];
}

const TYPE_SUFFIXES: Record<QuantType, string> = { q4_0: 'q4', q8_0: 'q8', f16: 'f16', f32: 'f32' };

/** The default base name: the model's name and the type's short form, e.g. `stt-1b-en_fr-q4`. */
export function defaultOutputName(modelName: string, quantType: QuantType): string {
  return `${modelName}-${TYPE_SUFFIXES[quantType]}`;
}
