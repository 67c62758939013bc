// GGUF metadata as the writer takes it and the reader returns it: an ordered list of keys, each
// with its explicit GGUF value type, so a file read and written again keeps every type and order.
// 64-bit integers are bigints (they exceed 2^53); every other number is a JS number.

import { GgufValueType } from './constants.js';

export type GgufNumberType =
  | GgufValueType.UINT8
  | GgufValueType.INT8
  | GgufValueType.UINT16
  | GgufValueType.INT16
  | GgufValueType.UINT32
  | GgufValueType.INT32
  | GgufValueType.FLOAT32
  | GgufValueType.FLOAT64;
export type GgufBigintType = GgufValueType.UINT64 | GgufValueType.INT64;
export type GgufScalarType = GgufNumberType | GgufBigintType | GgufValueType.BOOL | GgufValueType.STRING;

export type GgufScalar =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigintType; value: bigint }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.STRING; value: string };

/** ggml reads arrays of scalars only: an array of arrays is refused. */
export type GgufArray =
  | { type: GgufValueType.ARRAY; itemType: GgufNumberType; value: number[] }
  | { type: GgufValueType.ARRAY; itemType: GgufBigintType; value: bigint[] }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.BOOL; value: boolean[] }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.STRING; value: string[] };

export type GgufValue = GgufScalar | GgufArray;
export type GgufMetadataEntry = { key: string } & GgufValue;

/** Bytes one value of a fixed-size type takes; strings have none. */
export const SCALAR_BYTES: Readonly<Record<Exclude<GgufScalarType, GgufValueType.STRING>, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

export function isScalarType(type: number): type is GgufScalarType {
  return type === GgufValueType.STRING || type in SCALAR_BYTES;
}

export function findMetadata(metadata: readonly GgufMetadataEntry[], key: string): GgufMetadataEntry | undefined {
  return metadata.find((entry) => entry.key === key);
}
