import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { FakeArtifactService } from '../servers/fake-artifact-service.js';
import { FakeGitHubApi } from '../servers/fake-github-api.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { byteShardModel } from './published-model.js';

// @actions/github fixes its API root when first imported, so the environment is set first.
const savedEnv = { ...process.env };
let service: FakeArtifactService;
let github: FakeGitHubApi;
let artifacts: typeof import('../../src/publish/artifacts.js');

beforeAll(async () => {
  service = await FakeArtifactService.start();
  github = await FakeGitHubApi.start({
    tokens: { 'reader-token': 'read' },
    artifactDownloadUrl: (id) => service.downloadUrl(id),
  });
  Object.assign(process.env, service.env, {
    GITHUB_API_URL: github.url,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'octo/models',
    GITHUB_RUN_ID: '4242',
  });
  artifacts = await import('../../src/publish/artifacts.js');
});

afterAll(async () => {
  process.env = savedEnv;
  await service.close();
  await github.close();
  await removeTempDirs();
});

async function treeOf(dir: string): Promise<Record<string, Buffer>> {
  const tree: Record<string, Buffer> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      tree[relative(dir, path).split('\\').join('/')] = await readFile(path);
    }
  }
  return tree;
}

describe('uploadResultsArtifact', () => {
  test('uploads the files as one artifact that downloads back byte for byte, with its URL', async () => {
    const model = await byteShardModel();
    const info: string[] = [];
    const uploaded = await artifacts.uploadResultsArtifact({
      name: 'quantgate-stt-roundtrip',
      files: model.all,
      rootDir: model.dir,
      retentionDays: 7,
      logger: { info: (message) => info.push(message), notice: () => undefined },
    });
    expect(uploaded.url).toBe(`https://github.com/octo/models/actions/runs/4242/artifacts/${uploaded.id}`);
    expect(uploaded.size).toBe(service.zipOf(uploaded.id)!.byteLength);
    expect(info).toEqual([expect.stringContaining(`uploaded artifact quantgate-stt-roundtrip`)]);
    expect(service.blobs.requests.filter((request) => request.operation === 'PutBlockList')).toHaveLength(1);

    const out = await makeTempDir();
    const downloaded = await artifacts.downloadRunArtifacts({ prefix: 'quantgate-stt-round', dir: out });
    expect(downloaded).toEqual([
      { name: 'quantgate-stt-roundtrip', id: uploaded.id, dir: join(out, 'quantgate-stt-roundtrip') },
    ]);
    expect(await treeOf(downloaded[0]!.dir)).toEqual(await treeOf(model.dir));
  });

  test('refuses names GitHub refuses, before contacting the service', async () => {
    const model = await byteShardModel();
    const calls = service.calls.length;
    for (const [name, shown] of [
      ['results/linux', '"/"'],
      ['a:b', '":"'],
      ['..', 'is empty or only dots'],
    ] as const) {
      const error = await artifacts
        .uploadResultsArtifact({ name, files: model.all, rootDir: model.dir })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QuantgateError);
      expect((error as Error).message).toContain(shown);
    }
    expect(service.calls.length).toBe(calls);
  });

  test('refuses a retention outside 1–90 days, files outside the root folder, missing ones and refused characters', async () => {
    const model = await byteShardModel();
    await expect(
      artifacts.uploadResultsArtifact({ name: 'r', files: model.all, rootDir: model.dir, retentionDays: 91 }),
    ).rejects.toThrow('artifact retention of 91 days is not a whole number from 1 to 90; choose one in that range');
    const elsewhere = join(await makeTempDir(), 'stray.txt');
    await writeFile(elsewhere, 'x');
    await expect(
      artifacts.uploadResultsArtifact({ name: 'r', files: [elsewhere], rootDir: model.dir }),
    ).rejects.toThrow(`${elsewhere} is not inside the artifact's root folder`);
    await expect(
      artifacts.uploadResultsArtifact({ name: 'r', files: [join(model.dir, 'missing.gguf')], rootDir: model.dir }),
    ).rejects.toThrow(/missing\.gguf is missing, so it cannot be uploaded/);
    await writeFile(join(model.dir, 'eval:results.txt'), 'x');
    await expect(
      artifacts.uploadResultsArtifact({ name: 'r', files: [join(model.dir, 'eval:results.txt')], rootDir: model.dir }),
    ).rejects.toThrow('eval:results.txt contains ":", which GitHub refuses in artifact files; rename it');
  });

  test('a second artifact of the same name in the run is refused with the fix', async () => {
    const model = await byteShardModel();
    await artifacts.uploadResultsArtifact({ name: 'quantgate-twice', files: model.all, rootDir: model.dir });
    await expect(
      artifacts.uploadResultsArtifact({ name: 'quantgate-twice', files: model.all, rootDir: model.dir }),
    ).rejects.toThrow(
      /^uploading artifact quantgate-twice failed: the Actions results service answered ".*already exists.*"; give each job of the run its own artifact name$/,
    );
  });

  test('a service that cannot be reached gives one clear line', async () => {
    const model = await byteShardModel();
    const down = await FakeArtifactService.start();
    const url = down.url;
    await down.close();
    process.env.ACTIONS_RESULTS_URL = url;
    try {
      const error = await artifacts
        .uploadResultsArtifact({ name: 'quantgate-down', files: model.all, rootDir: model.dir })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QuantgateError);
      expect((error as Error).message).toMatch(
        /^uploading artifact quantgate-down failed: the Actions results service answered ".*ECONNREFUSED"; re-run the job, and check githubstatus\.com if it keeps failing$/,
      );
    } finally {
      process.env.ACTIONS_RESULTS_URL = service.env.ACTIONS_RESULTS_URL;
    }
  });

  test('outside a job it says so instead of calling the service', async () => {
    const model = await byteShardModel();
    delete process.env.ACTIONS_RUNTIME_TOKEN;
    try {
      await expect(
        artifacts.uploadResultsArtifact({ name: 'r', files: model.all, rootDir: model.dir }),
      ).rejects.toThrow(
        'uploading artifact r needs a GitHub Actions job (ACTIONS_RUNTIME_TOKEN is unset); run it in a workflow step, or turn artifact upload off',
      );
    } finally {
      process.env.ACTIONS_RUNTIME_TOKEN = service.runtimeToken;
    }
  });
});

