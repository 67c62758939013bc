import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { findToken, redact, redactError } from '../../src/hub/token.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

describe('findToken', () => {
  test('the option, then HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the login token file', async () => {
    const home = await makeTempDir();
    await writeFile(join(home, 'token'), 'hf_fromfile\n');
    const env = { HF_HOME: home, HF_TOKEN: 'hf_env', HUGGING_FACE_HUB_TOKEN: 'hf_legacy' };
    expect(await findToken('hf_option', env)).toBe('hf_option');
    expect(await findToken(undefined, env)).toBe('hf_env');
    expect(await findToken('', { ...env, HF_TOKEN: ' ' })).toBe('hf_legacy');
    expect(await findToken(undefined, { HF_HOME: home })).toBe('hf_fromfile');
    const elsewhere = join(await makeTempDir(), 'custom');
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, 'tok'), 'hf_custom');
    expect(await findToken(undefined, { HF_HOME: home, HF_TOKEN_PATH: join(elsewhere, 'tok') })).toBe('hf_custom');
    expect(await findToken(undefined, { HF_HOME: await makeTempDir() })).toBeUndefined();
  });
});

describe('redaction', () => {
  test('every occurrence is replaced', () => {
    expect(redact('a hf_x b hf_x', 'hf_x')).toBe('a *** b ***');
    expect(redact('unchanged', undefined)).toBe('unchanged');
  });

  test('a QuantgateError is rebuilt without the secret or its cause; other errors are cleaned in place', () => {
    const cause = new Error('server said hf_secret');
    const cleaned = redactError(
      new QuantgateError('token hf_secret refused', { cause }),
      'hf_secret',
    ) as QuantgateError;
    expect(cleaned).toBeInstanceOf(QuantgateError);
    expect(cleaned.message).toBe('token *** refused');
    expect(cleaned.cause).toBeUndefined();
    const plain = new TypeError('bad hf_secret');
    expect(redactError(plain, 'hf_secret')).toBe(plain);
    expect(plain.message).toBe('bad ***');
    expect(plain.stack).not.toContain('hf_secret');
  });
});
