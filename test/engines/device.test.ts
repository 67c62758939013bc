import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { CUDA_PROVIDER_LIBRARIES, GPU_PACKAGE_ID, installCudaProvider } from '../../src/runtime/cuda-install.js';
import { findNvidiaGpu, resolveDevice, type DeviceProbes } from '../../src/engines/device.js';
import type { DeviceChoice } from '../../src/engines/catalogue.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { recordingProgress } from '../helpers/progress.js';
import { buildZip } from '../helpers/zip.js';
import { FakeNuget } from '../servers/fake-nuget.js';

afterAll(removeTempDirs);

const GPU = 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)';

function probes(
  gpu: string | undefined,
  prepareCuda: () => Promise<void> = async () => undefined,
): DeviceProbes & { prepared: number } {
  const counted = {
    prepared: 0,
    findNvidiaGpu: async () => gpu,
    prepareCuda: async () => {
      counted.prepared++;
      await prepareCuda();
    },
  };
  return counted;
}

async function resolve(choice: DeviceChoice, deviceProbes: DeviceProbes, onnxruntime?: boolean) {
  const progress = recordingProgress();
  const device = await resolveDevice(choice, {
    env: {},
    progress,
    probes: deviceProbes,
    ...(onnxruntime !== undefined && { onnxruntime }),
  });
  return { device, lines: progress.lines };
}

describe('resolveDevice', () => {
  test('cpu is taken as asked, without probing', async () => {
    const none = probes(GPU);
    expect(await resolve('cpu', none)).toEqual({ device: 'cpu', lines: [] });
    expect(none.prepared).toBe(0);
  });

  test('auto takes CUDA when a GPU is visible and the provider loads', async () => {
    const gpu = probes(GPU);
    expect(await resolve('auto', gpu)).toEqual({ device: 'cuda', lines: [`device: CUDA (${GPU})`] });
    expect(gpu.prepared).toBe(1);
  });

  test('auto without a GPU falls back to CPU with a notice saying why', async () => {
    expect(await resolve('auto', probes(undefined))).toEqual({
      device: 'cpu',
      lines: [
        'device: CPU, since no NVIDIA GPU is visible (nvidia-smi -L lists none, and there is no /proc/driver/nvidia/version)',
      ],
    });
  });

  test('auto falls back to CPU when the CUDA provider cannot be had; cuda fails with the same cause', async () => {
    const broken = () =>
      probes(GPU, async () =>
        Promise.reject(
          new QuantgateError(
            'the CUDA provider does not load (libcudnn.so.9: cannot open shared object file); install cuDNN 9',
          ),
        ),
      );
    expect(await resolve('auto', broken())).toEqual({
      device: 'cpu',
      lines: [
        `device: CPU, since CUDA is unavailable: the CUDA provider does not load (libcudnn.so.9: cannot open shared object file); install cuDNN 9`,
      ],
    });
    await expect(resolve('cuda', broken())).rejects.toThrow(
      /^--device cuda: the CUDA provider does not load \(libcudnn\.so\.9: cannot open shared object file\); install cuDNN 9$/,
    );
  });

  test('cuda without a GPU is an error naming the fix', async () => {
    await expect(resolve('cuda', probes(undefined))).rejects.toThrow(
      /^--device cuda: no NVIDIA GPU is visible \(.*\); run on a machine with an NVIDIA GPU and its driver, or use --device auto or cpu$/,
    );
  });

  test('an engine with its own runtime needs only the GPU, not the onnxruntime provider', async () => {
    const gpu = probes(GPU, async () => Promise.reject(new QuantgateError('must not be called')));
    expect((await resolve('cuda', gpu, false)).device).toBe('cuda');
    expect(gpu.prepared).toBe(0);
  });

  test('a bug in a probe is not mistaken for a missing device', async () => {
    await expect(
      resolve(
        'auto',
        probes(GPU, async () => Promise.reject(new TypeError('boom'))),
      ),
    ).rejects.toThrow(TypeError);
  });
});

