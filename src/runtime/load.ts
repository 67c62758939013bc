// Makes onnxruntime-node available to the engines before the pipeline runs. An onnxruntime-node
// that Node can resolve from the action's own folder (a checkout after `npm ci`) is used as it is;
// otherwise the version package-lock.json pins is installed into the runner's tool cache (see
// install.ts) and loaded from there. Either way the loaded package is bound to the stand-in that
// the bundle uses in place of `onnxruntime-node`, and its location is returned for the CUDA
// provider install, since Node cannot resolve a copy in the tool cache.

import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type * as Onnxruntime from 'onnxruntime-node';
import { QuantgateError, describeError } from '../common/errors.js';
import { folderAbove } from '../common/package-folder.js';
import type { Progress } from '../common/progress.js';
import {
  DEFAULT_NPM_REGISTRY,
  NPM_REGISTRY_ENV,
  ONNXRUNTIME_PACKAGES,
  installOnnxruntime,
  readLockedPackages,
} from './install.js';
import { onnxruntimeAt, type OnnxruntimeLocation } from './location.js';
import { bindOnnxruntime } from './stand-in.js';

export type OnnxruntimeSource = 'beside the action' | 'tool cache' | 'download';

export interface LoadedOnnxruntime {
  source: OnnxruntimeSource;
  location: OnnxruntimeLocation;
}

export async function loadOnnxruntime(options: {
  env: NodeJS.ProcessEnv;
  progress: Progress;
}): Promise<LoadedOnnxruntime> {
  const { env, progress } = options;
  const here = createRequire(import.meta.url);
  if (resolves(here, 'onnxruntime-node')) {
    bindOnnxruntime(here('onnxruntime-node') as typeof Onnxruntime);
    progress.info(
      `onnxruntime-node: the package installed beside the action, ${dirname(here.resolve('onnxruntime-node/package.json'))}`,
    );
    return { source: 'beside the action', location: onnxruntimeAt(here.resolve('onnxruntime-node/package.json')) };
  }
  const packages = await readLockedPackages(join(actionRoot(), 'package-lock.json'), ONNXRUNTIME_PACKAGES);
  const install = await installOnnxruntime({
    packages,
    registryUrl: env[NPM_REGISTRY_ENV] || DEFAULT_NPM_REGISTRY,
    cacheRoot: env.RUNNER_TOOL_CACHE || tmpdir(),
    progress,
  });
  const version = packages[0]!.version;
  progress.info(
    `onnxruntime-node ${version} for ${process.platform}-${process.arch}: ${install.source === 'cache' ? 'found in' : 'installed into'} ${install.dir}`,
  );
  const there = createRequire(join(install.dir, 'index.js'));
  let module: typeof Onnxruntime;
  try {
    module = there('onnxruntime-node') as typeof Onnxruntime;
  } catch (error) {
    throw new QuantgateError(
      `onnxruntime-node ${version} in ${install.dir} does not load (${describeError(error).split('\n')[0]}); delete that folder so the next run installs it again`,
      { cause: error },
    );
  }
  bindOnnxruntime(module);
  return {
    source: install.source === 'cache' ? 'tool cache' : 'download',
    location: onnxruntimeAt(there.resolve('onnxruntime-node/package.json')),
  };
}

function resolves(require: NodeJS.Require, name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The folder of the action's package.json and package-lock.json, above this module (src/ or dist/). */
function actionRoot(): string {
  const root = folderAbove(import.meta.url, ['package-lock.json']);
  if (root === undefined)
    throw new QuantgateError(
      "package-lock.json is missing from the action's folder, so the onnxruntime-node to install is unknown; use the action from a checkout of its repository",
    );
  return root;
}
