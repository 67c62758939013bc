// config.json beside the weights: read by quantize (its dry run), turned into GGUF metadata as
// quantize does next, and read by the Kyutai engine's loader.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { planGguf } from '../../src/formats/gguf/layout.js';
import { readKyutaiConfig } from '../../src/engines/kyutai-stt/config.js';
import { buildGgufMetadata } from '../../src/pipeline/gguf-metadata.js';
import { quantizeModel } from '../../src/pipeline/quantize.js';
import { configSeeds, safetensorsSeeds } from '../corpus.js';
import { parseAll, type FuzzTarget } from '../target.js';

let weights: Uint8Array | undefined;

export const config: FuzzTarget = {
  name: 'config',
  summary: 'config.json (quantizeModel dry run, buildGgufMetadata + planGguf, readKyutaiConfig)',
  structure: 'json',
  seeds: async () => configSeeds(),
  async parse(input, scratch) {
    weights ??= (await safetensorsSeeds())[0]!;
    const model = await scratch.file('model.safetensors', weights);
    const dir = dirname(model);
    await writeFile(join(dir, 'config.json'), input);
    await parseAll([
      () => quantizeModel({ model: dir, type: 'q4_0', outDir: join(dir, 'out'), dryRun: true }),
      // What quantize does with the config once the plan is made (see quantizeModel).
      async () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
        } catch {
          return; // refused by quantize's own read above
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
        planGguf(
          buildGgufMetadata({
            architecture: 'fuzz',
            name: 'model',
            fileType: 2,
            config: parsed as Record<string, unknown>,
          }),
          [{ name: 'w', type: 'Q4_0', ne: [32, 2] }],
        );
      },
      () => readKyutaiConfig(dir),
    ]);
  },
};
