import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { joinInside } from '../../src/hub/repo-path.js';

describe('joinInside', () => {
  test.each(['config.json', 'mimi/encoder.safetensors', 'a/b/c.d', '..hidden', 'x..y/z', 'name with spaces.json'])(
    'accepts %s',
    (path) => {
      expect(joinInside('/cache/snap', path, 'repo file')).toBe(join('/cache/snap', path));
    },
  );

  test.each([
    ['', 'empty'],
    ['../evil', 'has a ".." segment'],
    ['a/../../evil', 'has a ".." segment'],
    ['a/./b', 'has a "." segment'],
    ['/etc/passwd', 'absolute'],
    ['a//b', 'has an empty segment'],
    ['a/', 'has an empty segment'],
    ['a\\..\\evil', 'contains a backslash'],
    ['C:evil', 'starts with a drive letter'],
    ['c:/evil', 'starts with a drive letter'],
    ['a\0b', 'contains a NUL character'],
  ])('refuses %j (%s), naming the path', (path, problem) => {
    expect(() => joinInside('/cache/snap', path, 'repo file')).toThrow(QuantgateError);
    expect(() => joinInside('/cache/snap', path, 'repo file')).toThrow(
      `repo file "${path}" is unsafe (${problem}); quantgate refuses to write it`,
    );
  });

  test('a revision name gets the revision fix', () => {
    expect(() => joinInside('/cache/refs', '../main', 'revision')).toThrow(
      /revision "..\/main" is unsafe .* pass a branch, tag or 40-hex commit sha/,
    );
  });
});
