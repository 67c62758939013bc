import { QuantgateError } from '../../src/common/errors.js';
import { badMessageError } from '../helpers/messages.js';

// The setup file must catch a bad message wherever a test meets one; each case below would pass
// without it.
describe('every error a test provokes is checked for leaked internals', () => {
  test('a function that throws one fails toThrow, even with no expectation of its own', () => {
    const throwing = () => {
      throw new QuantgateError('the manifest gives file path undefined for entry 2');
    };
    expect(() => expect(throwing).toThrow()).toThrow('the message of a QuantgateError contains "undefined"');
    expect(() => expect(throwing).toThrow(QuantgateError)).toThrow(/contains "undefined"/);
    expect(() => expect(throwing).toThrow(/file path/)).toThrow(/contains "undefined"/);
  });

  test('a promise that rejects with one fails rejects', async () => {
    const rejecting = () => Promise.reject(new QuantgateError('tensor w is off by NaN× its step'));
    await expect(expect(rejecting()).rejects.toThrow()).rejects.toThrow(/contains "NaN"/);
    await expect(expect(rejecting()).rejects.toBeInstanceOf(QuantgateError)).rejects.toThrow(/contains "NaN"/);
  });

  test('an error handed to expect directly fails it', () => {
    const error = new TypeError(`bad value ${String({})}`);
    expect(() => expect(error).toBeInstanceOf(TypeError)).toThrow(/contains "\[object Object\]"/);
  });

  test('clean messages and words that merely contain the names pass', () => {
    expect(() => {
      throw new QuantgateError(
        'the value is not a number; an undefinedness check failed? no: "nan" and "Undefined" are words here',
      );
    }).toThrow(QuantgateError);
    expect(badMessageError('undefinedness, NaNs, Nancy', 'text')).toBeUndefined();
    expect(badMessageError('got undefined', 'stderr')?.message).toMatch(/^stderr contains "undefined"/);
  });
});