describe('downloadRunArtifacts', () => {
  test('downloads every artifact with the prefix into its own folder, and no other', async () => {
    const model = await byteShardModel();
    await artifacts.uploadResultsArtifact({ name: 'merge-a', files: [model.manifestPath], rootDir: model.dir });
    await artifacts.uploadResultsArtifact({ name: 'merge-b', files: [model.files[0]!], rootDir: model.dir });
    await artifacts.uploadResultsArtifact({ name: 'other', files: [model.manifestPath], rootDir: model.dir });
    const out = await makeTempDir();
    const downloaded = await artifacts.downloadRunArtifacts({ prefix: 'merge-', dir: out });
    expect(downloaded.map((artifact) => artifact.name)).toEqual(['merge-a', 'merge-b']);
    expect((await readdir(out)).sort()).toEqual(['merge-a', 'merge-b']);
    expect(await readFile(join(out, 'merge-b', 'shards', 'shard-aa'))).toEqual(await readFile(model.files[0]!));
  });

  test('no matching artifact names the ones there are', async () => {
    await expect(artifacts.downloadRunArtifacts({ prefix: 'nothing-', dir: await makeTempDir() })).rejects.toThrow(
      /^this run has no artifact whose name starts with "nothing-" \(it has .*merge-a.*\); run the merge job after/,
    );
  });

  test('an artifact whose zip changed after upload is refused and leaves no folder', async () => {
    const model = await byteShardModel();
    const { id } = await artifacts.uploadResultsArtifact({ name: 'tampered', files: model.all, rootDir: model.dir });
    const blob = service.blobs.requests.find(
      (request) => request.operation === 'PutBlockList' && request.blob.includes(`/${id}/`),
    )!.blob;
    const zip = Buffer.from(service.blobs.read(blob)!);
    zip[zip.byteLength - 30] ^= 0xff; // in the zip's end record: the files still extract, the digest differs
    service.blobs.write(blob, zip, 'application/zip');
    const out = await makeTempDir();
    await expect(artifacts.downloadRunArtifacts({ prefix: 'tampered', dir: out })).rejects.toThrow(
      'artifact tampered arrived corrupted (its sha256 differs from the one recorded at upload); re-run the job to download it again',
    );
    expect(await readdir(out)).toEqual([]);
  });
});

describe('downloadArtifactFromRun', () => {
  test("downloads another run's artifact through the REST API", async () => {
    const model = await byteShardModel();
    const { id } = await artifacts.uploadResultsArtifact({ name: 'public-path', files: model.all, rootDir: model.dir });
    const out = await makeTempDir();
    await artifacts.downloadArtifactFromRun({
      repo: { owner: 'octo', repo: 'models' },
      runId: 4242,
      artifactId: id,
      token: 'reader-token',
      dir: out,
    });
    expect(await treeOf(out)).toEqual(await treeOf(model.dir));
  });

  test('an unknown artifact and a bad token each name their fix', async () => {
    const repo = { owner: 'octo', repo: 'models' };
    const dir = await makeTempDir();
    await expect(
      artifacts.downloadArtifactFromRun({ repo, runId: 4242, artifactId: 99999, token: 'reader-token', dir }),
    ).rejects.toThrow(
      /^downloading artifact 99999 of run 4242 in octo\/models failed \(.*\); check --repo, --run-id and --artifact-id/,
    );
    await expect(
      artifacts.downloadArtifactFromRun({ repo, runId: 4242, artifactId: 1000, token: 'wrong', dir }),
    ).rejects.toThrow(/failed \(.*\); pass a token that can read the repository's actions/);
  });
});
