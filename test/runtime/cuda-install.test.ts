import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import {
  CUDA_PROVIDER_LIBRARIES,
  GPU_PACKAGE_ID,
  cudaInstallSettings,
  installCudaProvider,
  type CudaInstallOptions,
} from '../../src/runtime/cuda-install.js';
import { onnxruntimeAt, resolvedOnnxruntime } from '../../src/runtime/location.js';
import { NUGET_ORG_INDEX } from '../../src/runtime/nuget-feed.js';
import type { RetryPolicy } from '../../src/net/retry.js';
import { makeTempDir, removeTempDirs, repoRoot } from '../helpers/paths.js';
import { recordingProgress } from '../helpers/progress.js';
import { buildZip } from '../helpers/zip.js';
import { FakeNuget } from '../servers/fake-nuget.js';

afterAll(removeTempDirs);

const VERSION = '1.30.0';
const retry: RetryPolicy = { attempts: 2, baseDelayMs: 1, stallTimeoutMs: 5000 };
const libraryBytes = (name: string) => Buffer.from(`ELF stand-in for ${name} `.repeat(2000));

/** A package laid out like Microsoft.ML.OnnxRuntime.Gpu.Linux, with dummy libraries. */
function gpuPackage(libraries: readonly string[] = CUDA_PROVIDER_LIBRARIES): Buffer {
  return buildZip([
    { name: '_rels/.rels', data: Buffer.from('<Relationships/>') },
    {
      name: `${GPU_PACKAGE_ID}.nuspec`,
      data: Buffer.from(
        `<package><metadata><id>${GPU_PACKAGE_ID}</id><version>${VERSION}</version></metadata></package>`,
      ),
    },
    ...libraries.map((name) => ({ name: `runtimes/linux-x64/native/${name}`, data: libraryBytes(name) })),
    {
      name: 'runtimes/linux-x64/native/libonnxruntime_providers_tensorrt.so',
      data: Buffer.from('not needed'),
      method: 'store' as const,
    },
  ]);
}

let nuget: FakeNuget;
beforeEach(async () => {
  nuget = await FakeNuget.start([{ id: GPU_PACKAGE_ID, version: VERSION, nupkg: gpuPackage() }]);
});
afterEach(() => nuget.close());

async function setup(): Promise<CudaInstallOptions & { runtime: { version: string; binDir: string } }> {
  const root = await makeTempDir();
  const binDir = join(root, 'onnxruntime-node', 'bin');
  await mkdir(binDir, { recursive: true });
  await writeFile(join(binDir, 'libonnxruntime.so.1'), 'cpu runtime');
  return { feedUrl: nuget.indexUrl, cacheDir: join(root, 'cache'), runtime: { version: VERSION, binDir }, retry };
}

async function listTree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).sort();
}

