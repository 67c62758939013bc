// The candidate graph of an onnx-ctc model: model.onnx with every weight the GGUF quantized read
// from the GGUF instead. Exporters rename and transpose weights, so initializers are matched to
// GGUF tensors by content through the float originals in the model's safetensors, which are
// opened only if some GGUF tensor has no initializer of its name (and shared with the reference that
// captures activations, which finds its weights the same way).

import { QuantgateError } from '../../common/errors.js';
import { silentProgress, type Progress } from '../../common/progress.js';
import { openSafetensors, type SafetensorsReader } from '../../formats/safetensors.js';
import { decodeSource, type SourceType } from '../../quant/codec.js';
import type { QuantizedModel } from '../engine.js';
import { buildCandidate, type CandidateCoverage, type SubstitutionMode } from '../onnx/candidate.js';
import type { OriginalValues } from '../onnx/weight-match.js';
import { encodeModel, readModel } from '../onnx/model.js';

export interface CandidateModel {
  /** The encoded ONNX model, ready for an inference session. */
  bytes: Uint8Array;
  coverage: CandidateCoverage;
}

export interface CandidateModelOptions {
  mode: SubstitutionMode;
  progress?: Progress;
}

/** Builds the candidate from `modelPath`, `quantized` and the safetensors weights in `weightsDir`. */
export async function buildCandidateModel(
  modelPath: string,
  weightsDir: string,
  quantized: QuantizedModel,
  options: CandidateModelOptions,
): Promise<CandidateModel> {
  const model = await readModel(modelPath);
  const tensors = await quantized.open();
  const original = originalWeights(weightsDir);
  try {
    const candidate = await buildCandidate(model, tensors, {
      mode: options.mode,
      original: original.values,
      progress: options.progress ?? silentProgress,
    });
    return { bytes: encodeModel(candidate.model), coverage: candidate.coverage };
  } finally {
    await tensors.close();
    await original.close();
  }
}

/** The float originals of GGUF tensors from the safetensors in `weightsDir`, opened on the first read. */
export function originalWeights(weightsDir: string): { values: OriginalValues; close(): Promise<void> } {
  let weights: Promise<SafetensorsReader> | undefined;
  return {
    async values(name) {
      weights ??= openSafetensors(weightsDir);
      const reader = await weights;
      const tensor = reader.tensor(name);
      if (!tensor)
        throw new QuantgateError(
          `GGUF tensor "${name}" is not in ${reader.source}, so the GGUF was not quantized from these weights; quantize this model folder again`,
        );
      return decodeSource(tensor.dtype as SourceType, await reader.readRange(tensor, 0, tensor.elementCount));
    },
    close: async () => (await weights?.catch(() => undefined))?.close(),
  };
}
