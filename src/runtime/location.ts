// Which onnxruntime-node is in use and where its native files lie. Outside the bundled action it is
// the package Node resolves from here; the bundled action installs its own copy outside any
// node_modules (load.ts) and hands this object on to whoever equips it (the CUDA provider install).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface OnnxruntimeLocation {
  version: string;
  /** Holds the binding and libonnxruntime.so.1; onnxruntime loads provider libraries from here. */
  binDir: string;
}

/** The onnxruntime-node whose package.json is at `packageJson`, for this platform. */
export function onnxruntimeAt(packageJson: string): OnnxruntimeLocation {
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return { version, binDir: join(dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch) };
}

/** The onnxruntime-node Node resolves from quantgate's own folder. */
export function resolvedOnnxruntime(): OnnxruntimeLocation {
  return onnxruntimeAt(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
}