describe('installCudaProvider', () => {
  test('downloads the GPU package once, verifies it, and places its two provider libraries beside libonnxruntime', async () => {
    const options = await setup();
    const progress = recordingProgress();
    expect(await installCudaProvider({ ...options, progress })).toEqual({
      source: 'download',
      binDir: options.runtime.binDir,
    });
    for (const library of CUDA_PROVIDER_LIBRARIES) {
      expect(await readFile(join(options.runtime.binDir, library))).toEqual(libraryBytes(library));
      expect(await readFile(join(options.cacheDir, VERSION, library))).toEqual(libraryBytes(library));
    }
    expect(await listTree(options.runtime.binDir)).toEqual(['libonnxruntime.so.1', ...CUDA_PROVIDER_LIBRARIES].sort());
    // Only the libraries stay in the cache: not the package, not TensorRT's provider, no temp files.
    expect(await listTree(options.cacheDir)).toEqual(
      [VERSION, ...CUDA_PROVIDER_LIBRARIES.map((library) => join(VERSION, library))].sort(),
    );
    const id = GPU_PACKAGE_ID.toLowerCase();
    expect(nuget.requests).toEqual([
      '/v3/index.json',
      `/v3/flat/${id}/index.json`,
      `/v3/registration/${id}/${VERSION}.json`,
      `/v3/catalog/${id}.${VERSION}.json`,
      `/v3/flat/${id}/${VERSION}/${id}.${VERSION}.nupkg`,
    ]);
    expect(progress.tasks).toEqual([
      `Downloading ${GPU_PACKAGE_ID} ${VERSION}`,
      ...CUDA_PROVIDER_LIBRARIES.map((library) => `Extracting ${library}`),
    ]);
    expect(progress.lines).toEqual([
      `CUDA provider of onnxruntime ${VERSION} installed into ${options.runtime.binDir}`,
    ]);

    nuget.requests.length = 0;
    expect((await installCudaProvider(options)).source).toBe('present');
    await rm(join(options.runtime.binDir, CUDA_PROVIDER_LIBRARIES[1]));
    expect((await installCudaProvider(options)).source).toBe('cache');
    expect(await readFile(join(options.runtime.binDir, CUDA_PROVIDER_LIBRARIES[1]))).toEqual(
      libraryBytes(CUDA_PROVIDER_LIBRARIES[1]),
    );
    expect(nuget.requests).toEqual([]);
  });

  test('a corrupt download is retried, and refused when it stays corrupt, leaving nothing behind', async () => {
    const options = await setup();
    nuget.inject({ kind: 'corrupt', times: 1 });
    const progress = recordingProgress();
    expect((await installCudaProvider({ ...options, progress })).source).toBe('download');
    expect(progress.lines[0]).toMatch(
      /^Downloading .* from http:\/\/127\.0\.0\.1:\d+\/.*\.nupkg: the download's SHA-512 \S+ is not the \S+ the feed publishes; try 2 of \d+ in 0\.0 s$/,
    );

    const again = await setup();
    nuget.inject({ kind: 'corrupt' });
    const failure = installCudaProvider(again);
    await expect(failure).rejects.toThrow(QuantgateError);
    await expect(failure).rejects.toThrow(
      /^Downloading Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0 from \S+ failed 2 times \(last: the download's SHA-512 .*\); check the network, or set QUANTGATE_NUGET_URL to a NuGet v3 feed that mirrors nuget\.org, or use --device cpu$/,
    );
    expect(await listTree(again.cacheDir)).toEqual([]);
    expect(await listTree(again.runtime.binDir)).toEqual(['libonnxruntime.so.1']);
  });

  test('without a published hash the size alone is checked, and said so', async () => {
    const options = await setup();
    nuget.inject({ kind: 'no-hash' });
    const progress = recordingProgress();
    expect((await installCudaProvider({ ...options, progress })).source).toBe('download');
    expect(progress.lines[0]).toBe(
      `${nuget.indexUrl} publishes no SHA-512 for ${GPU_PACKAGE_ID} ${VERSION}; only the download's size is checked`,
    );
  });

  test('a feed that is down fails after the retries, naming the network error', async () => {
    const options = await setup();
    await nuget.close();
    await expect(installCudaProvider(options)).rejects.toThrow(
      /^reading the service index http:\/\/127\.0\.0\.1:\d+\/v3\/index\.json failed 2 times \(last: .*ECONNREFUSED.*\); check the network, or set QUANTGATE_NUGET_URL/,
    );
  });

  test('a feed without that version, or answering 403, is refused at once', async () => {
    const options = await setup();
    await expect(
      installCudaProvider({ ...options, runtime: { ...options.runtime, version: '9.9.9' } }),
    ).rejects.toThrow(
      /^the NuGet feed http:\S+ has no Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 9\.9\.9; check the network/,
    );
    nuget.inject({ kind: 'status', path: /\.nupkg$/, status: 403 });
    nuget.requests.length = 0;
    await expect(installCudaProvider(options)).rejects.toThrow(
      /^Downloading Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0 from \S+: the feed answered HTTP 403 Forbidden; check the network/,
    );
    expect(nuget.requests.filter((path) => path.endsWith('.nupkg'))).toHaveLength(1);
  });

  test('a connection dropped halfway is retried', async () => {
    const options = await setup();
    nuget.inject({ kind: 'truncate', times: 1 });
    const progress = recordingProgress();
    expect((await installCudaProvider({ ...options, progress })).source).toBe('download');
    expect(progress.lines[0]).toMatch(/^Downloading .*\.nupkg: .*; try 2 of \d+ in 0\.0 s$/);
    expect(nuget.requests.filter((path) => path.endsWith('.nupkg'))).toHaveLength(2);
  });

  test('a 5xx answer is retried', async () => {
    const options = await setup();
    nuget.inject({ kind: 'status', path: /index\.json$/, status: 503, times: 1 });
    expect((await installCudaProvider(options)).source).toBe('download');
    expect(nuget.requests.slice(0, 2)).toEqual(['/v3/index.json', '/v3/index.json']);
  });

  test('a package without the provider libraries is refused', async () => {
    await nuget.close();
    nuget = await FakeNuget.start([
      { id: GPU_PACKAGE_ID, version: VERSION, nupkg: gpuPackage(['libonnxruntime_providers_shared.so']) },
    ]);
    const options = await setup();
    await expect(installCudaProvider(options)).rejects.toThrow(
      /\.nupkg has no runtimes\/linux-x64\/native\/libonnxruntime_providers_cuda\.so, so it is not the Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux package/,
    );
    expect(await listTree(options.cacheDir)).toEqual([]);
    expect(await listTree(options.runtime.binDir)).toEqual(['libonnxruntime.so.1']);
  });

  test('a bin folder that cannot be written is a one-line error with the alternative', async () => {
    const options = await setup();
    const runtime = { version: VERSION, binDir: join(options.runtime.binDir, 'libonnxruntime.so.1', 'not-a-folder') };
    await expect(installCudaProvider({ ...options, runtime })).rejects.toThrow(
      /^cannot copy the CUDA provider into onnxruntime-node's folder .* \(.*\); make that folder writable, or install the provider yourself with npm install onnxruntime-node --onnxruntime-node-install=cuda12$/,
    );
  });
});

describe('installation settings', () => {
  test('the feed and cache come from the environment, nuget.org and ~/.cache by default', () => {
    expect(
      cudaInstallSettings({ QUANTGATE_NUGET_URL: 'http://mirror/v3/index.json', XDG_CACHE_HOME: '/cache' }),
    ).toEqual({
      feedUrl: 'http://mirror/v3/index.json',
      cacheDir: '/cache/quantgate/onnxruntime-cuda',
    });
    expect(cudaInstallSettings({}).feedUrl).toBe(NUGET_ORG_INDEX);
    expect(cudaInstallSettings({}).cacheDir).toMatch(/\.cache\/quantgate\/onnxruntime-cuda$/);
  });

  test('the installed onnxruntime-node is found with its version and bin folder', async () => {
    const runtime = resolvedOnnxruntime();
    const { version } = JSON.parse(
      await readFile(join(repoRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
    );
    expect(runtime).toEqual({
      version,
      binDir: join(repoRoot, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch),
    });
    expect(await readdir(runtime.binDir)).toContain('onnxruntime_binding.node');
  });

  test('an onnxruntime-node Node cannot resolve (the bundled action installs its own) is located by its package.json', async () => {
    const dir = await makeTempDir();
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: '9.9.9' }));
    expect(onnxruntimeAt(join(dir, 'package.json'))).toEqual({
      version: '9.9.9',
      binDir: join(dir, 'bin', 'napi-v6', process.platform, process.arch),
    });
  });
});
