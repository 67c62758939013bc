// The license carried over from the source model's card: read from a local model folder, or from the
// Hub at the recorded commit (never in a dry run); a card without one, or no card, gives none.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { licenseOf, sourceLicense } from '../../src/publish/source-license.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { FakeHub } from '../servers/fake-hub.js';

let hub: FakeHub;
let commit: string;

beforeAll(async () => {
  hub = await FakeHub.start();
  hub.createRepo('kyutai/stt-1b-en_fr');
  commit = await hub.commit('kyutai/stt-1b-en_fr', [
    { path: 'README.md', content: Buffer.from('---\nlicense: cc-by-4.0\nlanguage: [en, fr]\n---\n\n# STT\n') },
  ]);
});

afterAll(async () => {
  await hub.close();
  await removeTempDirs();
});

test('the front matter’s license, and none for a card without one or with broken YAML', () => {
  expect(licenseOf('---\nlicense: apache-2.0\ntags: [asr]\n---\nbody')).toBe('apache-2.0');
  expect(licenseOf('---\ntags: [asr]\n---\nbody')).toBeUndefined();
  expect(licenseOf('# no front matter\nlicense: mit\n')).toBeUndefined();
  expect(licenseOf('---\nlicense: [unclosed\n---\n')).toBeUndefined();
});

test('a local model folder’s README.md is read', async () => {
  const dir = join(await makeTempDir(), 'model');
  await mkdir(dir);
  expect(await sourceLicense({ path: dir }, { hubUrl: hub.url })).toBeUndefined();
  await writeFile(join(dir, 'README.md'), '---\nlicense: mit\n---\n');
  expect(await sourceLicense({ path: dir }, { hubUrl: hub.url, offline: true })).toBe('mit');
});

test('a Hub model’s card is read at the recorded commit, and not at all offline', async () => {
  const source = { repoId: 'kyutai/stt-1b-en_fr', revision: commit };
  expect(await sourceLicense(source, { hubUrl: hub.url })).toBe('cc-by-4.0');
  const requests = hub.requests.length;
  expect(await sourceLicense(source, { hubUrl: hub.url, offline: true })).toBeUndefined();
  expect(hub.requests.length).toBe(requests);
  expect(await sourceLicense({ repoId: 'kyutai/absent' }, { hubUrl: hub.url })).toBeUndefined();
});
