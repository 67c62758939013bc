// Installs onnxruntime-node for the bundled action, which ships without node_modules: the exact
// tarballs package-lock.json pins (onnxruntime-node and onnxruntime-common) are downloaded from
// the npm registry, each checked against the lockfile's sha512 integrity, and only what this
// platform loads (package.json, dist/, and bin/napi-v6/<platform>/<arch>/) is unpacked into
// `<cache root>/quantgate-onnxruntime/<version>/<platform>-<arch>/node_modules/`. The folder
// appears only once complete, so a later run on the same machine finds it and downloads nothing.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { writeAtomic, writeDirAtomic } from '../common/atomic.js';
import { QuantgateError, describeError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import {
  DEFAULT_RETRY_POLICY,
  RetriesExhaustedError,
  TransientError,
  retrying,
  type RetryPolicy,
} from '../net/retry.js';
import { saveWithSha512, watchedGet } from '../net/watched-get.js';
import { readTar } from './tar.js';

export const ONNXRUNTIME_PACKAGES = ['onnxruntime-node', 'onnxruntime-common'] as const;
export const DEFAULT_NPM_REGISTRY = 'https://registry.npmjs.org/';
/** Names another npm registry (a mirror, or a test's fake) to download the tarballs from. */
export const NPM_REGISTRY_ENV = 'QUANTGATE_NPM_REGISTRY';

/** A package as package-lock.json pins it. */
export interface LockedPackage {
  name: string;
  version: string;
  /** Subresource-integrity text, e.g. `sha512-<base64>`. */
  integrity: string;
}

export interface InstallOptions {
  /** onnxruntime-node and the packages it requires. */
  packages: readonly LockedPackage[];
  registryUrl: string;
  /** The runner's tool cache, or a temp folder outside Actions. */
  cacheRoot: string;
  platform?: NodeJS.Platform;
  arch?: string;
  progress?: Progress;
  retry?: RetryPolicy;
}

export interface OnnxruntimeInstall {
  /** Holds `node_modules/onnxruntime-node` and `node_modules/onnxruntime-common`. */
  dir: string;
  source: 'cache' | 'download';
}

/** The pinned versions and integrities of `names` in the lockfile at `path` (lockfile version 2 or 3). */
export async function readLockedPackages(path: string, names: readonly string[]): Promise<LockedPackage[]> {
  let lock: { packages?: Record<string, { version?: unknown; integrity?: unknown }> };
  try {
    lock = JSON.parse(await readFile(path, 'utf8')) as typeof lock;
  } catch (error) {
    throw new QuantgateError(
      `cannot read ${path} (${describeError(error)}); the action needs its package-lock.json to know which onnxruntime-node to install`,
      { cause: error },
    );
  }
  return names.map((name) => {
    const entry = lock.packages?.[`node_modules/${name}`];
    if (typeof entry?.version !== 'string' || typeof entry.integrity !== 'string') {
      throw new QuantgateError(
        `${path} pins no version and integrity for ${name}; run npm install to regenerate the lockfile (version 2 or 3)`,
      );
    }
    return { name, version: entry.version, integrity: entry.integrity };
  });
}

export function installDir(cacheRoot: string, version: string, platform: string, arch: string): string {
  return join(cacheRoot, 'quantgate-onnxruntime', version, `${platform}-${arch}`);
}

export async function installOnnxruntime(options: InstallOptions): Promise<OnnxruntimeInstall> {
  const { packages, platform = process.platform, arch = process.arch } = options;
  const progress = options.progress ?? silentProgress;
  const runtime = packages.find((pkg) => pkg.name === 'onnxruntime-node');
  if (runtime === undefined) throw new Error('installOnnxruntime was not given onnxruntime-node');
  const dir = installDir(options.cacheRoot, runtime.version, platform, arch);
  const binding = join(
    'node_modules',
    'onnxruntime-node',
    'bin',
    'napi-v6',
    platform,
    arch,
    'onnxruntime_binding.node',
  );
  if (await isFile(join(dir, binding))) return { dir, source: 'cache' };

  await writeDirAtomic(dir, async (tempDir) => {
    for (const pkg of packages) {
      const tarball = join(tempDir, `${pkg.name}-${pkg.version}.tgz`);
      await downloadTarball(pkg, options.registryUrl, tarball, progress, options.retry ?? DEFAULT_RETRY_POLICY);
      await unpackPackage(
        tarball,
        join(tempDir, 'node_modules', pkg.name),
        wantedFiles(platform, arch),
        `${pkg.name}-${pkg.version}.tgz`,
      );
      await rm(tarball);
    }
    if (!(await isFile(join(tempDir, binding)))) {
      throw new QuantgateError(
        `onnxruntime-node ${runtime.version} has no binaries for ${platform}-${arch}; run the action on Linux (x64 or arm64), macOS (arm64) or Windows, or use engine: command`,
      );
    }
  });
  return { dir, source: 'download' };
}

/** What this platform loads; the other platforms' binaries, sources and install scripts stay out. */
function wantedFiles(platform: string, arch: string): (path: string) => boolean {
  const binaries = `bin/napi-v6/${platform}/${arch}/`;
  return (path) => path === 'package.json' || path.startsWith('dist/') || path.startsWith(binaries);
}

/** The tarball's URL as npm computes it: `<registry>/<name>/-/<name without scope>-<version>.tgz`. */
export function tarballUrl(registryUrl: string, pkg: Pick<LockedPackage, 'name' | 'version'>): string {
  const base = registryUrl.endsWith('/') ? registryUrl : `${registryUrl}/`;
  return `${base}${pkg.name}/-/${pkg.name.split('/').pop()}-${pkg.version}.tgz`;
}

async function downloadTarball(
  pkg: LockedPackage,
  registryUrl: string,
  path: string,
  progress: Progress,
  policy: RetryPolicy,
): Promise<void> {
  const url = tarballUrl(registryUrl, pkg);
  const expected = sha512Of(pkg);
  const what = `downloading ${pkg.name} ${pkg.version} from ${url}`;
  try {
    await retrying(
      policy,
      () =>
        writeAtomic(path, async (file) => {
          await watchedGet(
            url,
            policy,
            async (body, length) => {
              const actual = await saveWithSha512(body, file, progress, `${pkg.name} ${pkg.version}`, length);
              if (actual !== expected)
                throw new TransientError(
                  `the tarball's sha512 ${actual} is not the ${expected} package-lock.json pins`,
                );
            },
            {
              refused: (problem) =>
                new QuantgateError(
                  `${what} failed: the registry answered ${problem}; check ${NPM_REGISTRY_ENV} (unset means ${DEFAULT_NPM_REGISTRY})`,
                ),
            },
          );
        }),
      { what, log: (line) => progress.info(line) },
    );
  } catch (error) {
    if (!(error instanceof RetriesExhaustedError)) throw error;
    throw new QuantgateError(
      `${what} failed ${error.attempts} times (last: ${error.lastCause}); check the network and ${NPM_REGISTRY_ENV} (unset means ${DEFAULT_NPM_REGISTRY})`,
      { cause: error },
    );
  }
}

/** The base64 sha512 digest of the lockfile's integrity (it may list several algorithms). */
function sha512Of(pkg: LockedPackage): string {
  const digest = pkg.integrity
    .split(/\s+/)
    .find((item) => item.startsWith('sha512-'))
    ?.slice('sha512-'.length);
  if (!digest)
    throw new QuantgateError(
      `package-lock.json pins ${pkg.name} ${pkg.version} without a sha512 integrity ("${pkg.integrity}"); regenerate the lockfile with a current npm`,
    );
  return digest;
}

/** Unpacks the files of the npm tarball at `path` that `wanted` accepts (paths below its top folder) into `dir`. */
async function unpackPackage(
  path: string,
  dir: string,
  wanted: (path: string) => boolean,
  label: string,
): Promise<void> {
  await pipeline(createReadStream(path), createGunzip(), async (tar: AsyncIterable<Uint8Array>) => {
    await readTar(tar, label, async (entry, body) => {
      if (entry.type !== 'file') return;
      const inPackage = entry.path.split('/').slice(1);
      if (inPackage.length === 0 || inPackage.some((part) => part === '' || part === '.' || part === '..')) {
        throw new QuantgateError(
          `${label} holds the unsafe path ${JSON.stringify(entry.path)}; it is not an npm package tarball`,
        );
      }
      if (!wanted(inPackage.join('/'))) return;
      const target = join(dir, ...inPackage);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(Readable.from(body), createWriteStream(target, { mode: (entry.mode & 0o777) | 0o600 }));
    });
  }).catch((error: unknown) => {
    if (error instanceof QuantgateError) throw error;
    throw new QuantgateError(
      `${label} cannot be unpacked (${describeError(error)}); the download is corrupt — run again`,
      { cause: error },
    );
  });
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
