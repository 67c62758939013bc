// The ONNX messages quantgate reads and edits, with their field numbers from onnx/onnx.proto.
// Fields not listed here (training info, functions, sparse tensors, segments, string/double data…)
// are kept verbatim in `unknownFields`, so a decoded model re-encodes to the same model.

import { defineSchema, type Message, type MessageSchema } from '../../protobuf/message.js';

/** TensorProto.DataType. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

/** Element types by the names onnxruntime's JavaScript API uses. */
export const ELEMENT_TYPES = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  float64: DataType.DOUBLE,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
} as const;
export type ElementType = keyof typeof ELEMENT_TYPES;

/** AttributeProto.AttributeType. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;

/** TensorProto.DataLocation: the tensor's bytes live in a file beside the model. */
export const DATA_LOCATION_EXTERNAL = 1;

export interface ModelProto extends Message {
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: bigint;
  docString?: string;
  graph?: GraphProto;
  opsetImport: OperatorSetIdProto[];
  metadataProps: StringStringEntryProto[];
}

export interface OperatorSetIdProto extends Message {
  /** Absent or empty for the default ONNX domain. */
  domain?: string;
  version?: number;
}

export interface StringStringEntryProto extends Message {
  key?: string;
  value?: string;
}

export interface GraphProto extends Message {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  docString?: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
}

export interface NodeProto extends Message {
  /** Empty strings stand for omitted optional inputs. */
  input: string[];
  output: string[];
  name?: string;
  opType?: string;
  attribute: AttributeProto[];
  docString?: string;
  domain?: string;
}

