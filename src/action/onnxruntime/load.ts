// Makes onnxruntime-node available to the engines before the pipeline runs. An onnxruntime-node
// that Node can resolve from the action's own folder (a checkout after `npm ci`) is used as it is;
// otherwise the version package-lock.json pins is installed into the runner's tool cache (see
// install.ts) and loaded from there. Either way the loaded package is bound to the stand-in that
// the bundle uses in place of `onnxruntime-node`.

import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type * as Onnxruntime from 'onnxruntime-node';
import { QuantgateError, describeError } from '../../common/errors.js';
import { folderAbove } from '../../common/package-folder.js';
import { ONNXRUNTIME_DIR_ENV } from '../../engines/cuda-install.js';
import type { Progress } from '../../common/progress.js';
import { DEFAULT_NPM_REGISTRY, NPM_REGISTRY_ENV, ONNXRUNTIME_PACKAGES, installOnnxruntime, readLockedPackages } from './install.js';
import { bindOnnxruntime } from './stand-in.js';

export type OnnxruntimeSource = 'beside the action' | 'tool cache' | 'download';

export async function loadOnnxruntime(options: { env: NodeJS.ProcessEnv; progress: Progress }): Promise<OnnxruntimeSource> {
  const { env, progress } = options;
  const here = createRequire(import.meta.url);
  if (resolves(here, 'onnxruntime-node')) {
    bindOnnxruntime(here('onnxruntime-node') as typeof Onnxruntime);
    progress.info(`onnxruntime-node: the package installed beside the action, ${dirname(here.resolve('onnxruntime-node/package.json'))}`);
    return 'beside the action';
  }
  const packages = await readLockedPackages(join(actionRoot(), 'package-lock.json'), ONNXRUNTIME_PACKAGES);
  const install = await installOnnxruntime({
    packages,
    registryUrl: env[NPM_REGISTRY_ENV] || DEFAULT_NPM_REGISTRY,
    cacheRoot: env.RUNNER_TOOL_CACHE || tmpdir(),
    progress,
  });
  const version = packages[0]!.version;
  progress.info(`onnxruntime-node ${version} for ${process.platform}-${process.arch}: ${install.source === 'cache' ? 'found in' : 'installed into'} ${install.dir}`);
  let module: typeof Onnxruntime;
  try {
    module = createRequire(join(install.dir, 'index.js'))('onnxruntime-node') as typeof Onnxruntime;
  } catch (error) {
    throw new QuantgateError(`onnxruntime-node ${version} in ${install.dir} does not load (${describeError(error).split('\n')[0]}); delete that folder so the next run installs it again`, { cause: error });
  }
  bindOnnxruntime(module);
  // The CUDA provider install (engines/cuda-install.ts) must find this copy, which Node cannot resolve.
  env[ONNXRUNTIME_DIR_ENV] = dirname(createRequire(join(install.dir, 'index.js')).resolve('onnxruntime-node/package.json'));
  return install.source === 'cache' ? 'tool cache' : 'download';
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
  if (root === undefined) throw new QuantgateError('package-lock.json is missing from the action\'s folder, so the onnxruntime-node to install is unknown; use the action from a checkout of its repository');
  return root;
}
