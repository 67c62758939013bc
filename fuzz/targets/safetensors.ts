// safetensors weights: the header and tensor table (openSafetensors), then every tensor's bytes.
import { openSafetensors } from '../../src/formats/safetensors.js';
import { safetensorsSeeds } from '../corpus.js';
import type { FuzzTarget } from '../target.js';

export const safetensors: FuzzTarget = {
  name: 'safetensors',
  summary: 'safetensors header, tensor table and data (openSafetensors, chunks)',
  structure: 'binary-head',
  seeds: safetensorsSeeds,
  async parse(input, scratch) {
    const reader = await openSafetensors(await scratch.file('model.safetensors', input));
    try {
      for (const tensor of reader.tensors) {
        if (!['F32', 'F16', 'BF16', 'F64'].includes(tensor.dtype)) continue;
        for await (const _chunk of reader.chunks(tensor, { maxBytes: 1 << 16 })) break;
      }
    } finally {
      await reader.close();
    }
  },
};
