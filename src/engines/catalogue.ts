// The engine vocabulary: which engines quantgate has, what each needs to accept a model, whether
// it runs on onnxruntime, and the devices and candidate modes they take. Only names live here, so
// the options, the CLI's help and the action read them without loading any engine; the registry
// (registry.ts) pairs each name with its factory.

export interface CatalogueEntry {
  readonly name: string;
  /** What the model folder or the options must provide for the engine to accept a model. */
  readonly needs: string;
  /** False for an engine that brings its own runtime: onnxruntime is then neither loaded nor installed. */
  readonly onnxruntime: boolean;
  /** Whether the engine sees its model's output distributions, so that token metrics (KLD, top-1) exist. */
  readonly tokenMetrics: boolean;
}

/** Every engine, in the order `--engine auto` tries them (see registry.ts for why). */
export const ENGINE_CATALOGUE = [
  { name: 'command', needs: '--reference-command and --candidate-command', onnxruntime: false, tokenMetrics: false },
  {
    name: 'kyutai-stt',
    needs:
      'a Kyutai STT checkpoint: config.json, the LM safetensors, the Mimi safetensors and the SentencePiece .model',
    onnxruntime: true,
    tokenMetrics: true,
  },
  {
    name: 'onnx-ctc',
    needs: 'model.onnx and vocab.json in the model folder (a Hugging Face wav2vec2/HuBERT CTC export)',
    onnxruntime: true,
    tokenMetrics: true,
  },
] as const satisfies readonly CatalogueEntry[];

export type BuiltEngineName = (typeof ENGINE_CATALOGUE)[number]['name'];

/** `--engine`'s values: `auto` and every engine of the catalogue. */
export type EngineName = 'auto' | BuiltEngineName;
export const ENGINE_NAMES: readonly EngineName[] = ['auto', ...ENGINE_CATALOGUE.map((engine) => engine.name)];

export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type DeviceChoice = (typeof DEVICES)[number];

/** How ONNX candidates read the GGUF's Q4_0 weights: as MatMulNBits nodes, or dequantized to float. */
export const CANDIDATE_MODES = ['matmulnbits', 'dequant'] as const;
export type CandidateMode = (typeof CANDIDATE_MODES)[number];

/** What the catalogue says an engine needs; an engine it does not list gets a pointer to the docs. */
export function engineNeeds(name: string): string {
  return (
    ENGINE_CATALOGUE.find((engine) => engine.name === name)?.needs ?? 'a model it recognizes (see docs/ENGINES.md)'
  );
}

/** Whether the named engine runs on onnxruntime; an engine the catalogue does not list is assumed to. */
export function runsOnOnnxruntime(name: string): boolean {
  return ENGINE_CATALOGUE.find((engine) => engine.name === name)?.onnxruntime ?? true;
}

/** Whether the named engine gives token metrics; an engine the catalogue does not list is assumed not to. */
export function givesTokenMetrics(name: string): boolean {
  return ENGINE_CATALOGUE.find((engine) => engine.name === name)?.tokenMetrics ?? false;
}

/**
 * Whether a run with `--engine engine` may need onnxruntime, before any model is seen. With `auto`
 * the command engine, first in the order, takes every model once its commands are configured;
 * without them any built-in engine may be picked.
 */
export function mayNeedOnnxruntime(engine: EngineName, options: { commandConfigured: boolean }): boolean {
  if (engine !== 'auto') return runsOnOnnxruntime(engine);
  if (options.commandConfigured) return runsOnOnnxruntime('command');
  return ENGINE_CATALOGUE.some((entry) => entry.name !== 'command' && entry.onnxruntime);
}
