import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { downloadCommand } from '../../../src/cli/commands/download.js';
import { EXIT_OK } from '../../../src/cli/command.js';
import { FakeHub } from '../../servers/fake-hub.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { optionValues } from '../../../src/common/option-values.js';

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

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const collect = () => {
    const sink = Object.assign(new Writable({ write: (chunk, _encoding, done) => ((sink.text += String(chunk)), done()) }), { text: '' });
    return sink;
  };
  const stdout = collect();
  const stderr = collect();
  const { values, positionals } = parseArgs({ args, options: downloadCommand.options, strict: true });
  const code = await downloadCommand.run(optionValues(values), positionals, { stdout, stderr, stdin: new PassThrough(), env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

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
    const options = ['--model-id', 'kyutai/stt-tiny', '--cache-dir', cache, '--hub-url', hub.url, '--hf-token', 'hf_cli_token'];
    const online = await run([...options, '--include', 'model.safetensors,config.json'], { HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: 'hf_wrong' });
    const requests = hub.requests.length;
    const offline = await run(['--model-id', 'kyutai/stt-tiny', '--cache-dir', cache, '--offline'], {});
    expect(offline).toMatchObject({ code: EXIT_OK, stdout: online.stdout });
    expect(hub.requests.length).toBe(requests);
  });

  test('bad options fail with one line naming them', async () => {
    await expect(run([], {})).rejects.toThrow('--model-id is required; see --help');
    await expect(run(['--model-id', 'x/y', '--repo-type', 'space'], {})).rejects.toThrow('--repo-type must be one of model, dataset, got "space"');
    await expect(run(['--model-id', 'x/y', '--hub-url', 'ftp://hub'], {})).rejects.toThrow(/Hub address "ftp:\/\/hub" must be http or https/);
  });
});
