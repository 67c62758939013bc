// Where the embedded demo model and its test set live: `assets/demo/` of the quantgate package,
// found from this module's own location, so the same code works from src/ (tests), lib/ (the CLI)
// and dist/ (the bundled action).

import { join } from 'node:path';
import { QuantgateError } from '../common/errors.js';
import { folderAbove } from '../common/package-folder.js';

export interface DemoPaths {
  /** The model folder: model.onnx, model.safetensors, vocab.json, config.json, preprocessor_config.json. */
  model: string;
  /** The test set's manifest. */
  testset: string;
}

let found: DemoPaths | undefined;

export function demoPaths(): DemoPaths {
  if (found) return found;
  const root = folderAbove(import.meta.url, ['package.json', join('assets', 'demo', 'quantgate-demo')]);
  if (root === undefined)
    throw new QuantgateError(
      'the embedded demo model (assets/demo/) is missing from this installation; reinstall quantgate or pass --model-id/--model-path',
    );
  found = {
    model: join(root, 'assets', 'demo', 'quantgate-demo'),
    testset: join(root, 'assets', 'demo', 'testset', 'manifest.jsonl'),
  };
  return found;
}
