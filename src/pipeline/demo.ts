// Where the embedded demo model and its test set live: `assets/demo/` of the quantgate package,
// found from this module's own location, so the same code works from src/ (tests), lib/ (the CLI)
// and dist/ (the bundled action).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuantgateError } from '../common/errors.js';

export interface DemoPaths {
  /** The model folder: model.onnx, model.safetensors, vocab.json, config.json, preprocessor_config.json. */
  model: string;
  /** The test set's manifest. */
  testset: string;
}

let found: DemoPaths | undefined;

export function demoPaths(): DemoPaths {
  if (found) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const model = join(dir, 'assets', 'demo', 'model');
    if (existsSync(join(dir, 'package.json')) && existsSync(model)) {
      found = { model, testset: join(dir, 'assets', 'demo', 'testset', 'manifest.jsonl') };
      return found;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new QuantgateError('the embedded demo model (assets/demo/) is missing from this installation; reinstall quantgate or pass --model-id/--model-path');
    dir = parent;
  }
}
