import { QuantgateError, debugDetail, describeError, failureLine, jsonText } from '../../src/common/errors.js';

describe('describeError', () => {
  test('an error gives its message, with its code when the message lacks it', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBe('ENOENT: no such file');
  });

  test('a thrown value that is not an error never reads "undefined" or "[object Object]"', () => {
    expect(describeError('plain text')).toBe('plain text');
    expect(describeError(undefined)).toBe('an error without a description');
    expect(describeError(null)).toBe('an error without a description');
    expect(describeError({})).toBe('an error without a description');
    expect(describeError({ status: 500, reason: 'busy' })).toBe('{"status":500,"reason":"busy"}');
    expect(describeError({ text: 'x'.repeat(300) })).toMatch(/^\{"text":"x+…$/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(describeError(loop)).toBe('an error without a description');
    expect(describeError(42)).toBe('42');
  });
});

describe('jsonText', () => {
  test('a JSON value as its text, an absent one as "missing"', () => {
    expect(jsonText('zip')).toBe('"zip"');
    expect(jsonText([10, 0])).toBe('[10,0]');
    expect(jsonText(null)).toBe('null');
    expect(jsonText(undefined)).toBe('missing');
  });
});

describe('debugDetail', () => {
  test('a bug shows its stack; a QuantgateError the library errors it wraps', () => {
    const bug = new TypeError('x is not a function');
    expect(debugDetail(bug)).toBe(bug.stack);
    const library = new SyntaxError('Unexpected token } in JSON at position 5');
    const wrapped = new QuantgateError('config.json is not valid JSON; fix it', {
      cause: new Error('parse failed', { cause: library }),
    });
    const detail = debugDetail(wrapped)!;
    expect(detail.split('\n').filter((line) => line.startsWith('caused by '))).toEqual([
      'caused by Error: parse failed',
      'caused by SyntaxError: Unexpected token } in JSON at position 5',
    ]);
    expect(debugDetail(new QuantgateError('no cause'))).toBeUndefined();
    expect(failureLine(wrapped, 'hint')).toBe('config.json is not valid JSON; fix it');
  });
});
