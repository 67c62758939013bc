import { globToRegExp, matchAny } from '../../src/common/glob.js';

describe('fnmatch-style globs', () => {
  test.each([
    ['extra_heads.*', 'extra_heads.0.weight', true],
    ['extra_heads.*', 'transformer.extra_heads.0.weight', false],
    ['*.safetensors', 'model.safetensors', true],
    ['*.safetensors', 'sub/dir/model.safetensors', true],
    ['*.json', 'config.jsonl', false],
    ['tokenizer*', 'tokenizer_en_fr_audio_8000.model', true],
    ['layer.?.weight', 'layer.3.weight', true],
    ['layer.?.weight', 'layer.10.weight', false],
    ['layer.[0-2].weight', 'layer.2.weight', true],
    ['layer.[!0-2].weight', 'layer.2.weight', false],
    ['layer.[!0-2].weight', 'layer.7.weight', true],
    ['a+b(c)', 'a+b(c)', true],
    ['[unclosed', '[unclosed', true],
  ])('%s vs %s → %s', (pattern, text, expected) => {
    expect(globToRegExp(pattern).test(text)).toBe(expected);
  });

  test('matchAny matches when any pattern does and never with no patterns', () => {
    expect(matchAny(['*.bin', '*.pt'])('x.pt')).toBe(true);
    expect(matchAny([])('anything')).toBe(false);
  });
});
