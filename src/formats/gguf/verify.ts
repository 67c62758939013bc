// `verify`: is a quantized model what it claims to be? Three checks, each optional but the first:
// the GGUF parses (one file, byte shards or gguf-split); every file matches the size and sha256 its
// manifest lists; and, given the source model, every tensor decodes to within one quantization step
// of the source values it was made from.

import { dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { QuantgateError } from '../../common/errors.js';
import { silentProgress, type Progress } from '../../common/progress.js';
import { GGML_TYPES, type GgmlTypeName } from './constants.js';
import { verifyManifest, type Manifest } from './manifest.js';
import { openGgufModel } from './open.js';
import { isManifestPath, manifestCandidates, outputBaseName, outputPaths } from './output-layout.js';
import type { GgufModel } from './reader.js';
import { SAFETENSORS_DTYPE_BITS, openSafetensors, type SafetensorsReader } from '../safetensors.js';
import { decode, decodeSource, type SourceType } from '../../quant/codec.js';
import { f16BitsToF32 } from '../../quant/half.js';

export interface VerifyOptions {
  /** A .gguf, a byte-shard folder, a gguf-split part or folder, or the manifest of any of them. */
  path: string;
  /** The manifest to check the files against; found beside the output by its name when not given. */
  manifest?: string;
  /** The source model, to check every tensor's values. */
  model?: string;
  progress?: Progress;
}

export interface TensorCheck {
  name: string;
  type: GgmlTypeName;
  elements: number;
  /** The largest |source − decoded| over the tensor, as a fraction of the allowed error at that place. */
  worstRatio: number;
}

export interface VerifyReport {
  /** What was opened. */
  path: string;
  tensorCount: number;
  manifest?: Manifest & { path: string };
  /** Present when the source model was given. */
  tensors?: TensorCheck[];
}

/** Values a chunk of a tensor holds; a multiple of every block size. */
const CHUNK_ELEMENTS = 1 << 20;
/** fp16's smallest subnormal, 2^-24: a Q4_0/Q8_0 scale below it is stored as zero. */
const F16_TINY = 2 ** -24;

export async function verifyQuantized(options: VerifyOptions): Promise<VerifyReport> {
  const progress = options.progress ?? silentProgress;
  const { output, manifestPath } = locate(options);
  const manifest = manifestPath
    ? { ...(await verifyManifest(manifestPath, { progress })), path: manifestPath }
    : undefined;
  const gguf = await openGgufModel(output);
  try {
    if (manifest && manifest.tensorCount !== gguf.tensors.length) {
      throw new QuantgateError(
        `${output} holds ${gguf.tensors.length} tensors but its manifest ${manifestPath} lists ${manifest.tensorCount}; download or quantize it again`,
      );
    }
    const report: VerifyReport = { path: output, tensorCount: gguf.tensors.length, ...(manifest && { manifest }) };
    if (options.model === undefined) return report;
    const source = await openSafetensors(options.model);
    try {
      report.tensors = await checkValues(gguf, source, progress);
    } finally {
      await source.close();
    }
    const bad = report.tensors.filter((tensor) => !(tensor.worstRatio <= 1));
    if (bad.length > 0) {
      const named = bad
        .slice(0, 5)
        .map((tensor) => `${tensor.name} (${stepExcess(tensor.worstRatio)})`)
        .join(', ');
      throw new QuantgateError(
        `${bad.length} tensor(s) of ${output} do not decode to within their quantization step of ${options.model}: ${named}; the GGUF was not made from this model — quantize it again`,
      );
    }
    return report;
  } finally {
    await gguf.close();
  }
}

/** How far a tensor strays, in words: a value that is infinite or not a number has no ratio to show. */
function stepExcess(worstRatio: number): string {
  return Number.isFinite(worstRatio)
    ? `${worstRatio.toFixed(2)}× its step`
    : 'a value that is infinite or not a number';
}

/** The quantized output and its manifest, from whichever of the two `path` names. */
function locate(options: VerifyOptions): { output: string; manifestPath?: string } {
  if (isManifestPath(options.path)) return { output: outputOfManifest(options.path), manifestPath: options.path };
  if (options.manifest) return { output: options.path, manifestPath: options.manifest };
  const beside = manifestCandidates(options.path).find((candidate) => existsSync(candidate));
  return beside ? { output: options.path, manifestPath: beside } : { output: options.path };
}

/** A manifest lists its files relative to itself; the first one (or its folder, for byte shards) opens the model. */
function outputOfManifest(manifestPath: string): string {
  const name = outputBaseName(manifestPath);
  const found = Object.values(outputPaths(dirname(manifestPath), name)).find((candidate) => existsSync(candidate));
  if (found) return found;
  throw new QuantgateError(
    `no ${name}.gguf, ${name}-shards or ${name}-split beside ${manifestPath}; download the files the manifest lists into its folder`,
  );
}

async function checkValues(gguf: GgufModel, source: SafetensorsReader, progress: Progress): Promise<TensorCheck[]> {
  const task = progress.task('comparing with the source', {
    total: gguf.tensors.reduce((sum, tensor) => sum + count(tensor.ne), 0),
    unit: 'count',
    unitName: 'values',
  });
  const checks: TensorCheck[] = [];
  for (const tensor of gguf.tensors) {
    const original = source.tensor(tensor.name);
    if (!original)
      throw new QuantgateError(
        `tensor ${tensor.name} of the GGUF is not in the source model; pass the model it was quantized from`,
      );
    const shape = [...tensor.ne].reverse();
    if (original.shape.length !== shape.length || original.shape.some((dim, i) => dim !== shape[i])) {
      throw new QuantgateError(
        `tensor ${tensor.name} is [${shape.join(', ')}] in the GGUF but [${original.shape.join(', ')}] in the source; pass the model it was quantized from`,
      );
    }
    const { blockSize, typeSize } = GGML_TYPES[tensor.type];
    const elements = count(tensor.ne);
    let worstRatio = 0;
    // Both sides come in chunks of CHUNK_ELEMENTS values, so the i-th chunks hold the same values.
    const sourceChunks = source.chunks(original, {
      maxBytes: CHUNK_ELEMENTS * (SAFETENSORS_DTYPE_BITS[original.dtype] / 8),
      elementMultiple: blockSize,
    });
    try {
      for await (const bytes of gguf.readChunks(tensor.name, (CHUNK_ELEMENTS / blockSize) * typeSize)) {
        const chunkElements = (bytes.byteLength / typeSize) * blockSize;
        const expected = decodeSource(original.dtype as SourceType, (await sourceChunks.next()).value as Uint8Array);
        worstRatio = Math.max(worstRatio, worstErrorRatio(tensor.type, bytes, expected));
        task.advance(chunkElements);
      }
    } finally {
      await sourceChunks.return();
    }
    checks.push({ name: tensor.name, type: tensor.type, elements, worstRatio });
  }
  task.finish();
  return checks;
}

/**
 * The largest |x − x̂| / allowed over a chunk. Allowed errors: a block's step for Q4_0 and Q8_0
 * (rounding is half a step, the top value of Q4_0 may clamp a whole step, and the fp16 scale adds
 * under 1 %), never less than fp16 can express; half an ulp for F16 and BF16; none for F32.
 */
function worstErrorRatio(type: GgmlTypeName, bytes: Uint8Array, expected: Float32Array): number {
  const decoded = decode(type, bytes, expected.length);
  let worst = 0;
  const ratio = (i: number, allowed: number) => {
    const error = Math.abs(expected[i]! - decoded[i]!);
    const value = error === 0 ? 0 : error / allowed;
    // A value that is not a number (a NaN scale, say) must stick: no later comparison may replace it.
    if (value > worst || Number.isNaN(value)) worst = value;
  };
  if (type === 'Q4_0' || type === 'Q8_0') {
    const { blockSize, typeSize } = GGML_TYPES[type];
    const levels = type === 'Q4_0' ? 8 : 127;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let block = 0; block * blockSize < expected.length; block++) {
      const scale = Math.abs(f16BitsToF32(view.getUint16(block * typeSize, true)));
      const allowed = 1.01 * Math.max(scale, levels * F16_TINY);
      for (let i = block * blockSize; i < (block + 1) * blockSize; i++) ratio(i, allowed);
    }
  } else if (type === 'F16' || type === 'BF16') {
    const halfUlp = type === 'F16' ? 2 ** -11 : 2 ** -8;
    for (let i = 0; i < expected.length; i++) ratio(i, Math.max(Math.abs(expected[i]!) * halfUlp, F16_TINY));
  } else {
    for (let i = 0; i < expected.length; i++) ratio(i, Number.MIN_VALUE);
  }
  return worst;
}

function count(ne: readonly number[]): number {
  return ne.reduce((product, dim) => product * dim, 1);
}
