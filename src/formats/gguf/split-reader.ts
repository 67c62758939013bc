// Opens the files of a gguf-split model together, as llama.cpp's loader does: keys from the first
// file, tensors looked up across all of them. Before anything is read it checks that the set is
// whole and consistent: every numbered part present, each one's split.no / split.count matching
// its name, split.tensors.count agreeing, and every tensor held exactly once.

import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { QuantgateError } from '../../common/errors.js';
import { GgufValueType, KEY } from './constants.js';
import type { GgufTensorInfo } from './layout.js';
import { findMetadata } from './metadata.js';
import { openGguf, type GgufFile, type GgufModel } from './reader.js';
import { ggufSplitFileName } from './split.js';

export interface GgufSplitSet extends GgufModel {
  /** The parts in order; `metadata` is the first part's. */
  readonly parts: readonly GgufFile[];
}

const PART_NAME = /^(.+)-(\d{5})-of-(\d{5})\.gguf$/;

/** Whether `path` is named like a gguf-split part. */
export function isGgufSplitPath(path: string): boolean {
  return PART_NAME.test(basename(path));
}

/** Opens the whole set that the part at `path` (any of them) belongs to. */
export async function openGgufSplit(path: string): Promise<GgufSplitSet> {
  const match = PART_NAME.exec(basename(path));
  if (!match)
    throw new QuantgateError(
      `${path} is not named like a gguf-split part (<name>-00001-of-00003.gguf); point to one of the split files`,
    );
  const [, name, , countText] = match;
  const count = Number(countText);
  if (count < 1) throw new QuantgateError(`${path} names a split of 0 files; point to a real gguf-split part`);
  const parts: GgufFile[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const partPath = join(dirname(path), ggufSplitFileName(name!, index, count));
      if (!(await stat(partPath).catch(() => undefined))) {
        throw new QuantgateError(
          `${partPath} is missing (part ${index + 1} of ${count}); download every part of the split model`,
        );
      }
      parts.push(await openGguf(partPath));
      checkSplitKeys(parts[index]!, index, count);
    }
    return joinParts(parts);
  } catch (error) {
    await Promise.all(parts.map((part) => part.close()));
    throw error;
  }
}

function checkSplitKeys(part: GgufFile, index: number, count: number): void {
  const expected = [
    { key: KEY.splitNo, type: GgufValueType.UINT16, value: index },
    { key: KEY.splitCount, type: GgufValueType.UINT16, value: count },
  ];
  for (const { key, type, value } of expected) {
    const entry = findMetadata(part.metadata, key);
    if (!entry || entry.type !== type)
      throw new QuantgateError(
        `${part.path} has no ${GgufValueType[type]} key ${key}; it is not a gguf-split part — download the split model again`,
      );
    if (entry.value !== value)
      throw new QuantgateError(
        `${part.path} says ${key} = ${String(entry.value)} but its name says ${value}; the parts come from different splits — download them again`,
      );
  }
  const total = findMetadata(part.metadata, KEY.splitTensorsCount);
  if (!total || total.type !== GgufValueType.INT32)
    throw new QuantgateError(
      `${part.path} has no INT32 key ${KEY.splitTensorsCount}; it is not a gguf-split part — download the split model again`,
    );
}

function joinParts(parts: readonly GgufFile[]): GgufSplitSet {
  const owner = new Map<string, GgufFile>();
  const tensors: GgufTensorInfo[] = [];
  for (const part of parts) {
    for (const tensor of part.tensors) {
      const other = owner.get(tensor.name);
      if (other)
        throw new QuantgateError(
          `tensor ${tensor.name} is in both ${other.path} and ${part.path}; the parts come from different splits — download them again`,
        );
      owner.set(tensor.name, part);
      tensors.push(tensor);
    }
  }
  const declared = findMetadata(parts[0]!.metadata, KEY.splitTensorsCount)!.value as number;
  const disagreeing = parts.find((part) => findMetadata(part.metadata, KEY.splitTensorsCount)!.value !== declared);
  if (disagreeing)
    throw new QuantgateError(
      `${disagreeing.path} disagrees with ${parts[0]!.path} on ${KEY.splitTensorsCount}; the parts come from different splits — download them again`,
    );
  if (tensors.length !== declared) {
    throw new QuantgateError(
      `the ${parts.length} parts of ${parts[0]!.path} hold ${tensors.length} tensors but ${KEY.splitTensorsCount} says ${declared}; a part is from another split — download them again`,
    );
  }
  const partOf = (name: string) => {
    const part = owner.get(name);
    if (!part)
      throw new QuantgateError(
        `${parts[0]!.path} and its other parts have no tensor named ${name}; they hold another model — point to the right files`,
      );
    return part;
  };
  return {
    parts,
    metadata: parts[0]!.metadata,
    tensors,
    readChunks: (name, chunkBytes) => partOf(name).readChunks(name, chunkBytes),
    read: async (name) => partOf(name).read(name),
    close: async () => {
      await Promise.all(parts.map((part) => part.close()));
    },
  };
}
