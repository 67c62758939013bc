// Which device the engines run on. `auto` takes CUDA when an NVIDIA GPU is visible and
// onnxruntime-node's CUDA provider loads (its libraries are installed at first use), and CPU
// otherwise, saying why in one line; `cuda` that cannot be had is an error naming the cause.
// The probes are injectable, so the decision is tested without a GPU.

import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { QuantgateError, describeError, isQuantgateError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import type { DeviceChoice } from './catalogue.js';
import type { Device } from './engine.js';
import { ModelBuilder } from './onnx/builder.js';
import { encodeModel } from './onnx/model.js';
import type { OnnxruntimeLocation } from '../runtime/location.js';
import { sessionOptions } from '../runtime/session-options.js';

export interface DeviceProbes {
  /** A description of the NVIDIA GPU, or undefined when none is visible. */
  findNvidiaGpu(): Promise<string | undefined>;
  /** Makes onnxruntime's CUDA provider load; throws a QuantgateError saying why it cannot. */
  prepareCuda(): Promise<void>;
}

export interface GpuLookup {
  /** The NVIDIA kernel driver's version file. */
  versionFile?: string;
  /** Lists the GPUs, one per line. */
  listCommand?: readonly [string, ...string[]];
}

const NVIDIA_VERSION_FILE = '/proc/driver/nvidia/version';
const NVIDIA_LIST_COMMAND = ['nvidia-smi', '-L'] as const;
const LIST_TIMEOUT_MS = 15_000;

export interface ResolveDeviceOptions {
  env: NodeJS.ProcessEnv;
  /** Hears the one line saying which device and why, and the progress of a CUDA library download. */
  progress?: Progress;
  /**
   * False for an engine that brings its own runtime (the command engine): a visible GPU is then
   * enough, and onnxruntime's CUDA provider is not installed. Default true.
   */
  onnxruntime?: boolean;
  /** The onnxruntime-node to equip with the CUDA provider; the one Node resolves unless given (the action passes the copy it installed). */
  location?: OnnxruntimeLocation;
  /** This machine's probes unless given. */
  probes?: DeviceProbes;
}

/** Resolves `--device` to the device the engines open on. */
export async function resolveDevice(choice: DeviceChoice, options: ResolveDeviceOptions): Promise<Device> {
  if (choice === 'cpu') return 'cpu';
  const progress = options.progress ?? silentProgress;
  const probes =
    options.probes ??
    systemDeviceProbes({ env: options.env, progress, ...(options.location && { location: options.location }) });
  const gpu = await probes.findNvidiaGpu();
  if (gpu === undefined) {
    const reason = `no NVIDIA GPU is visible (${NVIDIA_LIST_COMMAND.join(' ')} lists none, and there is no ${NVIDIA_VERSION_FILE})`;
    if (choice === 'cuda')
      throw new QuantgateError(
        `--device cuda: ${reason}; run on a machine with an NVIDIA GPU and its driver, or use --device auto or cpu`,
      );
    progress.info(`device: CPU, since ${reason}`);
    return 'cpu';
  }
  if (options.onnxruntime ?? true) {
    try {
      await probes.prepareCuda();
    } catch (error) {
      if (!isQuantgateError(error)) throw error;
      if (choice === 'cuda') throw new QuantgateError(`--device cuda: ${error.message}`, { cause: error });
      progress.info(`device: CPU, since CUDA is unavailable: ${error.message}`);
      return 'cpu';
    }
  }
  progress.info(`device: CUDA (${gpu})`);
  return 'cuda';
}

/** The probes of this machine; the CUDA libraries come from $QUANTGATE_NUGET_URL (nuget.org by default). */
function systemDeviceProbes(options: {
  env: NodeJS.ProcessEnv;
  progress: Progress;
  location?: OnnxruntimeLocation;
}): DeviceProbes {
  return {
    findNvidiaGpu: () => findNvidiaGpu(),
    async prepareCuda() {
      if (process.platform !== 'linux' || process.arch !== 'x64') {
        throw new QuantgateError(
          `onnxruntime-node has a CUDA provider only for linux x64, not ${process.platform} ${process.arch}; use --device cpu`,
        );
      }
      // Loaded only here: the NuGet client and the zip reader are not needed on a CPU machine.
      const { cudaInstallSettings, installCudaProvider } = await import('../runtime/cuda-install.js');
      await installCudaProvider({
        ...cudaInstallSettings(options.env),
        progress: options.progress,
        ...(options.location && { runtime: options.location }),
      });
      await checkCudaSession();
    },
  };
}

/** The first GPU `nvidia-smi -L` lists, else the driver's version line, else undefined. */
export async function findNvidiaGpu(lookup: GpuLookup = {}): Promise<string | undefined> {
  const [command, ...args] = lookup.listCommand ?? NVIDIA_LIST_COMMAND;
  try {
    // Starting a process that cannot exist costs more than looking for it (most CPU machines have no nvidia-smi).
    if (!(await onPath(command))) throw new Error(`${command} is not on the PATH`);
    const { stdout } = await promisify(execFile)(command, args, { timeout: LIST_TIMEOUT_MS });
    const gpu = stdout
      .split('\n')
      .find((line) => line.startsWith('GPU '))
      ?.trim();
    if (gpu) return gpu;
  } catch {
    // No nvidia-smi on the PATH: the driver may still be loaded.
  }
  try {
    const line = (await readFile(lookup.versionFile ?? NVIDIA_VERSION_FILE, 'utf8')).split('\n')[0]?.trim();
    return line ? `NVIDIA driver ${line.replace(/\s+/g, ' ')}` : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `command` names a file (with a slash) or an executable in a PATH folder. */
async function onPath(command: string): Promise<boolean> {
  if (command.includes('/')) return true;
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    try {
      await access(join(folder, command), constants.X_OK);
      return true;
    } catch {
      // Not in this folder.
    }
  }
  return false;
}

/** Opens a one-node model on CUDA: loading the provider needs the CUDA and cuDNN libraries it was built for on the library path. */
async function checkCudaSession(): Promise<void> {
  const model = new ModelBuilder()
    .input('x', 'float32', [1])
    .node('Identity', ['x'], ['y'])
    .output('y', 'float32', [1])
    .build();
  // Loaded here: a CPU run whose results are all reused never loads onnxruntime.
  const { InferenceSession } = await import('onnxruntime-node');
  let session: Awaited<ReturnType<typeof InferenceSession.create>>;
  try {
    session = await InferenceSession.create(encodeModel(model), {
      ...sessionOptions('cuda'),
      executionProviders: ['cuda'],
    });
  } catch (error) {
    throw new QuantgateError(
      `onnxruntime's CUDA provider does not load (${describeError(error).split('\n')[0]}); put the CUDA runtime, cuBLAS and cuDNN 9 libraries it was built for (CUDA 12: libcudart.so.12, libcublas.so.12, libcudnn.so.9) on the library path, or use --device cpu`,
      { cause: error },
    );
  }
  await session.release();
}
