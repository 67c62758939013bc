import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineFactory } from '../../src/engines/engine.js';
import { ENGINE_NAMES, mayNeedOnnxruntime, runsOnOnnxruntime } from '../../src/engines/catalogue.js';
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
    expect(engineFactories().map((factory) => factory.name)).toEqual(['command', 'kyutai-stt', 'onnx-ctc']);
  });

  test('each built-in engine offers what its loaded factory offers, loading it only when a variant is opened or estimated', async () => {
    const { createKyutaiSttEngineFactory } = await import('../../src/engines/kyutai-stt/engine.js');
    const { createOnnxCtcEngineFactory } = await import('../../src/engines/onnx-ctc/engine.js');
    const loaded = [createKyutaiSttEngineFactory(), createOnnxCtcEngineFactory()];
    for (const real of loaded) {
      const listed = engineFactories().find((factory) => factory.name === real.name)!;
      expect(typeof listed.estimateMemory).toBe(typeof real.estimateMemory);
      for (const dir of [ctcDir, emptyDir]) expect(await listed.accepts({ dir })).toBe(await real.accepts({ dir }));
    }
    const kyutai = engineFactories().find((factory) => factory.name === 'kyutai-stt')!;
    expect(await kyutai.accepts({ dir: emptyDir, repoId: 'kyutai/stt-1b-en_fr' })).toBe(true);
  });

  test('checks the command templates up front', () => {
    expect(() => engineFactories({ referenceCommand: commands.referenceCommand })).toThrow(
      /has a reference command but no candidate command/,
    );
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
    await expect(selectEngine(engineFactories(), 'command', { dir: ctcDir })).rejects.toThrow(
      /^--engine command cannot run .*: it needs --reference-command and --candidate-command$/,
    );
  });

  test('an engine missing from the list is named with the ones there are', async () => {
    const withoutKyutai = engineFactories().filter((factory) => factory.name !== 'kyutai-stt');
    await expect(selectEngine(withoutKyutai, 'kyutai-stt', { dir: ctcDir })).rejects.toThrow(
      '--engine kyutai-stt is not available in this build of quantgate; choose auto or one of command, onnx-ctc',
    );
  });

  test('no engine for the model: one line with what each engine needs, and the command engine as the way out', async () => {
    await expect(selectEngine(engineFactories(), 'auto', { dir: emptyDir })).rejects.toThrow(
      /^no engine can run .*other \(command needs --reference-command and --candidate-command; kyutai-stt needs a Kyutai STT checkpoint: .*; onnx-ctc needs model\.onnx and vocab\.json .*\); pass a model in one of these layouts, or evaluate it with the command engine: --reference-command 'python3 transcribe\.py --model \{model_dir\} .*' and a --candidate-command that loads \{gguf\} \(docs\/ENGINES\.md\)$/,
    );
  });

  test('Kyutai STT models on the Hub go to the kyutai-stt engine', async () => {
    expect((await selectEngine(engineFactories(), 'auto', { dir: emptyDir, repoId: 'kyutai/stt-1b-en_fr' })).name).toBe(
      'kyutai-stt',
    );
  });

  test('works with any list of factories, so more engines slot in', async () => {
    const custom: EngineFactory = {
      name: 'custom',
      accepts: async () => true,
      open: async () => Promise.reject(new Error('unused')),
    };
    expect(await selectEngine([...engineFactories(), custom], 'auto', { dir: emptyDir })).toBe(custom);
  });
});

describe('the catalogue', () => {
  test('--engine takes auto and every engine the registry builds', () => {
    expect(ENGINE_NAMES).toEqual(['auto', ...engineFactories().map((factory) => factory.name)]);
  });

  test('says which engines need onnxruntime, before and after a model is seen', () => {
    expect(runsOnOnnxruntime('command')).toBe(false);
    expect(runsOnOnnxruntime('onnx-ctc')).toBe(true);
    expect(runsOnOnnxruntime('kyutai-stt')).toBe(true);
    expect(mayNeedOnnxruntime('command', { commandConfigured: true })).toBe(false);
    expect(mayNeedOnnxruntime('auto', { commandConfigured: true })).toBe(false);
    expect(mayNeedOnnxruntime('auto', { commandConfigured: false })).toBe(true);
    expect(mayNeedOnnxruntime('onnx-ctc', { commandConfigured: true })).toBe(true);
  });
});
