import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_OK } from '../../../src/cli/command.js';
import { runCli } from '../../helpers/cli.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { FakeHub } from '../../servers/fake-hub.js';

let hub: FakeHub;
beforeAll(async () => {
  hub = await FakeHub.start();
  hub.createRepo('kyutai/stt-tiny', { tokens: ['hf_cli_token'] });
  await hub.commit('kyutai/stt-tiny', [
    { path: 'model.safetensors', content: Buffer.alloc(4096, 1) },
    { path: 'config.json', content: '{"dim": 8}' },
  ]);
});
afterAll(async () => {
  await hub.close();
  await removeTempDirs();
});

const run = (args: string[], env: NodeJS.ProcessEnv) => runCli(['download', ...args], { env });

describe('quantgate download', () => {
  test('prints only the snapshot folder on stdout, reading the Hub, cache and token from the environment', async () => {
    const cache = await makeTempDir();
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_TOKEN: 'hf_cli_token' };
    const { code, stdout, stderr } = await run(['--model-id', 'kyutai/stt-tiny', '--include', '*.json'], env);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(new RegExp(`^${join(cache, 'models--kyutai--stt-tiny', 'snapshots')}/[0-9a-f]{40}\\n$`));
    expect(await readFile(join(stdout.trim(), 'config.json'), 'utf8')).toBe('{"dim": 8}');
    expect(stderr).toMatch(/downloading kyutai\/stt-tiny/);
    expect(stderr).toMatch(/kyutai\/stt-tiny@[0-9a-f]{40}: 1 file, 10 B downloaded, 0 already in the cache\n$/);
    expect(stderr).not.toContain('hf_cli_token');
  });

  test('options override the environment, and --offline answers from the cache alone', async () => {
    const cache = await makeTempDir();
    const options = [
      '--model-id',
      'kyutai/stt-tiny',
      '--cache-dir',
      cache,
      '--hub-url',
      hub.url,
      '--hf-token',
      'hf_cli_token',
    ];
    const online = await run([...options, '--include', 'model.safetensors,config.json'], {
      HF_ENDPOINT: 'http://127.0.0.1:9',
      HF_TOKEN: 'hf_wrong',
    });
    const requests = hub.requests.length;
    const offline = await run(['--model-id', 'kyutai/stt-tiny', '--cache-dir', cache, '--offline'], {});
    expect(offline).toMatchObject({ code: EXIT_OK, stdout: online.stdout });
    expect(hub.requests.length).toBe(requests);
  });

  test('bad options fail with one line naming them', async () => {
    const failure = (stderr: RegExp) => ({ code: EXIT_ERROR, stdout: '', stderr: expect.stringMatching(stderr) });
    expect(await run([], {})).toEqual(failure(/^quantgate download: --model-id is required; see --help\n$/));
    expect(await run(['--model-id', 'x/y', '--repo-type', 'space'], {})).toEqual(
      failure(/^quantgate download: --repo-type must be one of model, dataset, got "space"\n$/),
    );
    expect(await run(['--model-id', 'x/y', '--hub-url', 'ftp://hub'], {})).toEqual(
      failure(/^quantgate download: [^\n]*Hub address "ftp:\/\/hub" must be http or https[^\n]*\n$/),
    );
  });
});
