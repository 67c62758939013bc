// ONNX model files in and out: decode a `model.onnx` into editable messages (tensor data stays a
// view of the file's bytes), encode it back, and read or write it on disk. Malformed files and
// tensors kept in external data files are refused with one-line errors naming the file.

import { readFile } from 'node:fs/promises';
import { writeAtomic } from '../../common/atomic.js';
import { QuantgateError, describeError } from '../../common/errors.js';
import { allTensors } from './graph.js';
import { decodeMessage, encodeMessage } from '../../protobuf/message.js';
import { DATA_LOCATION_EXTERNAL, ModelSchema, type ModelProto } from './proto.js';
import { MalformedProtoError, ProtoReader } from '../../protobuf/wire.js';

/** Decodes an ONNX model; `source` names the bytes in errors (usually the file path). */
export function decodeModel(bytes: Uint8Array, source = 'model.onnx'): ModelProto {
  let model: ModelProto;
  try {
    model = decodeMessage(ModelSchema, new ProtoReader(bytes));
  } catch (error) {
    if (!(error instanceof MalformedProtoError)) throw error;
    throw new QuantgateError(
      `${source}: not a valid ONNX model (${error.message}); the file is truncated or not ONNX — export or download it again`,
      { cause: error },
    );
  }
  const missing = [
    model.irVersion === undefined && 'IR version',
    model.opsetImport.length === 0 && 'opset import',
    !model.graph && 'graph',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new QuantgateError(
      `${source}: not an ONNX model (it has no ${missing.join(', no ')}); pass a model.onnx exported by an ONNX exporter`,
    );
  }
  refuseExternalData(model, source);
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return encodeMessage(ModelSchema, model).finish();
}

export async function readModel(path: string): Promise<ModelProto> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new QuantgateError(`cannot read ONNX model ${path} (${describeError(error)}); check the path`, {
      cause: error,
    });
  }
  return decodeModel(bytes, path);
}

/** Writes `model` to `path` atomically, without first joining it into one buffer. */
export async function writeModel(path: string, model: ModelProto): Promise<void> {
  const encoded = encodeMessage(ModelSchema, model);
  await writeAtomic(path, async (file) => {
    for (const part of encoded.parts()) await file.write(part);
  });
}

function refuseExternalData(model: ModelProto, source: string): void {
  for (const tensor of allTensors(model.graph!)) {
    if (tensor.externalData.length === 0 && tensor.dataLocation !== DATA_LOCATION_EXTERNAL) continue;
    const location = tensor.externalData.find((entry) => entry.key === 'location')?.value;
    throw new QuantgateError(
      `${source}: tensor "${tensor.name ?? ''}" keeps its data in an external file${location ? ` (${location})` : ''}, which quantgate does not read; save the model with every tensor inside the .onnx file (onnx.save_model(model, path, save_as_external_data=False); that needs a model under 2 GB)`,
    );
  }
}