describe('resolveDevice with the CUDA libraries fetched from a NuGet feed', () => {
  const VERSION = '1.30.0';
  let nuget: FakeNuget;
  beforeAll(async () => {
    const nupkg = buildZip(
      CUDA_PROVIDER_LIBRARIES.map((name) => ({
        name: `runtimes/linux-x64/native/${name}`,
        data: Buffer.from(`dummy ${name}`),
      })),
    );
    nuget = await FakeNuget.start([{ id: GPU_PACKAGE_ID, version: VERSION, nupkg }]);
  });
  afterAll(() => nuget.close());

  /** The system's installer against the fake feed, with the session check (which needs a real GPU) left out. */
  async function installingProbes(feedUrl: string): Promise<DeviceProbes> {
    const root = await makeTempDir();
    const binDir = join(root, 'bin');
    await mkdir(binDir);
    const install = {
      feedUrl,
      cacheDir: join(root, 'cache'),
      runtime: { version: VERSION, binDir },
      retry: { attempts: 2, baseDelayMs: 1, stallTimeoutMs: 5000 },
    };
    return { findNvidiaGpu: async () => GPU, prepareCuda: async () => void (await installCudaProvider(install)) };
  }

  test('a good download gives CUDA', async () => {
    expect((await resolve('auto', await installingProbes(nuget.indexUrl))).device).toBe('cuda');
  });

  test('a corrupt download falls back to CPU under auto and fails under cuda', async () => {
    nuget.inject({ kind: 'corrupt', times: 4 });
    const auto = await resolve('auto', await installingProbes(nuget.indexUrl));
    expect(auto.device).toBe('cpu');
    expect(auto.lines).toEqual([
      expect.stringMatching(
        /^device: CPU, since CUDA is unavailable: Downloading .* failed 2 times \(last: the download's SHA-512 /,
      ),
    ]);
    await expect(resolve('cuda', await installingProbes(nuget.indexUrl))).rejects.toThrow(
      /^--device cuda: Downloading Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0 .* failed 2 times/,
    );
  });

  test('a feed that is down falls back to CPU under auto and fails under cuda', async () => {
    const down = await FakeNuget.start([]);
    const url = down.indexUrl;
    await down.close();
    const auto = await resolve('auto', await installingProbes(url));
    expect(auto.device).toBe('cpu');
    expect(auto.lines[0]).toMatch(
      /^device: CPU, since CUDA is unavailable: reading the service index .* failed 2 times \(last: .*ECONNREFUSED/,
    );
    await expect(resolve('cuda', await installingProbes(url))).rejects.toThrow(
      /^--device cuda: reading the service index .*ECONNREFUSED.*; check the network, or set QUANTGATE_NUGET_URL/,
    );
  });
});

describe('findNvidiaGpu', () => {
  test('names the first GPU nvidia-smi lists', async () => {
    const dir = await makeTempDir();
    const smi = join(dir, 'nvidia-smi');
    await writeFile(smi, `#!/bin/sh\necho '${GPU}'\necho 'GPU 1: another'\n`);
    await chmod(smi, 0o755);
    expect(await findNvidiaGpu({ versionFile: join(dir, 'absent'), listCommand: [smi, '-L'] })).toBe(GPU);
  });

  test('falls back to the driver version file, and finds nothing without either', async () => {
    const dir = await makeTempDir();
    const versionFile = join(dir, 'version');
    await writeFile(
      versionFile,
      'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version: gcc 12\n',
    );
    expect(await findNvidiaGpu({ versionFile, listCommand: ['false'] })).toBe(
      'NVIDIA driver NVRM version: NVIDIA UNIX x86_64 Kernel Module 550.54.15 Tue Mar 5 22:23:56 UTC 2024',
    );
    expect(await findNvidiaGpu({ versionFile, listCommand: [join(dir, 'no-such-command')] })).toMatch(
      /^NVIDIA driver /,
    );
    expect(await findNvidiaGpu({ versionFile: join(dir, 'absent'), listCommand: ['false'] })).toBeUndefined();
  });
});
