// Reads every tensor of an opened GGUF model in small chunks, as verify does, then closes it.
import type { GgufModel } from '../../src/formats/gguf/reader.js';

export async function readEveryTensor(model: GgufModel): Promise<void> {
  try {
    for (const tensor of model.tensors) {
      for await (const _chunk of model.readChunks(tensor.name, 4096)) continue;
    }
  } finally {
    await model.close();
  }
}
