import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineFactory } from '../../src/engines/engine.js';
import { engineFactories, selectEngine } from '../../src/engines/registry.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { writeCtcModelFolder } from './onnx-ctc/ctc-test-model.js';

afterAll(removeTempDirs);

const commands = {
  referenceCommand: 'run --in {manifest} --out {output} --model {model_dir}',
  candidateCommand: 'run --in {manifest} --out {output} --model {gguf}',
};

let ctcDir: string;
let emptyDir: string;
beforeAll(async () => {
  ctcDir = await writeCtcModelFolder(join(await makeTempDir(), 'ctc'));
  emptyDir = join(await makeTempDir(), 'other');
  await mkdir(emptyDir);
});

describe('engineFactories', () => {
  test('lists the engines in the order auto tries them', () => {
    expect(engineFactories().map((factory) => factory.name)).toEqual(['command', 'onnx-ctc']);
  });

  test('checks the command templates up front', () => {
    expect(() => engineFactories({ referenceCommand: commands.referenceCommand })).toThrow(/has a reference command but no candidate command/);
  });
});

describe('selectEngine', () => {
  test('auto picks onnx-ctc for a CTC export, and the command engine whenever its commands are given', async () => {
    expect((await selectEngine(engineFactories(), 'auto', { dir: ctcDir })).name).toBe('onnx-ctc');
    expect((await selectEngine(engineFactories(commands), 'auto', { dir: ctcDir })).name).toBe('command');
    expect((await selectEngine(engineFactories(commands), 'auto', { dir: emptyDir })).name).toBe('command');
  });

  test('a name picks that engine, if it can run the model', async () => {
    expect((await selectEngine(engineFactories(commands), 'onnx-ctc', { dir: ctcDir })).name).toBe('onnx-ctc');
    await expect(selectEngine(engineFactories(), 'onnx-ctc', { dir: emptyDir })).rejects.toThrow(
      /^--engine onnx-ctc cannot run .*other: it needs model\.onnx and vocab\.json in the model folder \(a Hugging Face wav2vec2\/HuBERT CTC export\)$/,
    );
    await expect(selectEngine(engineFactories(), 'command', { dir: ctcDir })).rejects.toThrow(/^--engine command cannot run .*: it needs --reference-command and --candidate-command$/);
  });

  test('an engine missing from the list is named with the ones there are', async () => {
    await expect(selectEngine(engineFactories(), 'kyutai-stt', { dir: ctcDir })).rejects.toThrow(
      '--engine kyutai-stt is not available in this build of quantgate; choose auto or one of command, onnx-ctc',
    );
  });

  test('no engine for the model: one line with what each engine needs', async () => {
    await expect(selectEngine(engineFactories(), 'auto', { dir: emptyDir })).rejects.toThrow(
      /^no engine can run .*other \(command needs --reference-command and --candidate-command; onnx-ctc needs model\.onnx and vocab\.json .*\); pass a model in one of these layouts, or evaluate it with the command engine \(docs\/ENGINES\.md\)$/,
    );
  });

  test('a Kyutai STT model without its engine points to the command engine with an example', async () => {
    const example = /it is a Kyutai STT model, which no built-in engine here runs: evaluate it with the command engine \(docs\/ENGINES\.md\), e\.g\. --reference-command 'python3 transcribe\.py --model \{model_dir\} .*' and a --candidate-command that loads \{gguf\}$/;
    await expect(selectEngine(engineFactories(), 'auto', { dir: emptyDir, repoId: 'kyutai/stt-1b-en_fr' })).rejects.toThrow(/^no engine can run kyutai\/stt-1b-en_fr \(/);
    await expect(selectEngine(engineFactories(), 'auto', { dir: emptyDir, repoId: 'kyutai/stt-1b-en_fr' })).rejects.toThrow(example);
    const local = join(await makeTempDir(), 'stt');
    await mkdir(local);
    await writeFile(join(local, 'config.json'), JSON.stringify({ model_type: 'stt' }));
    await expect(selectEngine(engineFactories(), 'auto', { dir: local })).rejects.toThrow(example);
  });

  test('works with any list of factories, so more engines slot in', async () => {
    const custom: EngineFactory = { name: 'custom', accepts: async () => true, open: async () => Promise.reject(new Error('unused')) };
    expect(await selectEngine([...engineFactories(), custom], 'auto', { dir: emptyDir })).toBe(custom);
  });
});
