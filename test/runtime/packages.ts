// npm tarballs for the onnxruntime install tests: small fake onnxruntime packages whose files say
// which platform they are for, and packs of the real installed packages (this platform only).

import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { tgz, type TarInput } from './tarball.js';

export const FAKE_VERSION = '9.8.7';

/** onnxruntime-node with dummy binaries for two platforms, an install script and a README. */
export function fakeRuntimeTarball(): Buffer {
  return tgz([
    {
      path: 'package/package.json',
      content: JSON.stringify({ name: 'onnxruntime-node', version: FAKE_VERSION, main: 'dist/index.js' }),
    },
    {
      path: 'package/dist/index.js',
      content:
        "module.exports = { ...require('onnxruntime-common'), binding: require('../bin/napi-v6/linux/x64/onnxruntime_binding.json') };",
    },
    { path: 'package/bin/napi-v6/linux/x64/onnxruntime_binding.node', content: 'linux-x64 binding' },
    { path: 'package/bin/napi-v6/linux/x64/onnxruntime_binding.json', content: '{"platform":"linux-x64"}' },
    { path: 'package/bin/napi-v6/linux/x64/libonnxruntime.so.1', content: 'linux-x64 library' },
    { path: 'package/bin/napi-v6/darwin/arm64/onnxruntime_binding.node', content: 'darwin-arm64 binding' },
    { path: 'package/script/install.js', content: 'throw new Error("never run")' },
    { path: 'package/README.md', content: '# onnxruntime-node' },
  ]);
}

export function fakeCommonTarball(): Buffer {
  return tgz([
    {
      path: 'package/package.json',
      content: JSON.stringify({
        name: 'onnxruntime-common',
        version: FAKE_VERSION,
        exports: { require: './dist/cjs/index.js' },
      }),
    },
    {
      path: 'package/dist/cjs/index.js',
      content: 'exports.InferenceSession = { create() {} }; exports.Tensor = class Tensor {};',
    },
  ]);
}

/** A tarball of the installed package `name`, with the files `wanted` accepts (paths relative to the package). */
export async function packInstalled(name: string, wanted: (path: string) => boolean): Promise<Buffer> {
  const dir = join(repoRoot, 'node_modules', name);
  const entries: TarInput[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/');
    if (entry.isFile() && wanted(path))
      entries.push({ path: `package/${path}`, content: await readFile(join(dir, path)) });
  }
  return tgz(entries);
}

/** What onnxruntime-node loads on this machine, and onnxruntime-common whole. */
export async function packRealOnnxruntime(): Promise<{ runtime: Buffer; common: Buffer; version: string }> {
  const binaries = `bin/napi-v6/${process.platform}/${process.arch}/`;
  const { version } = JSON.parse(
    await readFile(join(repoRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
  ) as { version: string };
  return {
    runtime: await packInstalled(
      'onnxruntime-node',
      (path) => path === 'package.json' || path.startsWith('dist/') || path.startsWith(binaries),
    ),
    common: await packInstalled('onnxruntime-common', () => true),
    version,
  };
}
