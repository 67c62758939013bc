import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import {
  installDir,
  installOnnxruntime,
  readLockedPackages,
  tarballUrl,
  type InstallOptions,
  type LockedPackage,
} from '../../src/runtime/install.js';
import { makeTempDir, removeTempDirs, repoRoot } from '../helpers/paths.js';
import { recordingProgress } from '../helpers/progress.js';
import { unreachableUrl } from '../servers/local-server.js';
import { FakeNpmRegistry } from './fake-npm-registry.js';
import { FAKE_VERSION, fakeCommonTarball, fakeRuntimeTarball, packRealOnnxruntime } from './packages.js';

let registry: FakeNpmRegistry;
let packages: LockedPackage[];

beforeEach(async () => {
  registry = await FakeNpmRegistry.start();
  packages = [
    registry.publish('onnxruntime-node', FAKE_VERSION, fakeRuntimeTarball()),
    registry.publish('onnxruntime-common', FAKE_VERSION, fakeCommonTarball()),
  ];
});

afterEach(() => registry.close());
afterAll(removeTempDirs);

const FAST_RETRY = { attempts: 2, baseDelayMs: 1, stallTimeoutMs: 5000 };

async function options(overrides: Partial<InstallOptions> = {}): Promise<InstallOptions> {
  return {
    packages,
    registryUrl: registry.url,
    cacheRoot: await makeTempDir(),
    platform: 'linux',
    arch: 'x64',
    retry: FAST_RETRY,
    ...overrides,
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

describe('installOnnxruntime', () => {
  test('unpacks only what this platform loads from the pinned tarballs, where require finds it', async () => {
    const settings = await options();
    const install = await installOnnxruntime(settings);
    expect(install).toEqual({
      dir: join(settings.cacheRoot, 'quantgate-onnxruntime', FAKE_VERSION, 'linux-x64'),
      source: 'download',
    });
    expect(await filesUnder(install.dir)).toEqual([
      'node_modules/onnxruntime-common/dist/cjs/index.js',
      'node_modules/onnxruntime-common/package.json',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.json',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/dist/index.js',
      'node_modules/onnxruntime-node/package.json',
    ]);
    const loaded = createRequire(join(install.dir, 'index.js'))('onnxruntime-node') as {
      binding: unknown;
      Tensor: unknown;
    };
    expect(loaded.binding).toEqual({ platform: 'linux-x64' });
    expect(typeof loaded.Tensor).toBe('function');
    expect(await readdir(settings.cacheRoot)).toEqual(['quantgate-onnxruntime']);
  });

  test('a later run finds the install and downloads nothing', async () => {
    const settings = await options();
    await installOnnxruntime(settings);
    const requests = registry.requests.length;
    expect(await installOnnxruntime(settings)).toMatchObject({ source: 'cache' });
    expect(registry.requests.length).toBe(requests);
  });

  test('retries a failed download, saying so', async () => {
    registry.fail(packages[0]!, { kind: 'status', status: 503, times: 1 });
    const progress = recordingProgress();
    expect(await installOnnxruntime(await options({ progress }))).toMatchObject({ source: 'download' });
    expect(progress.lines).toEqual([
      expect.stringMatching(
        /^downloading onnxruntime-node 9\.8\.7 from http:\/\/127\.0\.0\.1:\d+\/onnxruntime-node\/-\/onnxruntime-node-9\.8\.7\.tgz: HTTP 503 Service Unavailable; try 2 of \d+ in 0\.0 s$/,
      ),
    ]);
  });

  test("refuses a tarball whose sha512 differs from the lockfile's, leaving nothing behind", async () => {
    registry.fail(packages[1]!, { kind: 'replace', body: fakeRuntimeTarball() });
    const settings = await options();
    const attempt = installOnnxruntime(settings);
    await expect(attempt).rejects.toThrow(QuantgateError);
    await expect(attempt).rejects.toThrow(
      /^downloading onnxruntime-common 9\.8\.7 from .* failed 2 times \(last: the tarball's sha512 \S+ is not the \S+ package-lock\.json pins\); check the network and QUANTGATE_NPM_REGISTRY/,
    );
    expect(await filesUnder(settings.cacheRoot)).toEqual([]);
  });

  test.each([
    [
      'a package the registry lacks',
      (pins: LockedPackage[]) => [{ ...pins[0]!, version: '0.0.1' }, pins[1]!],
      'failed: the registry answered HTTP 404 Not Found; check QUANTGATE_NPM_REGISTRY',
    ],
    [
      'a pin without sha512',
      (pins: LockedPackage[]) => [{ ...pins[0]!, integrity: 'sha1-abc=' }, pins[1]!],
      'package-lock.json pins onnxruntime-node 9.8.7 without a sha512 integrity',
    ],
  ])('refuses %s in one line', async (_case, pins, message) => {
    await expect(installOnnxruntime(await options({ packages: pins(packages) }))).rejects.toThrow(message);
  });

  test('an unreachable registry is an error after the retries', async () => {
    await expect(installOnnxruntime(await options({ registryUrl: await unreachableUrl() }))).rejects.toThrow(
      /failed 2 times \(last: .*ECONNREFUSED/,
    );
  });

  test('a platform without binaries is an error naming it', async () => {
    await expect(installOnnxruntime(await options({ platform: 'freebsd', arch: 'x64' }))).rejects.toThrow(
      `onnxruntime-node ${FAKE_VERSION} has no binaries for freebsd-x64`,
    );
  });

  test('the real onnxruntime-node, installed this way, loads and runs on this machine', async () => {
    const real = await packRealOnnxruntime();
    const pins = [
      registry.publish('onnxruntime-node', real.version, real.runtime),
      registry.publish('onnxruntime-common', real.version, real.common),
    ];
    const install = await installOnnxruntime(
      await options({ packages: pins, platform: process.platform, arch: process.arch }),
    );
    expect(install.dir).toContain(installDir('', real.version, process.platform, process.arch));
    const ort = createRequire(join(install.dir, 'index.js'))('onnxruntime-node') as typeof import('onnxruntime-node');
    expect(ort.listSupportedBackends().map((backend) => backend.name)).toContain('cpu');
    expect(typeof ort.InferenceSession.create).toBe('function');
  });
});

describe('readLockedPackages', () => {
  test('reads the versions and integrities package-lock.json pins', async () => {
    const [runtime, common] = await readLockedPackages(join(repoRoot, 'package-lock.json'), [
      'onnxruntime-node',
      'onnxruntime-common',
    ]);
    const installed = JSON.parse(
      await readFile(join(repoRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(runtime).toEqual({
      name: 'onnxruntime-node',
      version: installed.version,
      integrity: expect.stringMatching(/^sha512-/),
    });
    expect(common).toMatchObject({ name: 'onnxruntime-common', integrity: expect.stringMatching(/^sha512-/) });
  });

  test('names a package the lockfile does not pin', async () => {
    await expect(readLockedPackages(join(repoRoot, 'package-lock.json'), ['no-such-package'])).rejects.toThrow(
      'pins no version and integrity for no-such-package',
    );
  });
});

test("tarball URLs are npm's, scoped names included", () => {
  expect(tarballUrl('https://registry.npmjs.org/', { name: 'onnxruntime-node', version: '1.30.0' })).toBe(
    'https://registry.npmjs.org/onnxruntime-node/-/onnxruntime-node-1.30.0.tgz',
  );
  expect(tarballUrl('https://mirror.example/npm', { name: '@scope/pkg', version: '2.0.0' })).toBe(
    'https://mirror.example/npm/@scope/pkg/-/pkg-2.0.0.tgz',
  );
});
