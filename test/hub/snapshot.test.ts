import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { downloadSnapshot, type SnapshotRequest } from '../../src/hub/snapshot.js';
import { FakeHub, type FakeFile } from '../servers/fake-hub.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { quantgateRejection } from '../helpers/rejection.js';
import { recordingProgress } from '../helpers/progress.js';

const REPO = 'kyutai/stt-tiny';
// Few retries and short waits keep the fault tests fast.
const FAST_RETRY = { attempts: 3, baseDelayMs: 5, stallTimeoutMs: 300 };

/** Deterministic pseudo-random bytes, so content hashes differ between files. */
function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let state = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const WEIGHTS = bytes(200_000, 1);
const MIMI = bytes(50_000, 2);
const CONFIG = JSON.stringify({ dim: 2048, num_layers: 16 });
const TOKENIZER = bytes(3000, 3);
const MODEL_FILES: FakeFile[] = [
  { path: 'model.safetensors', content: WEIGHTS },
  { path: 'mimi/encoder.safetensors', content: MIMI },
  { path: 'config.json', content: CONFIG },
  { path: 'tokenizer_en_fr_audio_8000.model', content: TOKENIZER },
  { path: 'README.md', content: '# tiny\n' },
  { path: 'pytorch_model.bin', content: bytes(1000, 4) },
];

let hub: FakeHub;

beforeEach(async () => {
  hub = await FakeHub.start({ pageSize: 3 });
  hub.createRepo(REPO);
});
afterEach(() => hub.close());
afterAll(removeTempDirs);

async function download(cacheDir: string, overrides: Partial<SnapshotRequest> = {}) {
  return downloadSnapshot({ repoId: REPO, cacheDir, hubUrl: hub.url, env: {}, retry: FAST_RETRY, ...overrides });
}

