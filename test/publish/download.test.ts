import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { verifyManifest } from '../../src/formats/gguf/manifest.js';
import { FakeArtifactService } from '../servers/fake-artifact-service.js';
import { FakeGitHubApi } from '../servers/fake-github-api.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { byteShardModel, splitModel, type PublishedModel } from './published-model.js';

// @actions/github fixes its API root when first imported, so the environment is set first.
const savedEnv = { ...process.env };
let service: FakeArtifactService;
let github: FakeGitHubApi;
let download: typeof import('../../src/publish/download.js');
let publish: typeof import('../../src/publish/release.js');
let artifacts: typeof import('../../src/publish/artifacts.js');
let client: import('../../src/publish/github.js').GitHubClient;

beforeAll(async () => {
  service = await FakeArtifactService.start();
  github = await FakeGitHubApi.start({
    tokens: { 'writer-token': 'write', 'reader-token': 'read' },
    artifactDownloadUrl: (id) => service.downloadUrl(id),
  });
  Object.assign(process.env, service.env, {
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'octo/models',
    GITHUB_RUN_ID: '77',
  });
  download = await import('../../src/publish/download.js');
  publish = await import('../../src/publish/release.js');
  artifacts = await import('../../src/publish/artifacts.js');
  client = (await import('../../src/publish/github.js')).createGitHubClient({
    apiUrl: github.url,
    token: 'writer-token',
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await service.close();
  await github.close();
  await removeTempDirs();
});

let tags = 0;
async function released(model: PublishedModel): Promise<{ owner: string; repo: string; tag: string }> {
  const release = { owner: 'octo', repo: 'models', tag: `v0.${++tags}` };
  await publish.uploadReleaseAssets({ client, release, files: model.all });
  return release;
}

/** An output folder that already holds a file of the user's. */
async function outputFolder(): Promise<string> {
  const out = await makeTempDir();
  await writeFile(join(out, 'keep.txt'), 'mine');
  return out;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('downloadFromRelease', () => {
  test('rebuilds byte shards into the original GGUF, byte for byte', async () => {
    const model = await byteShardModel(4096);
    const release = await released(model);
    const out = await outputFolder();
    const result = await download.downloadFromRelease({ client, release, out });
    expect(result).toMatchObject({ format: 'bytes', files: [join(out, 'stt-1b-en_fr.gguf')] });
    expect(await readFile(join(out, 'stt-1b-en_fr.gguf'))).toEqual(model.original);
    expect((await readdir(out)).sort()).toEqual(['keep.txt', 'stt-1b-en_fr.gguf']);
  });

  test('keeps gguf-split files as they are, with a manifest that verifies them', async () => {
    const model = await splitModel();
    const out = await outputFolder();
    const result = await download.downloadFromRelease({
      client,
      release: await released(model),
      out,
      ggufName: 'unused.gguf',
    });
    expect(result.files).toEqual([...model.files.map((path) => join(out, basename(path))), join(out, 'manifest.json')]);
    for (const path of model.files) expect(await readFile(join(out, basename(path)))).toEqual(await readFile(path));
    await expect(verifyManifest(join(out, 'manifest.json'))).resolves.toMatchObject({ format: 'gguf-split' });
  });

  test('a shard whose bytes differ from the manifest is refused and nothing is written', async () => {
    const model = await byteShardModel(4096);
    const release = await released(model);
    const asset = github.releases
      .find((candidate) => candidate.tag === release.tag)!
      .assets.find((candidate) => candidate.name === 'shard-ac')!;
    asset.served = Buffer.from(asset.data);
    asset.served[100] ^= 0x01;
    const out = await outputFolder();
    const error = await download.downloadFromRelease({ client, release, out }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QuantgateError);
    expect((error as Error).message).toBe(
      `shard-ac from release ${release.tag} of octo/models has sha256 ${sha256(asset.served)}, but its manifest lists ${sha256(asset.data)}; it was corrupted on the way or changed after publishing — download again, and publish again if it persists`,
    );
    expect(await readdir(out)).toEqual(['keep.txt']);
  });

  test('a file longer than listed is cut off at once, and one too short is refused', async () => {
    const model = await splitModel();
    const release = await released(model);
    const [first, second] = github.releases.find((candidate) => candidate.tag === release.tag)!.assets;
    first!.served = Buffer.concat([first!.data, Buffer.from('extra')]);
    const out = await outputFolder();
    await expect(download.downloadFromRelease({ client, release, out })).rejects.toThrow(
      /^model-00001-of-00002\.gguf from release .* is longer than the 10000 bytes its manifest lists; /,
    );
    first!.served = undefined;
    second!.served = second!.data.subarray(1);
    await expect(download.downloadFromRelease({ client, release, out })).rejects.toThrow(
      `has ${second!.data.byteLength - 1} bytes, but its manifest lists ${second!.data.byteLength}`,
    );
    expect(await readdir(out)).toEqual(['keep.txt']);
  });

  test('a missing tag, a missing manifest, a lacking file and an invalid manifest each name the fix', async () => {
    const out = await outputFolder();
    const repo = { owner: 'octo', repo: 'models' };
    await expect(
      download.downloadFromRelease({ client, release: { ...repo, tag: 'no-such-tag' }, out }),
    ).rejects.toThrow(
      'octo/models has no release with tag no-such-tag; check the tag and the repository, or publish the release first',
    );
    github.addRelease('octo/models', 'bare', [{ name: 'notes.txt', data: Buffer.from('x') }]);
    await expect(download.downloadFromRelease({ client, release: { ...repo, tag: 'bare' }, out })).rejects.toThrow(
      'release bare of octo/models holds no manifest.json (it has notes.txt); publish the model with its manifest, or name it with --manifest',
    );
    const model = await byteShardModel(8192);
    const release = await released(model);
    const assets = github.releases.find((candidate) => candidate.tag === release.tag)!.assets;
    assets.splice(
      assets.findIndex((asset) => asset.name === 'shard-ab'),
      1,
    );
    await expect(download.downloadFromRelease({ client, release, out })).rejects.toThrow(
      `release ${release.tag} of octo/models lacks shards/shard-ab, which its manifest manifest.json lists; publish all the files of the model again`,
    );
    github.addRelease('octo/models', 'broken', [
      { name: 'manifest.json', data: Buffer.from('{"manifestVersion": 1}') },
    ]);
    await expect(download.downloadFromRelease({ client, release: { ...repo, tag: 'broken' }, out })).rejects.toThrow(
      /^manifest\.json in release broken of octo\/models is not a usable manifest \(.* is not a valid quantgate manifest: format is missing, not one of single, bytes, gguf-split; /,
    );
    expect(await readdir(out)).toEqual(['keep.txt']);
  });

  test('with two manifests, --manifest picks one; --gguf-name names the rebuilt file', async () => {
    const model = await byteShardModel(8192);
    const release = await released(model);
    github.releases
      .find((candidate) => candidate.tag === release.tag)!
      .assets.push({
        id: 99999,
        name: 'other.manifest.json',
        data: Buffer.from('{}'),
        contentType: 'application/json',
      });
    const out = await outputFolder();
    await expect(download.downloadFromRelease({ client, release, out })).rejects.toThrow(
      `holds 2 manifests (manifest.json, other.manifest.json); choose one with --manifest`,
    );
    const result = await download.downloadFromRelease({
      client,
      release,
      out,
      manifest: 'manifest.json',
      ggufName: 'stt-q4_0.gguf',
    });
    expect(result.files).toEqual([join(out, 'stt-q4_0.gguf')]);
    expect(await readFile(result.files[0]!)).toEqual(model.original);
    await expect(
      download.downloadFromRelease({ client, release, out, manifest: 'manifest.json', ggufName: '../x.gguf' }),
    ).rejects.toThrow('--gguf-name "../x.gguf" is not a plain file name');
  });
});

describe('downloadFromArtifact', () => {
  test("takes the model out of another run's artifact and leaves only the rebuilt GGUF", async () => {
    const model = await byteShardModel(4096);
    const { id } = await artifacts.uploadResultsArtifact({
      name: 'quantgate-results',
      files: model.all,
      rootDir: model.dir,
    });
    const out = await outputFolder();
    const result = await download.downloadFromArtifact({
      repo: { owner: 'octo', repo: 'models' },
      runId: 77,
      artifactId: id,
      token: 'reader-token',
      out,
    });
    expect(result.files).toEqual([join(out, 'stt-1b-en_fr.gguf')]);
    expect(await readFile(result.files[0]!)).toEqual(model.original);
    expect((await readdir(out)).sort()).toEqual(['keep.txt', 'stt-1b-en_fr.gguf']);
  });

  test('a shard changed before upload is caught against the manifest, and the staging folder is removed', async () => {
    const model = await byteShardModel(4096);
    await writeFile(model.files[1]!, Buffer.alloc((await readFile(model.files[1]!)).byteLength, 7));
    const { id } = await artifacts.uploadResultsArtifact({
      name: 'quantgate-corrupt',
      files: model.all,
      rootDir: model.dir,
    });
    const out = await outputFolder();
    await expect(
      download.downloadFromArtifact({
        repo: { owner: 'octo', repo: 'models' },
        runId: 77,
        artifactId: id,
        token: 'reader-token',
        out,
      }),
    ).rejects.toThrow(
      new RegExp(
        `^shards/shard-ab from artifact ${id} of run 77 in octo/models has sha256 [0-9a-f]{64}, but its manifest lists [0-9a-f]{64}; `,
      ),
    );
    expect(await readdir(out)).toEqual(['keep.txt']);
  });
});
