import { execFileSync } from 'node:child_process';
import { QuantgateError } from '../../../src/common/errors.js';
import {
  PLACEHOLDERS,
  parseCommandTemplate,
  renderCommand,
  type Placeholder,
} from '../../../src/engines/command/template.js';

const values: Record<Placeholder, string> = {
  manifest: '/tmp/a b/manifest.jsonl',
  output: `/tmp/it's "here" $HOME \`id\` \\n/out.jsonl`,
  model_dir: '',
  gguf: '/models/m.gguf',
  device: 'cuda',
};

/** The arguments /bin/sh hands on, from a command that prints them NUL-terminated. */
function argsAfterShell(command: string): string[] {
  return execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' }).split('\0').slice(0, -1);
}

describe('parseCommandTemplate / renderCommand', () => {
  it('splits shell text around placeholders and records which are used', () => {
    const template = parseCommandTemplate('run --in {manifest} --out={output} | tee log', 'reference command');
    expect(template.parts).toEqual([
      'run --in ',
      { placeholder: 'manifest' },
      ' --out=',
      { placeholder: 'output' },
      ' | tee log',
    ]);
    expect([...template.uses].sort()).toEqual(['manifest', 'output']);
  });

  it('passes every value through the shell as exactly one word, spaces, quotes, $ and backticks included', () => {
    const template = parseCommandTemplate(
      "printf '%s\\0' {manifest} {output} {model_dir} --gguf={gguf} {device}",
      'candidate command',
    );
    expect(argsAfterShell(renderCommand(template, values))).toEqual([
      values.manifest,
      values.output,
      '',
      `--gguf=${values.gguf}`,
      'cuda',
    ]);
  });

  it('leaves braces alone inside quotes, in ${parameter} expansions and after a backslash', () => {
    const text = `jq -c '{id, text: .text}' {manifest} "\${HOME}" \${output_dir:-x} '{text}' \\{manifest} > {output}`;
    const template = parseCommandTemplate(text, 'reference command');
    expect([...template.uses].sort()).toEqual(['manifest', 'output']);
    expect(template.parts.filter((part) => typeof part !== 'string')).toHaveLength(2);
  });

  it('names an unknown placeholder and lists the known ones', () => {
    expect(() => parseCommandTemplate('run {manifest} {modeldir} {output}', 'reference command')).toThrow(
      new QuantgateError(
        `reference command: unknown placeholder {modeldir}; the placeholders are ${PLACEHOLDERS.map((name) => `{${name}}`).join(', ')} — fix the name, or quote the braces ('{modeldir}') if they are meant literally`,
      ),
    );
  });

  it('refuses a placeholder inside quotes, where its quoting would break', () => {
    expect(() => parseCommandTemplate('run --in "{manifest}" {output}', 'candidate command')).toThrow(
      new QuantgateError(
        `candidate command: {manifest} is inside " quotes; quantgate quotes each placeholder's value itself, so write it bare (e.g. --in {manifest}, not --in "{manifest}")`,
      ),
    );
    expect(() => parseCommandTemplate("run {manifest} --out='{output}'", 'candidate command')).toThrow(
      /\{output\} is inside ' quotes/,
    );
  });

  it('refuses empty templates and unterminated quotes', () => {
    expect(() => parseCommandTemplate('  ', 'reference command')).toThrow(/^reference command is empty;/);
    expect(() => parseCommandTemplate(`run {manifest} {output} 'oops`, 'reference command')).toThrow(
      new QuantgateError(`reference command has an unterminated ' quote; close it`),
    );
  });
});