/** Every file under `dir`, as paths relative to it. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('downloadSnapshot', () => {
  test('downloads the wanted files into the Hugging Face cache layout and records the commit', async () => {
    const sha = await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    const progress = recordingProgress();
    const result = await download(cacheDir, { progress });

    const repoDir = join(cacheDir, 'models--kyutai--stt-tiny');
    expect(result).toMatchObject({
      repoId: REPO,
      repoType: 'model',
      revision: sha,
      requestedRevision: 'main',
      dir: join(repoDir, 'snapshots', sha),
    });
    expect(result.files.map((file) => file.path).sort()).toEqual([
      'config.json',
      'mimi/encoder.safetensors',
      'model.safetensors',
      'tokenizer_en_fr_audio_8000.model',
    ]);
    expect(result.files.find((file) => file.path === 'model.safetensors')).toEqual({
      path: 'model.safetensors',
      size: WEIGHTS.length,
      sha256: sha256(WEIGHTS),
      fromCache: false,
    });
    expect(result.files.find((file) => file.path === 'config.json')?.sha256).toBeUndefined();
    expect(result.bytesDownloaded).toBe(WEIGHTS.length + MIMI.length + CONFIG.length + TOKENIZER.length);

    expect(sha256(await readFile(join(result.dir, 'model.safetensors')))).toBe(sha256(WEIGHTS));
    expect(sha256(await readFile(join(result.dir, 'mimi/encoder.safetensors')))).toBe(sha256(MIMI));
    expect(await readFile(join(result.dir, 'config.json'), 'utf8')).toBe(CONFIG);
    // huggingface_hub's layout: relative links to blobs named by sha256 (LFS) or git blob sha1.
    expect(await readlink(join(result.dir, 'mimi/encoder.safetensors'))).toBe(`../../../blobs/${sha256(MIMI)}`);
    const gitSha1 = createHash('sha1').update(`blob ${CONFIG.length}\0${CONFIG}`).digest('hex');
    expect(await readlink(join(result.dir, 'config.json'))).toBe(`../../blobs/${gitSha1}`);
    expect(await readFile(join(repoDir, 'refs', 'main'), 'utf8')).toBe(sha);
    expect((await readdir(join(repoDir, 'blobs'))).some((name) => name.endsWith('.incomplete'))).toBe(false);

    expect(hub.downloadsOf('pytorch_model.bin')).toEqual([]);
    expect(hub.downloadsOf('README.md')).toEqual([]);
    // LFS bytes come from the CDN (another origin), which never sees the token.
    expect(hub.requests.filter((request) => request.server === 'cdn').length).toBe(3);
  });

  test('a second run is served from the cache: no bytes fetched, nothing rehashed', async () => {
    await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    await download(cacheDir);
    const served = hub.bytesServed;
    const progress = recordingProgress();
    const tasks: string[] = [];
    const again = await download(cacheDir, {
      progress: {
        ...progress,
        task: (label) => (tasks.push(label), { advance: () => undefined, finish: () => undefined }),
      },
    });
    expect(again.bytesDownloaded).toBe(0);
    expect(again.files.every((file) => file.fromCache)).toBe(true);
    expect(hub.bytesServed).toBe(served);
    expect(tasks).toEqual([]);
  });

  test('a moved branch gets a new snapshot that reuses unchanged blobs', async () => {
    const first = await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    await download(cacheDir);
    const newConfig = JSON.stringify({ dim: 4096 });
    const second = await hub.commit(REPO, [
      ...MODEL_FILES.filter((file) => file.path !== 'config.json'),
      { path: 'config.json', content: newConfig },
    ]);
    const result = await download(cacheDir);
    expect(result.revision).toBe(second);
    expect(result.bytesDownloaded).toBe(newConfig.length);
    expect(result.files.filter((file) => !file.fromCache).map((file) => file.path)).toEqual(['config.json']);
    expect(await readFile(join(result.dir, 'config.json'), 'utf8')).toBe(newConfig);
    const repoDir = join(cacheDir, 'models--kyutai--stt-tiny');
    expect(await readFile(join(repoDir, 'refs', 'main'), 'utf8')).toBe(second);
    expect(await readFile(join(repoDir, 'snapshots', first, 'config.json'), 'utf8')).toBe(CONFIG);
  });

  test('files with identical content share one blob, fetched and linked once', async () => {
    await hub.commit(REPO, [
      { path: 'model.safetensors', content: WEIGHTS },
      { path: 'copy/model.safetensors', content: WEIGHTS },
    ]);
    const result = await download(await makeTempDir());
    expect(result.bytesDownloaded).toBe(WEIGHTS.length);
    expect(hub.requests.filter((request) => request.server === 'cdn')).toHaveLength(1);
    expect(sha256(await readFile(join(result.dir, 'copy/model.safetensors')))).toBe(sha256(WEIGHTS));
  });

  test('an empty file is linked without a request for its bytes, and a second run finds it cached', async () => {
    await hub.commit(REPO, [
      { path: 'config.json', content: CONFIG },
      { path: 'added_tokens.json', content: '' },
    ]);
    const cacheDir = await makeTempDir();
    const result = await download(cacheDir, { include: ['*.json'] });
    expect(result.files.map((file) => file.path).sort()).toEqual(['added_tokens.json', 'config.json']);
    expect(await readFile(join(result.dir, 'added_tokens.json'), 'utf8')).toBe('');
    expect(
      hub.requests.filter((request) => request.server === 'cdn' || request.path?.includes('/resolve/')),
    ).toHaveLength(1);
    expect((await download(cacheDir, { include: ['*.json'] })).bytesDownloaded).toBe(0);
  });

  test('a tag or a commit sha is resolved and recorded like a branch', async () => {
    const sha = await hub.commit(REPO, MODEL_FILES, { tag: 'v1.0' });
    const cacheDir = await makeTempDir();
    expect((await download(cacheDir, { revision: 'v1.0' })).revision).toBe(sha);
    expect(await readFile(join(cacheDir, 'models--kyutai--stt-tiny', 'refs', 'v1.0'), 'utf8')).toBe(sha);
    const bySha = await download(cacheDir, { revision: sha });
    expect(bySha).toMatchObject({ revision: sha, requestedRevision: sha, bytesDownloaded: 0 });
  });

  test('include and exclude globs pick the files, with fnmatch semantics', async () => {
    await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    const result = await download(cacheDir, { include: ['*.safetensors', '*.bin'], exclude: ['mimi/'] });
    expect(result.files.map((file) => file.path)).toEqual(['model.safetensors']);
    const error = await quantgateRejection(download(cacheDir, { include: ['*.gguf'] }));
    expect(error.message).toMatch(
      /no file matches --include \*\.gguf \(pickle checkpoints never do\); it has model\.safetensors, .*pytorch_model\.bin — adjust --include$/,
    );
  });

  test('pickle checkpoints are never downloaded, even when a glob lets them through, and the log says so', async () => {
    await hub.commit(REPO, MODEL_FILES);
    const progress = recordingProgress();
    const result = await download(await makeTempDir(), { include: ['*'], progress });
    expect(result.files.map((file) => file.path)).toContain('README.md');
    expect(result.files.map((file) => file.path)).not.toContain('pytorch_model.bin');
    expect(hub.downloadsOf('pytorch_model.bin')).toEqual([]);
    expect(progress.lines).toContain(
      'skipping pytorch_model.bin: pickle checkpoints (.bin, .pt, .pth, .ckpt, .pkl, .pickle) can run code when loaded, so quantgate never downloads them',
    );
    const onlyPickles = await quantgateRejection(download(await makeTempDir(), { include: ['*.bin'] }));
    expect(onlyPickles.message).toMatch(/no file matches --include \*\.bin/);
  });

  test('a dataset repo lives in datasets--org--name and is fetched through /datasets/', async () => {
    hub.createRepo('openslr/tiny-librispeech', { type: 'dataset' });
    const shard = bytes(5000, 9);
    await hub.commit('openslr/tiny-librispeech', [{ path: 'test/0000.parquet', content: shard }], { type: 'dataset' });
    const cacheDir = await makeTempDir();
    const result = await download(cacheDir, {
      repoId: 'openslr/tiny-librispeech',
      repoType: 'dataset',
      include: ['*.parquet'],
    });
    expect(result.dir).toContain(join(cacheDir, 'datasets--openslr--tiny-librispeech', 'snapshots'));
    expect(sha256(await readFile(join(result.dir, 'test/0000.parquet')))).toBe(sha256(shard));
    expect(hub.requests.some((request) => request.path.startsWith('/datasets/openslr/tiny-librispeech/resolve/'))).toBe(
      true,
    );
  });

  test('a file listed but missing on the Hub (404) fails at once, naming it', async () => {
    await hub.commit(REPO, MODEL_FILES);
    hub.fault({ path: 'config.json', kind: 'status', status: 404 });
    const error = await quantgateRejection(download(await makeTempDir()));
    expect(error.message).toMatch(/config\.json is listed but the Hub has no such file \(HTTP 404\)/);
    expect(hub.downloadsOf('config.json')).toHaveLength(1);
  });

  test('an unknown repo or revision says what to check', async () => {
    await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    expect((await quantgateRejection(download(cacheDir, { revision: 'no-such-branch' }))).message).toMatch(
      /^kyutai\/stt-tiny@no-such-branch: not found on .*HTTP 404.*check --model-id, --repo-type and --revision$/,
    );
    expect((await quantgateRejection(download(cacheDir, { repoId: 'kyutai/missing' }))).message).toMatch(
      /kyutai\/missing@main: not found/,
    );
  });

  test('a gated repo without a token (401) or with a token lacking access (403) explains how to get access', async () => {
    hub.createRepo(REPO, { tokens: ['hf_granted'] });
    await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    const anonymous = await quantgateRejection(download(cacheDir));
    expect(anonymous.message).toBe(
      `kyutai/stt-tiny: the Hub refused access (HTTP 401); the model is gated, private or does not exist — accept its terms on ${hub.url}/kyutai/stt-tiny or pass a token with access (--hf-token or HF_TOKEN)`,
    );
    const wrongToken = await quantgateRejection(download(cacheDir, { token: 'hf_other' }));
    expect(wrongToken.message).toMatch(
      /HTTP 403.*check that the token given \(--hf-token or HF_TOKEN\) has read access/,
    );
    const granted = await download(cacheDir, { env: { HF_TOKEN: 'hf_granted' } });
    expect(granted.files).toHaveLength(4);
  });

  test('the token goes to the Hub only, is handed to onSecret, and never reaches errors or files', async () => {
    const token = 'hf_SuperSecretToken123';
    hub.createRepo(REPO, { tokens: [token] });
    await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    const secrets: string[] = [];
    await download(cacheDir, { token, onSecret: (secret) => secrets.push(secret) });
    expect(secrets).toEqual([token]);
    expect(
      hub.requests
        .filter((request) => request.server === 'hub')
        .every((request) => request.authorization === `Bearer ${token}`),
    ).toBe(true);
    expect(
      hub.requests
        .filter((request) => request.server === 'cdn')
        .every((request) => request.authorization === undefined),
    ).toBe(true);

    // A server that echoes the Authorization header back in the error text the message quotes.
    const fresh = await makeTempDir();
    hub.fault({
      path: /\/revision\/main$/,
      kind: 'status',
      status: 404,
      body: (request) => `no such revision for ${request.headers.authorization}`,
    });
    const error = await quantgateRejection(download(fresh, { token }));
    expect(error.message).toContain('no such revision for Bearer ***');
    expect(`${error.message}\n${error.stack}\n${String(error.cause)}`).not.toContain(token);
    for (const dir of [cacheDir, fresh]) {
      for (const path of await tree(dir)) {
        if ((await lstat(join(dir, path))).isFile())
          expect((await readFile(join(dir, path))).includes(token)).toBe(false);
      }
    }
  });

  test('a 500 is retried and then succeeds', async () => {
    await hub.commit(REPO, MODEL_FILES);
    hub.fault({ path: 'model.safetensors', kind: 'status', status: 500, times: 2 });
    hub.fault({ path: /\/tree\//, kind: 'status', status: 503 });
    const progress = recordingProgress();
    const result = await download(await makeTempDir(), { progress });
    expect(result.files).toHaveLength(4);
    expect(hub.downloadsOf('model.safetensors').map((request) => request.status)).toEqual([500, 500, 302, 200]);
    expect(progress.lines.filter((line) => line.startsWith('model.safetensors: HTTP 500'))).toHaveLength(2);
    expect(progress.lines.some((line) => /Hub request .*\/tree\/.*: HTTP 503/.test(line))).toBe(true);
  });

  test('after N failures the error names the file and the last cause', async () => {
    await hub.commit(REPO, MODEL_FILES);
    hub.fault({ path: 'model.safetensors', kind: 'status', status: 502, times: FAST_RETRY.attempts });
    const error = await quantgateRejection(download(await makeTempDir()));
    expect(error.message).toMatch(/downloading model\.safetensors failed 3 times, last: HTTP 502/);
  });

  test('a body cut off midway resumes with a Range request from where the file ends', async () => {
    await hub.commit(REPO, MODEL_FILES);
    hub.fault({ path: 'model.safetensors', kind: 'truncate', afterBytes: 70_000 });
    const cacheDir = await makeTempDir();
    const result = await download(cacheDir);
    const cdn = hub.downloadsOf('model.safetensors').filter((request) => request.server === 'cdn');
    expect(cdn.map((request) => request.range)).toEqual([undefined, 'bytes=70000-']);
    expect(cdn[1]?.status).toBe(206);
    expect(sha256(await readFile(join(result.dir, 'model.safetensors')))).toBe(sha256(WEIGHTS));
    expect(result.bytesDownloaded).toBe(WEIGHTS.length + MIMI.length + CONFIG.length + TOKENIZER.length);
  });

  test('a partial download left by an earlier run resumes, and a server ignoring the range starts it over', async () => {
    await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    const incomplete = join(cacheDir, 'models--kyutai--stt-tiny', 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    hub.fault({ path: 'model.safetensors', kind: 'stall', afterBytes: 120_000 });
    await quantgateRejection(download(cacheDir, { retry: { ...FAST_RETRY, attempts: 1 } }));
    expect((await stat(incomplete)).size).toBe(120_000);

    // The other files downloaded alongside it completed in the failed run and are kept.
    const resumed = await download(cacheDir);
    expect(hub.downloadsOf('model.safetensors').at(-1)?.range).toBe('bytes=120000-');
    expect(resumed.bytesDownloaded).toBe(WEIGHTS.length - 120_000);

    const other = await makeTempDir();
    await download(other, { include: ['config.json'] });
    const otherIncomplete = join(other, 'models--kyutai--stt-tiny', 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    await writeFile(otherIncomplete, WEIGHTS.subarray(0, 1000));
    hub.fault({ path: 'model.safetensors', kind: 'ignore-range' });
    const restarted = await download(other, { include: ['model.safetensors'] });
    expect(sha256(await readFile(join(restarted.dir, 'model.safetensors')))).toBe(sha256(WEIGHTS));
    expect(restarted.bytesDownloaded).toBe(WEIGHTS.length);
  });

  test('corrupt bytes are deleted and downloaded again; a server that keeps corrupting gets a clear error', async () => {
    await hub.commit(REPO, MODEL_FILES);
    hub.fault({ path: 'model.safetensors', kind: 'corrupt' });
    const progress = recordingProgress();
    const cacheDir = await makeTempDir();
    const result = await download(cacheDir, { progress });
    expect(sha256(await readFile(join(result.dir, 'model.safetensors')))).toBe(sha256(WEIGHTS));
    expect(
      progress.lines.some((line) =>
        line.startsWith(`model.safetensors: the bytes received do not match the sha256 ${sha256(WEIGHTS)}`),
      ),
    ).toBe(true);

    hub.fault({ path: 'model.safetensors', kind: 'corrupt', times: FAST_RETRY.attempts });
    const fresh = await makeTempDir();
    const error = await quantgateRejection(download(fresh));
    expect(error.message).toMatch(
      /downloading model\.safetensors failed 3 times, last: the bytes received do not match the sha256/,
    );
    const blobs = await readdir(join(fresh, 'models--kyutai--stt-tiny', 'blobs'));
    expect(blobs.filter((name) => name.startsWith(sha256(WEIGHTS)))).toEqual([]);
  });

  test('a blob of 16 MiB or more, hashed by a worker thread as it arrives, resumes, restarts and is checked alike', async () => {
    const large = bytes(17 * 2 ** 20 + 3, 9);
    await hub.commit(REPO, [
      { path: 'model.safetensors', content: large },
      { path: 'config.json', content: CONFIG },
    ]);
    const blob = (cacheDir: string) => join(cacheDir, 'models--kyutai--stt-tiny', 'blobs', sha256(large));

    hub.fault({ path: 'model.safetensors', kind: 'truncate', afterBytes: 5_000_000 });
    const resumed = await makeTempDir();
    await download(resumed);
    expect(
      hub
        .downloadsOf('model.safetensors')
        .filter((request) => request.server === 'cdn')
        .map((request) => request.range),
    ).toEqual([undefined, 'bytes=5000000-']);
    expect(sha256(await readFile(blob(resumed)))).toBe(sha256(large));

    hub.fault({ path: 'model.safetensors', kind: 'corrupt' });
    const progress = recordingProgress();
    const corrupted = await makeTempDir();
    await download(corrupted, { progress });
    expect(
      progress.lines.some((line) =>
        line.startsWith(`model.safetensors: the bytes received do not match the sha256 ${sha256(large)}`),
      ),
    ).toBe(true);
    expect(sha256(await readFile(blob(corrupted)))).toBe(sha256(large));

    const restarted = await makeTempDir();
    await download(restarted, { include: ['config.json'] });
    await writeFile(`${blob(restarted)}.incomplete`, Buffer.alloc(1000, 1));
    hub.fault({ path: 'model.safetensors', kind: 'ignore-range' });
    expect((await download(restarted)).bytesDownloaded).toBe(large.length);
    expect(sha256(await readFile(blob(restarted)))).toBe(sha256(large));
  });

  test('a blob damaged in the cache is caught when its fingerprint changes, deleted and fetched again', async () => {
    await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    const first = await download(cacheDir);
    const blob = join(cacheDir, 'models--kyutai--stt-tiny', 'blobs', sha256(WEIGHTS));
    const damaged = Buffer.from(WEIGHTS);
    damaged[100] ^= 1;
    await writeFile(blob, damaged);
    const progress = recordingProgress();
    const again = await download(cacheDir, { progress });
    expect(again.bytesDownloaded).toBe(WEIGHTS.length);
    expect(progress.lines.some((line) => line.includes('does not match its hash; deleting it'))).toBe(true);
    expect(sha256(await readFile(join(first.dir, 'model.safetensors')))).toBe(sha256(WEIGHTS));
    // A blob of the wrong size needs no hashing to be refused.
    await writeFile(blob, WEIGHTS.subarray(0, 10));
    expect((await download(cacheDir)).bytesDownloaded).toBe(WEIGHTS.length);
  });

  test('a listed path that would escape the snapshot folder is refused before anything is written', async () => {
    for (const path of [
      '../../../evil.json',
      '/etc/evil.json',
      'a//b.json',
      'dir\\..\\evil.json',
      'C:evil.json',
      './config.json',
    ]) {
      const hubForPath = await FakeHub.start();
      hubForPath.createRepo(REPO);
      await hubForPath.commit(REPO, [
        { path: 'config.json', content: CONFIG },
        { path, content: '{}' },
      ]);
      const cacheDir = await makeTempDir();
      const error = await quantgateRejection(
        downloadSnapshot({ repoId: REPO, cacheDir, hubUrl: hubForPath.url, env: {}, retry: FAST_RETRY }),
      );
      await hubForPath.close();
      expect(error.message).toContain(`repo file "${path}" is unsafe`);
      expect(hubForPath.requests.some((request) => request.path.includes('/resolve/'))).toBe(false);
      expect(await tree(join(cacheDir, 'models--kyutai--stt-tiny')).catch(() => [])).not.toContain('snapshots');
    }
  });

  test('a server that stalls is cut off after the stall timeout, retried, then reported', async () => {
    await hub.commit(REPO, MODEL_FILES);
    hub.fault({ path: 'model.safetensors', kind: 'stall', afterBytes: 1000, times: FAST_RETRY.attempts });
    const started = performance.now();
    const error = await quantgateRejection(download(await makeTempDir()));
    expect(error.message).toMatch(/downloading model\.safetensors failed 3 times, last: no data for 0\.3 s/);
    expect(performance.now() - started).toBeLessThan(5000);
    const cdn = hub.downloadsOf('model.safetensors').filter((request) => request.server === 'cdn');
    expect(cdn.map((request) => request.range)).toEqual([undefined, 'bytes=1000-', 'bytes=2000-']);
  });

  test('an API request that gets no answer is cut off and retried', async () => {
    await hub.commit(REPO, MODEL_FILES);
    hub.fault({ path: /\/revision\/main$/, kind: 'hang' });
    const progress = recordingProgress();
    const result = await download(await makeTempDir(), { progress });
    expect(result.files).toHaveLength(4);
    expect(
      progress.lines.some((line) => /Hub request .*\/revision\/main: no data for 0\.3 s; try 2 of 3 in /.test(line)),
    ).toBe(true);
  });

  test('offline mode uses refs/ and the cache only, and names what is missing', async () => {
    const sha = await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    await download(cacheDir, { include: ['*.json', 'model.safetensors'] });
    const requestsBefore = hub.requests.length;

    const hit = await download(cacheDir, { offline: true, include: ['*.json', 'model.safetensors'] });
    expect(hit).toMatchObject({ revision: sha, bytesDownloaded: 0 });
    expect(sha256(await readFile(join(hit.dir, 'model.safetensors')))).toBe(sha256(WEIGHTS));
    expect(
      (await download(cacheDir, { env: { HF_HUB_OFFLINE: '1' }, revision: sha, include: ['config.json'] })).files,
    ).toHaveLength(1);

    const miss = await quantgateRejection(download(cacheDir, { offline: true }));
    expect(miss.message).toMatch(
      /^offline: 2 file\(s\) of kyutai\/stt-tiny@[0-9a-f]{40} are missing or damaged in .*: mimi\/encoder\.safetensors, tokenizer_en_fr_audio_8000\.model; run once online \(no --offline, HF_HUB_OFFLINE unset\)/,
    );
    expect((await quantgateRejection(download(cacheDir, { offline: true, revision: 'v2' }))).message).toMatch(
      /^offline: kyutai\/stt-tiny@v2 was never resolved online/,
    );
    expect((await quantgateRejection(download(await makeTempDir(), { offline: true, revision: sha }))).message).toMatch(
      /is not in the cache/,
    );
    expect(hub.requests.length).toBe(requestsBefore);
  });

  test('offline mode also reads a snapshot another tool put in the cache', async () => {
    const sha = await hub.commit(REPO, MODEL_FILES);
    const cacheDir = await makeTempDir();
    await download(cacheDir);
    await rm(join(cacheDir, 'models--kyutai--stt-tiny', '.quantgate'), { recursive: true });
    const progress = recordingProgress();
    const tasks: string[] = [];
    const result = await download(cacheDir, {
      offline: true,
      progress: {
        ...progress,
        task: (label) => (tasks.push(label), { advance: () => undefined, finish: () => undefined }),
      },
    });
    expect(result.revision).toBe(sha);
    expect(result.files.map((file) => file.path).sort()).toEqual([
      'config.json',
      'mimi/encoder.safetensors',
      'model.safetensors',
      'tokenizer_en_fr_audio_8000.model',
    ]);
    // Without quantgate's record, each blob is hashed once against its name.
    expect(tasks).toEqual(['verifying kyutai/stt-tiny']);
  });

  test('HF_HUB_CACHE, then HF_HOME/hub, choose the cache when no folder is given', async () => {
    await hub.commit(REPO, MODEL_FILES);
    const home = await makeTempDir();
    const hubCache = await makeTempDir();
    const viaHome = await downloadSnapshot({
      repoId: REPO,
      hubUrl: hub.url,
      env: { HF_HOME: home },
      include: ['config.json'],
    });
    expect(relative(home, viaHome.dir)).toBe(join('hub', 'models--kyutai--stt-tiny', 'snapshots', viaHome.revision));
    const viaHubCache = await downloadSnapshot({
      repoId: REPO,
      env: { HF_HOME: home, HF_HUB_CACHE: hubCache, HF_ENDPOINT: hub.url },
      include: ['config.json'],
    });
    expect(relative(hubCache, viaHubCache.dir)).toBe(
      join('models--kyutai--stt-tiny', 'snapshots', viaHubCache.revision),
    );
  });
});
