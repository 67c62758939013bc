// onnxruntime's CUDA provider for onnxruntime-node, fetched at first use. The npm package ships CPU
// binaries only (quantgate installs with ONNXRUNTIME_NODE_INSTALL=skip, which skips the postinstall that would download more); the provider
// libraries come from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux of the same version,
// the package that postinstall takes them from. They are extracted once into a cache folder, then
// copied next to libonnxruntime.so.1 in onnxruntime-node's bin folder, where onnxruntime loads
// providers from. CUDA itself (runtime, cuBLAS, cuDNN) is the machine's: see docs/ENGINES.md.

import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeAtomic, writeDirAtomic } from '../common/atomic.js';
import { QuantgateError, describeError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import type { RetryPolicy } from '../net/retry.js';
import { resolvedOnnxruntime, type OnnxruntimeLocation } from './location.js';
import { NUGET_ORG_INDEX, downloadPackage, locatePackage, type FeedOptions } from './nuget-feed.js';
import { openZip, type ZipArchive } from './zip.js';

export const GPU_PACKAGE_ID = 'Microsoft.ML.OnnxRuntime.Gpu.Linux';
/** The two libraries onnxruntime loads for the CUDA provider (TensorRT's, also in the package, is not needed). */
export const CUDA_PROVIDER_LIBRARIES = [
  'libonnxruntime_providers_shared.so',
  'libonnxruntime_providers_cuda.so',
] as const;
const PACKAGE_LIBRARY_DIR = 'runtimes/linux-x64/native';
/** Names the NuGet v3 service index to fetch the package from instead of nuget.org. */
const NUGET_URL_ENV = 'QUANTGATE_NUGET_URL';

export interface CudaInstallOptions {
  /** NuGet v3 service index. */
  feedUrl: string;
  /** Holds one verified folder of libraries per onnxruntime version. */
  cacheDir: string;
  /** The onnxruntime-node to equip; the one Node resolves from here unless given. */
  runtime?: OnnxruntimeLocation;
  progress?: Progress;
  retry?: RetryPolicy;
}

/** Where the libraries came from: already beside onnxruntime, the cache, or a download. */
export type CudaInstallSource = 'present' | 'cache' | 'download';

export interface CudaInstall {
  source: CudaInstallSource;
  binDir: string;
}

/** The feed and cache folder taken from the environment: $QUANTGATE_NUGET_URL and $XDG_CACHE_HOME. */
export function cudaInstallSettings(env: NodeJS.ProcessEnv): Pick<CudaInstallOptions, 'feedUrl' | 'cacheDir'> {
  return {
    feedUrl: env[NUGET_URL_ENV] || NUGET_ORG_INDEX,
    cacheDir: join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'quantgate', 'onnxruntime-cuda'),
  };
}

/** Makes the CUDA provider libraries available to onnxruntime-node, downloading them only when neither it nor the cache has them. */
export async function installCudaProvider(options: CudaInstallOptions): Promise<CudaInstall> {
  const runtime = options.runtime ?? resolvedOnnxruntime();
  if (await hasLibraries(runtime.binDir)) return { source: 'present', binDir: runtime.binDir };
  const cached = join(options.cacheDir, runtime.version);
  const source: CudaInstallSource = (await hasLibraries(cached)) ? 'cache' : 'download';
  if (source === 'download') await writeDirAtomic(cached, (dir) => fetchLibraries(runtime.version, dir, options));
  await placeLibraries(cached, runtime.binDir);
  (options.progress ?? silentProgress).info(
    `CUDA provider of onnxruntime ${runtime.version} installed into ${runtime.binDir}${source === 'cache' ? ` from ${cached}` : ''}`,
  );
  return { source, binDir: runtime.binDir };
}

async function fetchLibraries(version: string, dir: string, options: CudaInstallOptions): Promise<void> {
  const progress = options.progress ?? silentProgress;
  const feed: FeedOptions = {
    progress,
    ...(options.retry && { retry: options.retry }),
    fix: `check the network, or set ${NUGET_URL_ENV} to a NuGet v3 feed that mirrors nuget.org, or use --device cpu`,
  };
  const location = await locatePackage(options.feedUrl, { id: GPU_PACKAGE_ID, version }, feed);
  if (location.sha512 === undefined)
    progress.info(
      `${options.feedUrl} publishes no SHA-512 for ${GPU_PACKAGE_ID} ${version}; only the download's size is checked`,
    );
  const nupkg = join(dir, `${GPU_PACKAGE_ID}.${version}.nupkg`.toLowerCase());
  await downloadPackage(location, nupkg, feed);
  const archive = await openZip(nupkg);
  try {
    for (const library of CUDA_PROVIDER_LIBRARIES) await extract(archive, library, join(dir, library), progress);
  } finally {
    await archive.close();
  }
  // The package is several hundred MB and its two libraries are all that is used.
  await rm(nupkg);
}

async function extract(archive: ZipArchive, library: string, destination: string, progress: Progress): Promise<void> {
  const entry = archive.entry(`${PACKAGE_LIBRARY_DIR}/${library}`);
  if (!entry) {
    throw new QuantgateError(
      `${archive.label} has no ${PACKAGE_LIBRARY_DIR}/${library}, so it is not the ${GPU_PACKAGE_ID} package onnxruntime-node needs; check the feed, or use --device cpu`,
    );
  }
  const task = progress.task(`Extracting ${library}`, { total: entry.size, unit: 'bytes' });
  await writeAtomic(destination, async (file) => {
    for await (const chunk of archive.read(entry)) {
      await file.write(chunk);
      task.advance(chunk.length);
    }
  });
  task.finish();
}

async function placeLibraries(from: string, binDir: string): Promise<void> {
  for (const library of CUDA_PROVIDER_LIBRARIES) {
    try {
      await writeAtomic(join(binDir, library), async (file) => {
        for await (const chunk of createReadStream(join(from, library))) await file.write(chunk as Buffer);
      });
    } catch (error) {
      const cause = error instanceof QuantgateError && error.cause !== undefined ? error.cause : error;
      throw new QuantgateError(
        `cannot copy the CUDA provider into onnxruntime-node's folder ${binDir} (${describeError(cause)}); make that folder writable, or install the provider yourself with npm install onnxruntime-node --onnxruntime-node-install=cuda12`,
        { cause: error },
      );
    }
  }
}

async function hasLibraries(dir: string): Promise<boolean> {
  const found = await Promise.all(
    CUDA_PROVIDER_LIBRARIES.map((library) =>
      stat(join(dir, library)).then(
        (info) => info.isFile(),
        () => false,
      ),
    ),
  );
  return found.every(Boolean);
}
