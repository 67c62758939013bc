import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultResultsStoreRoot, ResultsStore } from '../../src/reuse/results-store.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

const KEY = 'ab'.repeat(32);

async function storeWithEntry() {
  const dir = await makeTempDir();
  await writeFile(join(dir, 'transcripts.json'), '{"a":"hello"}');
  await writeFile(join(dir, 'reference_base.bin'), Buffer.from([1, 2, 3, 4]));
  const warnings: string[] = [];
  const store = new ResultsStore(join(dir, 'store'), (message) => warnings.push(message));
  await store.put(KEY, [
    { name: 'transcripts.json', path: join(dir, 'transcripts.json') },
    { name: 'reference_base.bin', path: join(dir, 'reference_base.bin') },
  ]);
  return { store, warnings };
}

test('an entry put is got back whole, under the key', async () => {
  const { store, warnings } = await storeWithEntry();
  const entry = await store.get(KEY);
  expect(entry).toEqual({ dir: store.entryDir(KEY), names: ['transcripts.json', 'reference_base.bin'] });
  expect(await readFile(join(entry!.dir, 'transcripts.json'), 'utf8')).toBe('{"a":"hello"}');
  expect(await store.get('cd'.repeat(32))).toBeUndefined();
  expect(warnings).toEqual([]);
});

test.each<[string, (dir: string) => Promise<void>]>([
  ['a changed byte', async (dir) => writeFile(join(dir, 'reference_base.bin'), Buffer.from([1, 2, 3, 5]))],
  ['a truncated file', async (dir) => writeFile(join(dir, 'transcripts.json'), '{"a":')],
  ['a missing file', async (dir) => (await import('node:fs/promises')).rm(join(dir, 'transcripts.json'))],
  ['a broken entry list', async (dir) => writeFile(join(dir, 'entry.json'), '{"version":1,')],
  [
    'an entry of another key',
    async (dir) => {
      const entry = JSON.parse(await readFile(join(dir, 'entry.json'), 'utf8'));
      await writeFile(join(dir, 'entry.json'), JSON.stringify({ ...entry, key: 'cd'.repeat(32) }));
    },
  ],
])('%s makes the entry damaged: reported, removed, and missing', async (_case, damage) => {
  const { store, warnings } = await storeWithEntry();
  await damage(store.entryDir(KEY));
  expect(await store.get(KEY)).toBeUndefined();
  expect(warnings).toEqual([
    expect.stringMatching(/^the stored results abababababab… are damaged \(.+\); evaluating again and replacing them$/),
  ]);
  expect(await readdir(join(store.root, 'ab'))).toEqual([]);
});

test('a put replaces an earlier entry of the same key', async () => {
  const { store } = await storeWithEntry();
  const dir = await makeTempDir();
  await writeFile(join(dir, 'transcripts.json'), '{"a":"new"}');
  await store.put(KEY, [{ name: 'transcripts.json', path: join(dir, 'transcripts.json') }]);
  const entry = await store.get(KEY);
  expect(entry!.names).toEqual(['transcripts.json']);
  expect(await readFile(join(entry!.dir, 'transcripts.json'), 'utf8')).toBe('{"a":"new"}');
});

test('keys that are not sha256 hex are refused; the default root follows XDG_CACHE_HOME', () => {
  expect(() => new ResultsStore('/x').entryDir('../etc')).toThrow(RangeError);
  expect(defaultResultsStoreRoot({ XDG_CACHE_HOME: '/c' })).toBe(join('/c', 'quantgate', 'results'));
  expect(defaultResultsStoreRoot({ HOME: '/h' })).toBe(join('/h', '.cache', 'quantgate', 'results'));
  expect(defaultResultsStoreRoot({})).toBeUndefined();
});
