// The engines quantgate can run, and the choice of one for a model: by name, or with `auto` the
// first in the catalogue's order that accepts the model. The command engine comes first because it
// accepts a model only when its commands are configured, which is an explicit choice; the
// built-in engines follow, each recognizing its model layout. A model no engine runs gets one
// line naming each engine and what it needs. The names and needs are in catalogue.ts.

import { QuantgateError } from '../common/errors.js';
import type { Progress } from '../common/progress.js';
import {
  ENGINE_CATALOGUE,
  engineNeeds,
  type BuiltEngineName,
  type CandidateMode,
  type EngineName,
} from './catalogue.js';
import { createCommandEngineFactory } from './command/engine.js';
import type { EngineFactory, ModelSource } from './engine.js';
import { acceptsKyutaiModel } from './kyutai-stt/files.js';
import { hasCtcModelFiles } from './onnx-ctc/model-folder.js';

export interface EngineRegistryOptions {
  /** The command engine's templates; both or neither. */
  referenceCommand?: string;
  candidateCommand?: string;
  /** Stops one run of a command after this long. */
  timeoutSeconds?: number;
  /** How ONNX candidates read the GGUF's Q4_0 weights. */
  candidateMode?: CandidateMode;
  /** Hears the engines' one-line reports (a candidate's coverage, a command's output) and long tasks. */
  progress?: Progress;
}

/** The factory of every engine the catalogue names; the type makes a catalogue entry without one an error. */
const FACTORIES: Record<BuiltEngineName, (options: EngineRegistryOptions) => EngineFactory> = {
  command: ({ referenceCommand, candidateCommand, timeoutSeconds, progress }) =>
    createCommandEngineFactory({
      referenceCommand,
      candidateCommand,
      timeoutSeconds,
      ...(progress && { logger: progress }),
    }),
  'kyutai-stt': ({ candidateMode, progress }) =>
    loadedOnUse({
      name: 'kyutai-stt',
      accepts: acceptsKyutaiModel,
      estimatesMemory: true,
      load: async () =>
        (await import('./kyutai-stt/engine.js')).createKyutaiSttEngineFactory({
          ...(candidateMode && { candidateMode }),
          ...(progress && { progress }),
        }),
    }),
  'onnx-ctc': ({ candidateMode, progress }) =>
    loadedOnUse({
      name: 'onnx-ctc',
      accepts: (model) => hasCtcModelFiles(model.dir),
      estimatesMemory: false,
      load: async () =>
        (await import('./onnx-ctc/engine.js')).createOnnxCtcEngineFactory({
          ...(candidateMode && { candidateMode }),
          ...(progress && { progress }),
        }),
    }),
};

/**
 * A built-in engine whose module, and onnxruntime with it, loads when a variant is opened or its
 * memory estimated: choosing the engine reads only the model folder, so a run whose results are
 * all reused never loads onnxruntime.
 */
function loadedOnUse(engine: {
  name: string;
  accepts: EngineFactory['accepts'];
  estimatesMemory: boolean;
  load: () => Promise<EngineFactory>;
}): EngineFactory {
  let loaded: Promise<EngineFactory> | undefined;
  const factory = () => (loaded ??= engine.load());
  return {
    name: engine.name,
    accepts: engine.accepts,
    open: async (model, variant, options) => (await factory()).open(model, variant, options),
    ...(engine.estimatesMemory && {
      estimateMemory: async (model, variant, options) => (await factory()).estimateMemory!(model, variant, options),
    }),
  };
}

/** The reference command of the example shown when no built-in engine runs a model. */
const EXAMPLE_COMMAND =
  "--reference-command 'python3 transcribe.py --model {model_dir} --manifest {manifest} --output {output} --device {device}'";

/** Every engine, in the order `auto` tries them. */
export function engineFactories(options: EngineRegistryOptions = {}): EngineFactory[] {
  return ENGINE_CATALOGUE.map((engine) => FACTORIES[engine.name](options));
}

/** The engine `name` names, or with `auto` the first of `factories` that accepts `model`. */
export async function selectEngine(
  factories: readonly EngineFactory[],
  name: EngineName,
  model: ModelSource,
): Promise<EngineFactory> {
  if (name !== 'auto') {
    const factory = factories.find((each) => each.name === name);
    if (!factory)
      throw new QuantgateError(
        `--engine ${name} is not available in this build of quantgate; choose auto or one of ${factories.map((each) => each.name).join(', ')}`,
      );
    if (!(await factory.accepts(model)))
      throw new QuantgateError(
        `--engine ${name} cannot run ${model.repoId ?? model.dir}: it needs ${engineNeeds(name)}`,
      );
    return factory;
  }
  for (const factory of factories) if (await factory.accepts(model)) return factory;
  const needs = factories.map((factory) => `${factory.name} needs ${engineNeeds(factory.name)}`).join('; ');
  throw new QuantgateError(
    `no engine can run ${model.repoId ?? model.dir} (${needs}); pass a model in one of these layouts, or evaluate it with the command engine: ${EXAMPLE_COMMAND} and a --candidate-command that loads {gguf} (docs/ENGINES.md)`,
  );
}
