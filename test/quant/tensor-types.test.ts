// `--tensor-type <glob>=<type>` as the CLI (a repeated flag) and the action (one line each) give it.

import { readActionInputs } from '../../src/action/inputs.js';
import { QuantgateError } from '../../src/common/errors.js';
import { optionValues } from '../../src/common/option-values.js';
import { readRunOptions } from '../../src/pipeline/options.js';

const cli = (record: Record<string, string | string[]>) => readRunOptions(optionValues(record));
const action = (inputs: Record<string, string>) => readActionInputs((name) => inputs[name] ?? '').run;

describe('--tensor-type', () => {
  test('is empty unless given', () => {
    expect(cli({}).tensorTypes).toEqual([]);
    expect(action({}).tensorTypes).toEqual([]);
  });

  test('the CLI flag repeats, one glob=type each; commas and "=" stay inside the glob', () => {
    expect(
      cli({ 'tensor-type': ['layers.*.ffn.*=q8_0', ' *[0,1].conv.weight = f16 ', 'odd=name=f32'] }).tensorTypes,
    ).toEqual([
      { glob: 'layers.*.ffn.*', type: 'q8_0' },
      { glob: '*[0,1].conv.weight', type: 'f16' },
      { glob: 'odd=name', type: 'f32' },
    ]);
  });

  test('the action input takes one per line, blank lines ignored, in order', () => {
    expect(action({ 'tensor-type': 'layers.*=f16\n\n  layers.0.*=q4_0\r\nctc_head.weight=f32' }).tensorTypes).toEqual([
      { glob: 'layers.*', type: 'f16' },
      { glob: 'layers.0.*', type: 'q4_0' },
      { glob: 'ctc_head.weight', type: 'f32' },
    ]);
  });

  test.each([
    [['layers.*'], `--tensor-type: "layers.*" is not <glob>=<type>; write one per line, e.g. 'layers.*.ffn.*=q8_0'`],
    [['=q8_0'], `--tensor-type: "=q8_0" is not <glob>=<type>`],
    [['layers.*='], `--tensor-type: "layers.*=" is not <glob>=<type>`],
    [
      ['layers.*=q3_k'],
      '--tensor-type: "layers.*=q3_k" asks for type "q3_k"; use one of q4_0, q8_0, f16, f32, the types --quant-type takes',
    ],
    [['layers.*=Q8_0'], '--tensor-type: "layers.*=Q8_0" asks for type "Q8_0"; use one of q4_0, q8_0, f16, f32'],
  ])('%j is refused in one line naming the flag and the fix', (lines, message) => {
    expect(() => cli({ 'tensor-type': lines })).toThrow(QuantgateError);
    expect(() => cli({ 'tensor-type': lines })).toThrow(message);
  });

  test('the action names its input', () => {
    expect(() => action({ 'tensor-type': 'layers.*=f16\nlayers.0.*=bf16' })).toThrow(
      'input "tensor-type": "layers.0.*=bf16" asks for type "bf16"; use one of q4_0, q8_0, f16, f32',
    );
  });
});
