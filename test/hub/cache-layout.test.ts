import { mkdir, readlink, readFile, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkRepoId, defaultCacheDir, hfHome, RepoCache } from '../../src/hub/cache-layout.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

const COMMIT = 'a'.repeat(40);
const BLOB = 'b'.repeat(64);

describe('where the cache is', () => {
  test('HF_HUB_CACHE wins, then the legacy HUGGINGFACE_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCacheDir({ HF_HUB_CACHE: '/a', HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c' })).toBe('/a');
    expect(defaultCacheDir({ HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c' })).toBe('/b');
    expect(defaultCacheDir({ HF_HOME: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c/hub');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(defaultCacheDir({})).toBe(join(homedir(), '.cache', 'huggingface', 'hub'));
    expect(hfHome({ HF_HOME: '' })).toBe(join(homedir(), '.cache', 'huggingface'));
  });
});

describe('repo ids', () => {
  test.each(['kyutai/stt-1b-en_fr', 'openslr/librispeech_asr', 'gpt2', 'org/v1.5'])('accepts %s', (id) => {
    expect(checkRepoId(id)).toBe(id);
  });
  test.each(['', 'a/b/c', '../x', 'org/..', 'org/a--b', '/abs', 'org/', 'org/na me'])('refuses %j', (id) => {
    expect(() => checkRepoId(id)).toThrow(`repo id "${id}" is not valid`);
  });
});

describe('RepoCache', () => {
  test('names folders like huggingface_hub: <type>s--org--name, with blobs, snapshots and refs inside', async () => {
    const cacheDir = await makeTempDir();
    const cache = new RepoCache(cacheDir, { type: 'dataset', id: 'openslr/librispeech_asr' });
    expect(cache.dir).toBe(join(cacheDir, 'datasets--openslr--librispeech_asr'));
    expect(cache.blobPath(BLOB)).toBe(join(cache.dir, 'blobs', BLOB));
    expect(cache.incompletePath(BLOB)).toBe(join(cache.dir, 'blobs', `${BLOB}.incomplete`));
    expect(cache.snapshotFile(COMMIT, 'test/0.parquet')).toBe(
      join(cache.dir, 'snapshots', COMMIT, 'test', '0.parquet'),
    );
    expect(() => cache.blobPath('../../x')).toThrow(/is not a sha256 or git sha1/);
    expect(() => cache.snapshotDir('main')).toThrow(/not a 40-hex commit sha/);
  });

  test('refs hold the bare commit sha, nested for names with slashes, and refuse unsafe names', async () => {
    const cache = new RepoCache(await makeTempDir(), { type: 'model', id: 'org/name' });
    await cache.writeRef('refs/pr/1', COMMIT);
    expect(await readFile(join(cache.dir, 'refs', 'refs', 'pr', '1'), 'utf8')).toBe(COMMIT);
    expect(await cache.readRef('refs/pr/1')).toBe(COMMIT);
    expect(await cache.readRef('main')).toBeUndefined();
    await mkdir(join(cache.dir, 'refs'), { recursive: true });
    await writeFile(join(cache.dir, 'refs', 'main'), `${COMMIT}\n`);
    expect(await cache.readRef('main')).toBe(COMMIT);
    await expect(cache.writeRef('../../escape', COMMIT)).rejects.toThrow(/revision "..\/..\/escape" is unsafe/);
  });

  test('links are relative, replaced when they point elsewhere, and only blobs/ targets count', async () => {
    const cache = new RepoCache(await makeTempDir(), { type: 'model', id: 'org/name' });
    const other = 'c'.repeat(40);
    await cache.link(COMMIT, 'sub/dir/file.json', BLOB);
    const link = cache.snapshotFile(COMMIT, 'sub/dir/file.json');
    expect(await readlink(link)).toBe(`../../../../blobs/${BLOB}`);
    expect(await cache.linkedBlob(COMMIT, 'sub/dir/file.json')).toBe(BLOB);
    await cache.link(COMMIT, 'sub/dir/file.json', other);
    expect(await readlink(link)).toBe(`../../../../blobs/${other}`);
    await symlink(`/elsewhere/${BLOB}`, cache.snapshotFile(COMMIT, 'abs.json'));
    expect(await cache.linkedBlob(COMMIT, 'abs.json')).toBeUndefined();
    expect(await cache.linkedBlob(COMMIT, 'missing.json')).toBeUndefined();
  });
});
