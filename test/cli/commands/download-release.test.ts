import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { EXIT_ERROR, EXIT_OK } from '../../../src/cli/command.js';
import type { runCli as RunCli } from '../../helpers/cli.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { byteShardModel, type PublishedModel } from '../../publish/published-model.js';
import { FakeArtifactService } from '../../servers/fake-artifact-service.js';
import { FakeGitHubApi } from '../../servers/fake-github-api.js';

// @actions/github fixes its API root when first imported, so the environment is set before the
// CLI is.
const savedEnv = { ...process.env };
let service: FakeArtifactService;
let github: FakeGitHubApi;
let runCli: typeof RunCli;
let model: PublishedModel;

beforeAll(async () => {
  service = await FakeArtifactService.start();
  github = await FakeGitHubApi.start({
    tokens: { 'reader-token': 'read' },
    artifactDownloadUrl: (id) => service.downloadUrl(id),
  });
  Object.assign(process.env, service.env, { GITHUB_API_URL: github.url });
  ({ runCli } = await import('../../helpers/cli.js'));
  model = await byteShardModel(4096);
  github.addRelease(
    'octo/models',
    'v1',
    await Promise.all(model.all.map(async (path) => ({ name: basename(path), data: await readFile(path) }))),
  );
});

afterAll(async () => {
  process.env = savedEnv;
  await service.close();
  await github.close();
  await removeTempDirs();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(['download-release', ...args], { env: { GITHUB_API_URL: github.url, ...env } });

describe('quantgate download-release', () => {
  test('downloads a release, rebuilds the GGUF and prints its path', async () => {
    const out = await makeTempDir();
    const { code, stdout } = await run(['--tag', 'v1', '--repo', 'octo/models', '--out-dir', out]);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toBe(`${join(out, 'stt-1b-en_fr.gguf')}\n`);
    expect(await readFile(join(out, 'stt-1b-en_fr.gguf'))).toEqual(model.original);
  });

  test('takes the repository from GITHUB_REPOSITORY and the token from GITHUB_TOKEN for an artifact', async () => {
    const { uploadResultsArtifact } = await import('../../../src/publish/artifacts.js');
    const { id } = await uploadResultsArtifact({ name: 'cli-artifact', files: model.all, rootDir: model.dir });
    const out = await makeTempDir();
    const { code, stdout } = await run(
      ['--run-id', '12', '--artifact-id', String(id), '--out', out, '--gguf-name', 'stt.gguf'],
      { GITHUB_REPOSITORY: 'octo/models', GITHUB_TOKEN: 'reader-token' },
    );
    expect(code).toBe(EXIT_OK);
    expect(stdout).toBe(`${join(out, 'stt.gguf')}\n`);
    expect(await readdir(out)).toEqual(['stt.gguf']);
    expect(await readFile(join(out, 'stt.gguf'))).toEqual(model.original);
  });

  test.each([
    [['--repo', 'o/r'], 'give either --tag <tag> or --run-id <id> with --artifact-id <id>; see --help'],
    [
      ['--repo', 'o/r', '--tag', 'v1', '--run-id', '3'],
      'give either --tag <tag> or --run-id <id> with --artifact-id <id>; see --help',
    ],
    [
      ['--repo', 'o/r', '--run-id', '3'],
      "--run-id and --artifact-id go together; give both (they are in the artifact's URL)",
    ],
    [
      ['--repo', 'o/r', '--run-id', '3', '--artifact-id', '4'],
      'downloading an artifact needs a token even for a public repository; set GITHUB_TOKEN or pass --token',
    ],
    [['--tag', 'v1'], '--repo <owner/name> is required outside GitHub Actions (GITHUB_REPOSITORY is unset)'],
    [
      ['--tag', 'v1', '--repo', 'not a repo'],
      '--repo "not a repo" is not a GitHub repository; give it as owner/name, e.g. octocat/hello-world',
    ],
    [['--run-id', 'x', '--artifact-id', '4', '--repo', 'o/r'], '--run-id must be an integer ≥ 1, got "x"'],
  ])('%j is refused: %s', async (args, message) => {
    expect(await run(args)).toEqual({
      code: EXIT_ERROR,
      stdout: '',
      stderr: `quantgate download-release: ${message}\n`,
    });
  });
});
