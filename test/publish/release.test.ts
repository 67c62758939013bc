import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { createGitHubClient } from '../../src/publish/github.js';
import { uploadReleaseAssets } from '../../src/publish/release.js';
import { FakeGitHubApi } from '../servers/fake-github-api.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { byteShardModel } from './published-model.js';

let github: FakeGitHubApi;
const writer = () => createGitHubClient({ apiUrl: github.url, token: 'writer-token' });
const reader = () => createGitHubClient({ apiUrl: github.url, token: 'reader-token' });

beforeAll(async () => {
  github = await FakeGitHubApi.start({ tokens: { 'writer-token': 'write', 'reader-token': 'read' }, maxPerPage: 2 });
});
afterAll(async () => {
  await github.close();
  await removeTempDirs();
});

describe('uploadReleaseAssets', () => {
  test('creates the missing release at the given commit and uploads every file under its base name', async () => {
    const model = await byteShardModel();
    const info: string[] = [];
    const upload = await uploadReleaseAssets({
      client: writer(),
      release: { owner: 'octo', repo: 'models', tag: 'v1.0.0' },
      files: model.all,
      targetCommitish: 'abc123',
      logger: { info: (message) => info.push(message), notice: () => undefined },
    });
    const release = github.releases.find((candidate) => candidate.tag === 'v1.0.0')!;
    expect(release).toMatchObject({ repo: 'octo/models', targetCommitish: 'abc123', draft: false });
    expect(release.assets.map((asset) => asset.name)).toEqual(model.all.map((path) => basename(path)));
    for (const path of model.all)
      expect(release.assets.find((asset) => asset.name === basename(path))!.data).toEqual(await readFile(path));
    expect(upload.assets.map((asset) => asset.size)).toEqual(release.assets.map((asset) => asset.data.byteLength));
    expect(info).toEqual([
      expect.stringMatching(/^created release v1\.0\.0: /),
      `uploaded ${model.all.length} files to https://github.com/octo/models/releases/tag/v1.0.0`,
    ]);
  });

  test('a re-run replaces same-named assets instead of adding copies, and keeps the others', async () => {
    github.addRelease('octo/models', 'v2', [
      { name: 'notes.txt', data: Buffer.from('kept') },
      { name: 'a', data: Buffer.from('1') },
      { name: 'b', data: Buffer.from('2') },
      { name: 'manifest.json', data: Buffer.from('stale') },
    ]);
    const model = await byteShardModel();
    const before = github.requests.length;
    await uploadReleaseAssets({
      client: writer(),
      release: { owner: 'octo', repo: 'models', tag: 'v2' },
      files: [model.manifestPath],
    });
    const release = github.releases.find((candidate) => candidate.tag === 'v2')!;
    expect(release.assets.map((asset) => asset.name).sort()).toEqual(['a', 'b', 'manifest.json', 'notes.txt']);
    expect(release.assets.find((asset) => asset.name === 'manifest.json')!.data).toEqual(
      await readFile(model.manifestPath),
    );
    // Tag lookup, then the asset list in pages of two (the old manifest is on the second), then delete and upload.
    expect(github.requests.slice(before).map((request) => `${request.method} ${request.status}`)).toEqual([
      'GET 200',
      'GET 200',
      'GET 200',
      'DELETE 204',
      'POST 201',
    ]);
  });

  test('refuses names GitHub would rename and two files with one base name, before any request', async () => {
    const dir = await makeTempDir();
    await mkdir(join(dir, 'one'));
    await mkdir(join(dir, 'two'));
    for (const path of ['with space.gguf', '.hidden', 'one/x.gguf', 'two/x.gguf'])
      await writeFile(join(dir, path), 'x');
    const before = github.requests.length;
    const release = { owner: 'octo', repo: 'models', tag: 'v3' };
    await expect(
      uploadReleaseAssets({ client: writer(), release, files: [join(dir, 'with space.gguf')] }),
    ).rejects.toThrow(`GitHub would rename "with space.gguf"`);
    await expect(uploadReleaseAssets({ client: writer(), release, files: [join(dir, '.hidden')] })).rejects.toThrow(
      /no leading or trailing dot/,
    );
    await expect(
      uploadReleaseAssets({ client: writer(), release, files: [join(dir, 'one/x.gguf'), join(dir, 'two/x.gguf')] }),
    ).rejects.toThrow(
      `${join(dir, 'one/x.gguf')} and ${join(dir, 'two/x.gguf')} would both be release asset x.gguf (releases have no folders); give them different file names`,
    );
    expect(github.requests.length).toBe(before);
  });

  test('jobs uploading to one new tag at once share one release', async () => {
    const [one, two] = [await byteShardModel(), await byteShardModel()];
    const release = { owner: 'octo', repo: 'models', tag: 'v-matrix' };
    await Promise.all([
      uploadReleaseAssets({ client: writer(), release, files: [one.files[0]!] }),
      uploadReleaseAssets({ client: writer(), release, files: [two.files[1]!] }),
    ]);
    const made = github.releases.filter((candidate) => candidate.tag === 'v-matrix');
    expect(made).toHaveLength(1);
    expect(made[0]!.assets.map((asset) => asset.name).sort()).toEqual(['shard-aa', 'shard-ab']);
  });

  test('a draft holding the tag is named as the likely cause', async () => {
    github.addRelease('octo/models', 'v-draft').draft = true;
    const model = await byteShardModel();
    await expect(
      uploadReleaseAssets({
        client: writer(),
        release: { owner: 'octo', repo: 'models', tag: 'v-draft' },
        files: [model.manifestPath],
      }),
    ).rejects.toThrow(
      /^creating release v-draft of octo\/models failed: GitHub refused it \(Validation Failed.*\); if a draft release holds the tag, publish or delete it, else check the tag name$/,
    );
  });

  test('a read-only token is told which permission it lacks', async () => {
    const model = await byteShardModel();
    const error = await uploadReleaseAssets({
      client: reader(),
      release: { owner: 'octo', repo: 'models', tag: 'v4' },
      files: [model.manifestPath],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QuantgateError);
    expect((error as Error).message).toBe(
      'creating release v4 of octo/models failed: the token may not do this (403 Resource not accessible by integration); give the workflow `permissions: contents: write` or use a token with that access',
    );
  });

  test('an API that cannot be reached gives one clear line', async () => {
    const down = await FakeGitHubApi.start();
    const url = down.url;
    await down.close();
    const model = await byteShardModel();
    await expect(
      uploadReleaseAssets({
        client: createGitHubClient({ apiUrl: url, token: 't' }),
        release: { owner: 'o', repo: 'r', tag: 'v' },
        files: [model.manifestPath],
      }),
    ).rejects.toThrow(
      /^looking up release v of o\/r failed: the GitHub API cannot be reached \(.*ECONNREFUSED.*\); check the network and GITHUB_API_URL, then run again$/,
    );
  });
});