export interface AttributeProto extends Message {
  name?: string;
  f?: number;
  i?: bigint;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats: number[];
  ints: bigint[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
  docString?: string;
  type?: number;
  refAttrName?: string;
}

export interface TensorProto extends Message {
  dims: number[];
  dataType?: number;
  floatData: number[];
  int32Data: number[];
  int64Data: bigint[];
  name?: string;
  /** Little-endian element bytes; a view into the decoded file. */
  rawData?: Uint8Array;
  externalData: StringStringEntryProto[];
  dataLocation?: number;
}

export interface ValueInfoProto extends Message {
  name?: string;
  type?: TypeProto;
  docString?: string;
}

export interface TypeProto extends Message {
  tensorType?: TensorTypeProto;
  denotation?: string;
}

export interface TensorTypeProto extends Message {
  elemType?: number;
  shape?: TensorShapeProto;
}

export interface TensorShapeProto extends Message {
  dim: DimensionProto[];
}

export interface DimensionProto extends Message {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export const ModelSchema: MessageSchema<ModelProto> = defineSchema<ModelProto>('ModelProto', [
  { number: 1, key: 'irVersion', kind: 'int64-number' },
  { number: 2, key: 'producerName', kind: 'string' },
  { number: 3, key: 'producerVersion', kind: 'string' },
  { number: 4, key: 'domain', kind: 'string' },
  { number: 5, key: 'modelVersion', kind: 'int64' },
  { number: 6, key: 'docString', kind: 'string' },
  { number: 7, key: 'graph', kind: () => GraphSchema },
  { number: 8, key: 'opsetImport', kind: () => OperatorSetIdSchema, repeated: true },
  { number: 14, key: 'metadataProps', kind: () => StringStringEntrySchema, repeated: true },
]);

const OperatorSetIdSchema = defineSchema<OperatorSetIdProto>('OperatorSetIdProto', [
  { number: 1, key: 'domain', kind: 'string' },
  { number: 2, key: 'version', kind: 'int64-number' },
]);

const StringStringEntrySchema = defineSchema<StringStringEntryProto>('StringStringEntryProto', [
  { number: 1, key: 'key', kind: 'string' },
  { number: 2, key: 'value', kind: 'string' },
]);

const GraphSchema: MessageSchema<GraphProto> = defineSchema<GraphProto>('GraphProto', [
  { number: 1, key: 'node', kind: () => NodeSchema, repeated: true },
  { number: 2, key: 'name', kind: 'string' },
  { number: 5, key: 'initializer', kind: () => TensorSchema, repeated: true },
  { number: 10, key: 'docString', kind: 'string' },
  { number: 11, key: 'input', kind: () => ValueInfoSchema, repeated: true },
  { number: 12, key: 'output', kind: () => ValueInfoSchema, repeated: true },
  { number: 13, key: 'valueInfo', kind: () => ValueInfoSchema, repeated: true },
]);

const NodeSchema: MessageSchema<NodeProto> = defineSchema<NodeProto>('NodeProto', [
  { number: 1, key: 'input', kind: 'string', repeated: true },
  { number: 2, key: 'output', kind: 'string', repeated: true },
  { number: 3, key: 'name', kind: 'string' },
  { number: 4, key: 'opType', kind: 'string' },
  { number: 5, key: 'attribute', kind: () => AttributeSchema, repeated: true },
  { number: 6, key: 'docString', kind: 'string' },
  { number: 7, key: 'domain', kind: 'string' },
]);

const AttributeSchema: MessageSchema<AttributeProto> = defineSchema<AttributeProto>('AttributeProto', [
  { number: 1, key: 'name', kind: 'string' },
  { number: 2, key: 'f', kind: 'float' },
  { number: 3, key: 'i', kind: 'int64' },
  { number: 4, key: 's', kind: 'bytes' },
  { number: 5, key: 't', kind: () => TensorSchema },
  { number: 6, key: 'g', kind: () => GraphSchema },
  { number: 7, key: 'floats', kind: 'float', repeated: true },
  { number: 8, key: 'ints', kind: 'int64', repeated: true },
  { number: 9, key: 'strings', kind: 'bytes', repeated: true },
  { number: 10, key: 'tensors', kind: () => TensorSchema, repeated: true },
  { number: 11, key: 'graphs', kind: () => GraphSchema, repeated: true },
  { number: 13, key: 'docString', kind: 'string' },
  { number: 20, key: 'type', kind: 'int32' },
  { number: 21, key: 'refAttrName', kind: 'string' },
]);

const TensorSchema: MessageSchema<TensorProto> = defineSchema<TensorProto>('TensorProto', [
  { number: 1, key: 'dims', kind: 'int64-number', repeated: true },
  { number: 2, key: 'dataType', kind: 'int32' },
  { number: 4, key: 'floatData', kind: 'float', repeated: true, packed: true },
  { number: 5, key: 'int32Data', kind: 'int32', repeated: true, packed: true },
  { number: 7, key: 'int64Data', kind: 'int64', repeated: true, packed: true },
  { number: 8, key: 'name', kind: 'string' },
  { number: 9, key: 'rawData', kind: 'bytes' },
  { number: 13, key: 'externalData', kind: () => StringStringEntrySchema, repeated: true },
  { number: 14, key: 'dataLocation', kind: 'int32' },
]);

const ValueInfoSchema: MessageSchema<ValueInfoProto> = defineSchema<ValueInfoProto>('ValueInfoProto', [
  { number: 1, key: 'name', kind: 'string' },
  { number: 2, key: 'type', kind: () => TypeSchema },
  { number: 3, key: 'docString', kind: 'string' },
]);

const TypeSchema: MessageSchema<TypeProto> = defineSchema<TypeProto>('TypeProto', [
  { number: 1, key: 'tensorType', kind: () => TensorTypeSchema },
  { number: 6, key: 'denotation', kind: 'string' },
]);

const TensorTypeSchema: MessageSchema<TensorTypeProto> = defineSchema<TensorTypeProto>('TypeProto.Tensor', [
  { number: 1, key: 'elemType', kind: 'int32' },
  { number: 2, key: 'shape', kind: () => TensorShapeSchema },
]);

const TensorShapeSchema: MessageSchema<TensorShapeProto> = defineSchema<TensorShapeProto>('TensorShapeProto', [
  { number: 1, key: 'dim', kind: () => DimensionSchema, repeated: true },
]);

const DimensionSchema: MessageSchema<DimensionProto> = defineSchema<DimensionProto>('TensorShapeProto.Dimension', [
  { number: 1, key: 'dimValue', kind: 'int64-number' },
  { number: 2, key: 'dimParam', kind: 'string' },
  { number: 3, key: 'denotation', kind: 'string' },
]);
