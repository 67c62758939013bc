import {
  choiceOption,
  flagOption,
  listOption,
  numberOption,
  optionValues,
  requiredString,
  stringOption,
} from '../../src/common/option-values.js';

const cli = (record: Record<string, string | boolean | string[]>) => optionValues(record);
const action = (record: Record<string, string>) => optionValues(record, (name) => `input "${name}"`);

describe('option values', () => {
  test('an empty value counts as not given, as a blank action input does', () => {
    expect(stringOption(action({ revision: '' }), 'revision')).toBeUndefined();
    expect(() => requiredString(action({ 'model-id': '' }), 'model-id')).toThrow('input "model-id" is required');
  });

  test('lists split on commas and newlines, from one value or a repeated flag', () => {
    expect(listOption(cli({ keep: ['a.*,b.*', 'c'] }), 'keep')).toEqual(['a.*', 'b.*', 'c']);
    expect(listOption(action({ skip: 'extra_heads.*\n  emb.* \n' }), 'skip')).toEqual(['extra_heads.*', 'emb.*']);
  });

  test('numbers are checked against their range, naming the option as its shell spells it', () => {
    expect(numberOption(cli({ threshold: '2.5' }), 'threshold', { min: 0 })).toBe(2.5);
    expect(() => numberOption(cli({ threshold: 'two' }), 'threshold', { min: 0 })).toThrow(
      '--threshold must be a number ≥ 0, got "two"',
    );
    expect(() => numberOption(action({ 'max-samples': '1.5' }), 'max-samples', { min: 0, integer: true })).toThrow(
      'input "max-samples" must be an integer ≥ 0, got "1.5"',
    );
  });

  test('choices list what is accepted', () => {
    expect(() => choiceOption(action({ device: 'tpu' }), 'device', ['auto', 'cpu', 'cuda'])).toThrow(
      'input "device" must be one of auto, cpu, cuda, got "tpu"',
    );
  });

  test('flags accept CLI switches and YAML booleans', () => {
    expect(flagOption(cli({ offline: true }), 'offline')).toBe(true);
    expect(flagOption(action({ cache: 'false' }), 'cache')).toBe(false);
    expect(flagOption(action({ cache: 'True' }), 'cache')).toBe(true);
    expect(flagOption(action({ cache: '' }), 'cache')).toBeUndefined();
    expect(() => flagOption(action({ cache: 'yes' }), 'cache')).toThrow(
      'input "cache" must be true or false, got "yes"',
    );
  });
});
