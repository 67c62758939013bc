import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheLogger } from '../../src/common/actions-cache-entry.js';
import { downloadWithActionsCache } from '../../src/hub/actions-cache.js';
import type { SnapshotRequest } from '../../src/hub/snapshot.js';
import { FakeActionsCache } from '../servers/fake-actions-cache.js';
import { FakeHub } from '../servers/fake-hub.js';
import { unreachableUrl } from '../servers/local-server.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

const REPO = 'kyutai/stt-tiny';
const WEIGHTS = Buffer.from(Array.from({ length: 30_000 }, (_, i) => (i * 7919) % 251));
const CONFIG = '{"dim": 64}';
const ACTIONS_VARIABLES = [
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_CACHE_URL',
  'RUNNER_TEMP',
  'GITHUB_WORKSPACE',
  'GITHUB_SERVER_URL',
];

let hub: FakeHub;
let service: FakeActionsCache;
let savedEnv: Record<string, string | undefined>;
let actionsLog: string[];
const writeStdout = process.stdout.write;

beforeEach(async () => {
  hub = await FakeHub.start();
  hub.createRepo(REPO);
  await hub.commit(REPO, [
    { path: 'model.safetensors', content: WEIGHTS },
    { path: 'config.json', content: CONFIG },
  ]);
  service = await FakeActionsCache.start();
  savedEnv = Object.fromEntries(ACTIONS_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of ACTIONS_VARIABLES) delete process.env[name];
  Object.assign(process.env, service.env, { RUNNER_TEMP: await makeTempDir(), GITHUB_WORKSPACE: await makeTempDir() });
  // @actions/cache reports through @actions/core, which writes workflow commands to stdout.
  actionsLog = [];
  process.stdout.write = ((chunk: unknown) => (actionsLog.push(String(chunk)), true)) as typeof process.stdout.write;
});

afterEach(async () => {
  process.stdout.write = writeStdout;
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all([hub.close(), service.close()]);
});
afterAll(removeTempDirs);

function recordingLogger(): CacheLogger & { infos: string[]; warnings: string[] } {
  const infos: string[] = [];
  const warnings: string[] = [];
  return {
    infos,
    warnings,
    info: (message) => void infos.push(message),
    warning: (message) => void warnings.push(message),
  };
}

function request(cacheDir: string, tasks: string[] = []): SnapshotRequest {
  return {
    repoId: REPO,
    cacheDir,
    hubUrl: hub.url,
    env: {},
    retry: { attempts: 2, baseDelayMs: 5, stallTimeoutMs: 2000 },
    progress: {
      info: () => undefined,
      task: (label) => (tasks.push(label), { advance: () => undefined, finish: () => undefined }),
    },
  };
}

describe('downloadWithActionsCache', () => {
  test('saves after a download; a fresh runner restores it and downloads nothing, hashing the restored blobs', async () => {
    const cacheDir = await makeTempDir();
    const logger = recordingLogger();
    const first = await downloadWithActionsCache(request(cacheDir), logger);
    expect(first).toMatchObject({ restored: false, saved: true });
    expect(first.snapshot.bytesDownloaded).toBe(WEIGHTS.length + CONFIG.length);
    expect(first.cacheKey).toMatch(
      new RegExp(`^quantgate-hf-model-kyutai--stt-tiny-${first.snapshot.revision}-[0-9a-f]{16}$`),
    );
    expect(service.savedKeys).toEqual([first.cacheKey]);
    expect(service.calls).toEqual(['GetCacheEntryDownloadURL', 'CreateCacheEntry', 'FinalizeCacheEntryUpload']);
    expect(service.blobs.requests.map((request) => `${request.operation} ${request.status}`)).toEqual(['PutBlob 201']);
    expect(logger.warnings).toEqual([]);

    await rm(join(cacheDir, 'models--kyutai--stt-tiny'), { recursive: true });
    const served = hub.bytesServed;
    const tasks: string[] = [];
    const second = await downloadWithActionsCache(request(cacheDir, tasks), logger);
    expect(second).toMatchObject({ cacheKey: first.cacheKey, restored: true, saved: false });
    expect(second.snapshot.bytesDownloaded).toBe(0);
    expect(second.snapshot.files.every((file) => file.fromCache)).toBe(true);
    expect(hub.bytesServed).toBe(served);
    expect(service.blobs.requests.at(-1)).toMatchObject({ operation: 'GetBlob', status: 200 });
    expect(tasks).toEqual(['verifying kyutai/stt-tiny']);
    expect(await readFile(join(second.snapshot.dir, 'config.json'), 'utf8')).toBe(CONFIG);
    expect(logger.infos.some((line) => line.startsWith('restored ') && line.endsWith(first.cacheKey))).toBe(true);
    expect(logger.warnings).toEqual([]);
  });

  test('a snapshot already in the local cache is neither restored nor saved again', async () => {
    const cacheDir = await makeTempDir();
    await downloadWithActionsCache(request(cacheDir), recordingLogger());
    service.calls.length = 0;
    const logger = recordingLogger();
    const again = await downloadWithActionsCache(request(cacheDir), logger);
    expect(again).toMatchObject({ restored: false, saved: false });
    expect(again.snapshot.bytesDownloaded).toBe(0);
    expect(service.calls).toEqual([]);
    expect(logger.infos.some((line) => line.includes('is already in'))).toBe(true);
  });

  test('a cache service that is down costs a warning, and the run goes on with the Hub', async () => {
    process.env.ACTIONS_RESULTS_URL = await unreachableUrl();

    const logger = recordingLogger();
    const result = await downloadWithActionsCache(request(await makeTempDir()), logger);
    expect(result).toMatchObject({ restored: false, saved: false });
    expect(result.snapshot.files).toHaveLength(2);
    expect(actionsLog.join('')).toMatch(/::warning::Failed to restore: .*ECONNREFUSED/);
    expect(logger.warnings).toEqual([
      expect.stringMatching(
        /^the Actions cache did not save quantgate-hf-model-.*; the next run downloads from the Hub again$/,
      ),
    ]);
  });

  test('a read-only cache (save refused) costs a warning, and the run goes on', async () => {
    service.readOnly = true;
    const logger = recordingLogger();
    const result = await downloadWithActionsCache(request(await makeTempDir()), logger);
    expect(result).toMatchObject({ restored: false, saved: false });
    expect(result.snapshot.bytesDownloaded).toBe(WEIGHTS.length + CONFIG.length);
    expect(actionsLog.join('')).toMatch(/::warning::Failed to save: .*cache write denied/);
    expect(logger.warnings).toHaveLength(1);
    expect(service.savedKeys).toEqual([]);
  });

  test('outside GitHub Actions the cache is skipped with a note', async () => {
    delete process.env.ACTIONS_RESULTS_URL;
    const logger = recordingLogger();
    const result = await downloadWithActionsCache(request(await makeTempDir()), logger);
    expect(result.snapshot.files).toHaveLength(2);
    expect(logger.infos).toEqual([expect.stringMatching(/Actions cache service is not available here/)]);
    expect(service.calls).toEqual([]);
  });
});
