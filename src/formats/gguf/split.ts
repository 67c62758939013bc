// The "gguf-split" output format, as llama.cpp's gguf-split tool writes it and its loader reads
// it: files `<name>-00001-of-0000N.gguf` (numbered from 1, five digits), each a complete GGUF;
// tensors kept whole and in order; the model's keys in the first file only, followed by
// `split.no` (u16, 0-based), `split.tensors.count` (i32, tensors over all files) and
// `split.count` (u16), in that order, which is where gguf-split leaves them; later files carry
// just the split keys (and `general.alignment` when it is not the default, so each parses alone).
// Unlike gguf-split, which counts only tensor data, the size limit bounds whole files, headers
// included: a file exceeds it only when it holds a single tensor that is larger on its own.

import { join } from 'node:path';
import { AtomicFile, writeDirAtomic } from '../../common/atomic.js';
import { QuantgateError } from '../../common/errors.js';
import { GgufValueType, KEY } from './constants.js';
import {
  FIXED_HEADER_BYTES,
  alignUp,
  metadataByteSize,
  planGguf,
  tensorDataSize,
  tensorInfoByteSize,
  type GgufLayout,
  type GgufTensorSpec,
} from './layout.js';
import type { GgufMetadataEntry } from './metadata.js';
import { HashingSink, type WrittenFile } from './sink.js';
import { GgufWriter, type GgufDataWriter } from './writer.js';

/** gguf-split numbers files with u16 keys. */
const MAX_SPLIT_FILES = 0xffff;

/** The file name of part `index` (0-based) of `count`. */
export function ggufSplitFileName(name: string, index: number, count: number): string {
  return `${name}-${String(index + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.gguf`;
}

/** The split keys of part `index` of `count`, in gguf-split's order. */
function splitKeys(index: number, count: number, tensorCount: number): GgufMetadataEntry[] {
  return [
    { key: KEY.splitNo, type: GgufValueType.UINT16, value: index },
    { key: KEY.splitTensorsCount, type: GgufValueType.INT32, value: tensorCount },
    { key: KEY.splitCount, type: GgufValueType.UINT16, value: count },
  ];
}

/**
 * Partitions `tensors` greedily, in order, into files of at most `maxFileBytes` each and lays
 * each file out. Split keys already in `metadata` are replaced, as gguf-split does.
 */
export function planGgufSplit(
  metadata: readonly GgufMetadataEntry[],
  tensors: readonly GgufTensorSpec[],
  options: { maxFileBytes: number; alignment?: number },
): GgufLayout[] {
  const { maxFileBytes } = options;
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 1) {
    throw new QuantgateError(
      `maximum split file size ${maxFileBytes} is not a whole number of bytes ≥ 1; choose a positive size`,
    );
  }
  const splitKeyNames = new Set<string>([KEY.splitNo, KEY.splitCount, KEY.splitTensorsCount]);
  const modelKeys = metadata.filter((entry) => !splitKeyNames.has(entry.key));
  const first = planGguf([...modelKeys, ...splitKeys(0, 1, tensors.length)], [], options);
  const { alignment } = first;
  const later = planGguf(splitKeys(1, 2, tensors.length), [], { alignment });
  // Key values have fixed sizes, so placeholder split numbers give the real header sizes.
  const keyBytes = (index: number) =>
    FIXED_HEADER_BYTES + metadataByteSize(index === 0 ? first.metadata : later.metadata);

  let current: GgufTensorSpec[] = [];
  const groups = [current];
  let headerBytes = keyBytes(0);
  let dataBytes = 0;
  for (const tensor of tensors) {
    const infoBytes = tensorInfoByteSize(tensor);
    const tensorBytes = alignUp(tensorDataSize(tensor), alignment);
    if (current.length > 0 && alignUp(headerBytes + infoBytes, alignment) + dataBytes + tensorBytes > maxFileBytes) {
      current = [];
      groups.push(current);
      headerBytes = keyBytes(1);
      dataBytes = 0;
    }
    current.push(tensor);
    headerBytes += infoBytes;
    dataBytes += tensorBytes;
  }
  if (groups.length > MAX_SPLIT_FILES) {
    throw new QuantgateError(
      `splitting at ${maxFileBytes} bytes per file needs ${groups.length} files, more than gguf-split's ${MAX_SPLIT_FILES}; raise the maximum file size`,
    );
  }
  return groups.map((group, index) => {
    const keys = splitKeys(index, groups.length, tensors.length);
    return planGguf(index === 0 ? [...modelKeys, ...keys] : keys, group, { alignment });
  });
}

/**
 * Writes the files of `parts` as `<name>-0000k-of-0000N.gguf` into the folder `dir`, which is
 * replaced only once every file is complete. `fill` writes all tensors, in order, through the
 * writer it gets, which routes each to its file.
 */
export async function writeGgufSplit(
  dir: string,
  name: string,
  parts: readonly GgufLayout[],
  fill: (writer: GgufDataWriter) => Promise<void>,
): Promise<WrittenFile[]> {
  return writeDirAtomic(dir, async (tempDir) => {
    const opened: { file: AtomicFile; sink: HashingSink; writer: GgufWriter | undefined }[] = [];
    const startNext = async () => {
      const file = await AtomicFile.create(join(tempDir, ggufSplitFileName(name, opened.length, parts.length)));
      const part = { file, sink: new HashingSink(file), writer: undefined as GgufWriter | undefined };
      // listed before the header is written, so a failure there still removes the file
      opened.push(part);
      part.writer = await GgufWriter.begin(part.sink, parts[opened.length - 1]!);
      return part.writer;
    };
    try {
      let current = await startNext();
      await fill({
        async writeTensor(tensorName, chunks) {
          while (current.complete && opened.length < parts.length) current = await startNext();
          await current.writeTensor(tensorName, chunks);
        },
      });
      while (opened.length < parts.length) await startNext();
      const written: WrittenFile[] = [];
      for (const [index, part] of opened.entries()) {
        part.writer!.finish();
        await part.file.commit();
        written.push({
          path: join(dir, ggufSplitFileName(name, index, parts.length)),
          size: part.sink.bytesWritten,
          sha256: part.sink.digest(),
        });
      }
      return written;
    } catch (error) {
      await Promise.all(opened.map((part) => part.file.abort()));
      throw error;
    }
  });
}
