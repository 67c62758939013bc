// The built-in `kyutai-stt` engine: Kyutai's streaming STT models (kyutai/stt-1b-en_fr and kin) run
// in onnxruntime from graphs built here from config.json and the weights. Mimi (always float,
// from its own safetensors) turns each utterance, framed the way Kyutai's STT script frames it
// (silence prefix, audio padded to whole frames, then `audio_delay_seconds` of silence), into
// audio codes; the LM decodes all utterances of a batch in parallel, greedily; the text tokens
// above the padding id are decoded with the model's SentencePiece tokenizer.
// The reference reads the LM's float weights; the candidate reads the GGUF, whatever mix of types
// it holds: Q4_0 matrices through MatMulNBits (or dequantized, in `dequant` mode), Q8_0 dequantized,
// F16 and F32 as dense weights; it logs how each tensor of the file was read. On CUDA the LM's
// linear layers run in float16, which halves their memory; on the CPU everything is float32.
// Opened with `activations`, the reference also hands over the inputs of the LM's linear layers
// (extra graph outputs, one row per stream and step) and the token ids its embeddings look up.

import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as ort from 'onnxruntime-node';
import { QuantgateError } from '../../common/errors.js';
import { silentProgress, type Progress } from '../../common/progress.js';
import type { Utterance } from '../../datasets/utterance.js';
import { DamageRecorder, referenceStep, type ReferenceStep } from '../../scoring/token-damage.js';
import type {
  ActivationCapture,
  ActivationRequest,
  CandidateTranscript,
  Device,
  Engine,
  EngineFactory,
  EngineOptions,
  LinearInput,
  ModelSource,
  QuantizedModel,
  ReferenceTranscript,
  TokenScoring,
  Transcript,
  Variant,
} from '../engine.js';
import { summarizeCoverage, type SubstitutionMode } from '../onnx/candidate.js';
import { readKyutaiConfig, type KyutaiConfig } from './config.js';
import { decodeGreedy, type AudioCodes, type DecodedStep } from './decoder.js';
import { acceptsKyutaiModel, requireKyutaiFiles } from './files.js';
import type { OnnxGraph } from './graph.js';
import { buildLmStepGraph, lmLinearWeights, LM_OUTPUTS } from './lm-graph.js';
import { estimateKyutaiMemory } from './memory.js';
import { buildMimiGraph, framing, MIMI_INPUT, MIMI_OUTPUT, mimiFrameSize } from './mimi-graph.js';
import { readSentencePiece, type SentencePieceDecoder } from './sentencepiece.js';
import { startSession, type GraphSession, type SessionOptions } from './session.js';
import { openGgufWeights, openSafetensorsWeights, type WeightSource } from './weights.js';

/** What the reference hands to an activation sink: the linear layers' inputs, and the embeddings' ids. */
interface LmCapture {
  uncaptured: { tensor: string; reason: string }[];
  sink: ActivationRequest['sink'];
  inputs: LinearInput[];
  /** Each embedding table asked for, and the column of the LM's token input that indexes it. */
  lookups: { tensor: string; column: number }[];
}

const KYUTAI_STT_ENGINE = 'kyutai-stt';

export interface KyutaiSttOptions {
  /** How the candidate reads Q4_0 matrices; `matmulnbits` unless given. */
  candidateMode?: SubstitutionMode;
  /** Reports the weights being loaded. */
  progress?: Progress;
  /** Where the graphs' weights files are written (the reference LM's takes 4 GB); the system's temp folder unless given. */
  tempDir?: string;
}

export function createKyutaiSttEngineFactory(options: KyutaiSttOptions = {}): EngineFactory {
  return {
    name: KYUTAI_STT_ENGINE,
    accepts: acceptsKyutaiModel,
    open: (model, variant, engineOptions) => KyutaiSttEngine.open(model, variant, engineOptions, options),
    estimateMemory: (model, variant, engineOptions) =>
      estimateKyutaiMemory(model, variant, engineOptions, options.candidateMode ?? 'matmulnbits'),
  };
}

class KyutaiSttEngine implements Engine {
  readonly name = KYUTAI_STT_ENGINE;
  readonly sampleRate: number;
  /**
   * Each LM step is a step, over the text vocabulary. The candidate decodes each utterance twice in
   * one batch: freely, for its transcript, and forced on the reference's tokens, for its damage.
   */
  readonly tokenScoring: TokenScoring = {
    transcribeReference: (batch, k, signal) => this.transcribeReference(batch, k, signal),
    transcribeAgainst: (batch, reference, signal) => this.transcribeAgainst(batch, reference, signal),
  };
  readonly activationCapture?: ActivationCapture;
  private readonly frameSize: number;

  private constructor(
    readonly device: Device,
    private readonly config: KyutaiConfig,
    private readonly tokenizer: SentencePieceDecoder,
    private readonly mimi: GraphSession,
    private readonly lm: GraphSession,
    private readonly capture?: LmCapture,
  ) {
    this.sampleRate = config.mimi.sampleRate;
    this.frameSize = mimiFrameSize(config.mimi);
    if (capture) this.activationCapture = { uncaptured: capture.uncaptured };
  }

  static async open(
    model: ModelSource,
    variant: Variant,
    { device, activations }: EngineOptions,
    options: KyutaiSttOptions,
  ): Promise<KyutaiSttEngine> {
    const progress = options.progress ?? silentProgress;
    const config = await readKyutaiConfig(model.dir);
    const files = await requireKyutaiFiles(model.dir, config.names);
    const tokenizer = await readSentencePiece(files.tokenizer);
    if (tokenizer.size < config.lm.textCard) {
      throw new QuantgateError(
        `${files.tokenizer} has ${tokenizer.size} pieces but the LM predicts ${config.lm.textCard} text tokens; the tokenizer belongs to another model — download the model again`,
      );
    }
    // Mimi's activations for one utterance of 35 s take 0.8 GiB, which an arena would keep while the LM decodes.
    const mimi = await buildSession(
      await openSafetensorsWeights(files.mimi),
      progress,
      'Mimi encoder',
      (weights) => buildMimiGraph(config.mimi, weights, { tempDir: options.tempDir }),
      device,
      {
        memoryArena: false,
      },
    );
    try {
      const mode = options.candidateMode ?? 'matmulnbits';
      const gguf =
        variant.kind === 'candidate'
          ? await openGgufWeights(variant.quantized, mode, quantizedLabel(variant.quantized))
          : undefined;
      const compute = device === 'cuda' ? 'F16' : 'F32';
      const source = gguf ?? (await openSafetensorsWeights(files.lm));
      const capture = !gguf && activations ? planCapture(config, source, activations) : undefined;
      const lm = await buildSession(
        source,
        progress,
        `${variant.kind} LM`,
        (weights) =>
          buildLmStepGraph(config.lm, weights, {
            compute,
            tempDir: options.tempDir,
            ...(capture && { capture: new Set(capture.inputs.map((input) => input.key)) }),
          }),
        device,
      );
      if (gguf) progress.info(`kyutai-stt candidate (${mode}): ${summarizeCoverage(gguf.coverage(), 'the LM graph')}`);
      return new KyutaiSttEngine(device, config, tokenizer, mimi, lm, capture);
    } catch (error) {
      await mimi.close();
      throw error;
    }
  }

  async transcribe(batch: Utterance[], signal?: AbortSignal): Promise<Transcript[]> {
    const tokens = await decodeGreedy(this.lm, this.config.lm, await this.codesOf(batch, signal), {
      signal,
      ...this.capturing(),
    });
    collectGarbage();
    return batch.map(({ id }, index) => this.transcript(id, tokens[index]!));
  }

  private async transcribeReference(
    batch: Utterance[],
    k: number,
    signal?: AbortSignal,
  ): Promise<ReferenceTranscript[]> {
    const card = this.config.lm.textCard;
    const steps: ReferenceStep[][] = batch.map(() => []);
    const capturing = this.capturing();
    const tokens = await decodeGreedy(this.lm, this.config.lm, await this.codesOf(batch, signal), {
      signal,
      captured: capturing.captured,
      onStep: (decoded) => {
        const { step, streams, logits } = decoded;
        streams.forEach((stream, row) => {
          const kept = referenceStep(logits, row * card, card, k);
          if (!kept) throw notFinite('reference', batch[stream]!.id, step);
          steps[stream]!.push(kept);
        });
        capturing.onStep?.(decoded);
      },
    });
    collectGarbage();
    return batch.map(({ id }, index) => ({
      transcript: this.transcript(id, tokens[index]!),
      steps: steps[index]!,
      vocabulary: card,
    }));
  }

  private async transcribeAgainst(
    batch: Utterance[],
    reference: (id: string) => readonly ReferenceStep[],
    signal?: AbortSignal,
  ): Promise<CandidateTranscript[]> {
    const card = this.config.lm.textCard;
    const codes = await this.codesOf(batch, signal);
    const recorders = batch.map(({ id }, index) => {
      const steps = reference(id);
      if (steps.length !== codes[index]!.frames) {
        throw new QuantgateError(
          `utterance ${id}: the candidate runs ${codes[index]!.frames} steps but the reference ${steps.length}; compare runs of the same audio and model`,
        );
      }
      return new DamageRecorder(id, steps);
    });
    const forced = recorders.map((_, index) => Int32Array.from(reference(batch[index]!.id), (step) => step.token));
    // Streams 0…n−1 decode freely, n…2n−1 are forced on the reference's tokens.
    const tokens = await decodeGreedy(this.lm, this.config.lm, [...codes, ...codes], {
      signal,
      forcedText: [...batch.map(() => undefined), ...forced],
      onStep: ({ step, streams, logits }) =>
        streams.forEach((stream, row) => {
          if (stream < batch.length) return;
          if (!recorders[stream - batch.length]!.add(logits, row * card, card))
            throw notFinite('candidate', batch[stream - batch.length]!.id, step);
        }),
    });
    collectGarbage();
    return batch.map(({ id }, index) => ({
      transcript: this.transcript(id, tokens[index]!),
      damage: recorders[index]!.finish(),
    }));
  }

  /** The outputs to fetch, and the step observer handing them and the embeddings' ids to the sink; nothing without a capture. */
  private capturing(): { captured?: string[]; onStep?: (step: DecodedStep) => void } {
    const capture = this.capture;
    if (!capture) return {};
    const width = this.config.lm.nQ + 1;
    return {
      captured: capture.inputs.map((input) => LM_OUTPUTS.linearInput(input.key)),
      onStep: ({ inputs, captured }) => {
        for (const input of capture.inputs) capture.sink.linear(input, captured[LM_OUTPUTS.linearInput(input.key)]!);
        for (const { tensor, column } of capture.lookups) {
          const rows = inputs.length / width;
          capture.sink.lookup(
            tensor,
            Array.from({ length: rows }, (_, row) => Number(inputs[row * width + column]!)),
          );
        }
      },
    };
  }

  private async codesOf(batch: Utterance[], signal?: AbortSignal): Promise<AudioCodes[]> {
    const codes: AudioCodes[] = [];
    for (const utterance of batch) {
      signal?.throwIfAborted();
      if (utterance.sampleRate !== this.sampleRate) {
        throw new Error(
          `utterance ${utterance.id} is at ${utterance.sampleRate} Hz but the kyutai-stt engine asked for ${this.sampleRate} Hz; the datasets stage must resample it`,
        );
      }
      codes.push(await this.encode(utterance.audio));
    }
    return codes;
  }

  /** The text of a stream's tokens: those above the padding id, decoded by SentencePiece. */
  private transcript(id: string, tokens: Int32Array): Transcript {
    const text = Array.from(tokens).filter((token) => token > this.config.stt.textPaddingTokenId);
    return { id, text: this.tokenizer.decode(text), tokens: text };
  }

  async close(): Promise<void> {
    await Promise.all([this.mimi.close(), this.lm.close()]);
  }

  /** Mimi's codes for the audio framed as Kyutai's STT script frames it, one frame per LM step. */
  private async encode(audio: Float32Array): Promise<AudioCodes> {
    const { mimi } = this.config;
    const { frames, encoded, prefixFrames } = framing(this.config, audio.length);
    const samples = new Float32Array(encoded * this.frameSize);
    samples.set(audio, prefixFrames * this.frameSize);
    const result = await this.mimi.run({ [MIMI_INPUT]: new ort.Tensor('float32', samples, [1, 1, samples.length]) });
    const codes = result[MIMI_OUTPUT]!.data as BigInt64Array;
    const data = new Int32Array(mimi.codebooks * frames);
    for (let codebook = 0; codebook < mimi.codebooks; codebook++) {
      for (let frame = 0; frame < frames; frame++)
        data[codebook * frames + frame] = Number(codes[codebook * encoded + frame]!);
    }
    return { frames, data };
  }
}

/**
 * Which weights asked for the LM reads as linear layers (captured as their inputs) or as embedding
 * tables (captured as the token ids that index them); any other is left uncaptured.
 */
function planCapture(config: KyutaiConfig, weights: WeightSource, activations: ActivationRequest): LmCapture {
  const linear = new Map(lmLinearWeights(config.lm, weights));
  const tables = new Map<string, number>([
    ['text_emb.weight', 0],
    ...Array.from({ length: config.lm.nQ }, (_, codebook): [string, number] => [
      `emb.${codebook}.weight`,
      codebook + 1,
    ]),
  ]);
  const capture: LmCapture = { sink: activations.sink, inputs: [], lookups: [], uncaptured: [] };
  for (const { name } of activations.tensors) {
    const width = linear.get(name);
    const column = tables.get(name);
    if (width !== undefined) capture.inputs.push({ key: name, width, weights: [{ tensor: name, along: 'rows' }] });
    else if (column !== undefined) capture.lookups.push({ tensor: name, column });
    else
      capture.uncaptured.push({
        tensor: name,
        reason: 'the LM graph reads it neither as a linear layer nor as an embedding',
      });
  }
  return capture;
}

function notFinite(variant: 'reference' | 'candidate', id: string, step: number): QuantgateError {
  return new QuantgateError(
    `the ${variant} LM's text logits at step ${step} of utterance ${id} are not finite (NaN or infinity); the ${variant === 'candidate' ? 'quantized model is broken: check it with quantgate verify' : 'model is broken: download it again'}`,
  );
}

let collector: (() => void) | undefined;

/**
 * Collects garbage now. Once a batch is decoded its KV rings are garbage (0.87 GiB for 8
 * utterances of 35 s), but V8 does not see onnxruntime's native allocations, so without a
 * collection the rings stayed resident while Mimi encoded the next batch, its 0.8 GiB of
 * activations on top (measured). A full collection of the engine's small heap takes milliseconds.
 */
function collectGarbage(): void {
  if (!collector) {
    setFlagsFromString('--expose-gc');
    collector = runInNewContext('gc') as () => void;
  }
  collector();
}

/** Names the quantized model in messages: its .gguf file, or the folder of its shards or parts. */
function quantizedLabel({ format, files, manifestPath }: QuantizedModel): string {
  const first = files[0] ?? manifestPath;
  return format === 'single' ? first : dirname(first);
}

/** Builds a graph from `weights` (closed afterwards), reporting each tensor read, and starts it. */
async function buildSession(
  weights: WeightSource,
  progress: Progress,
  what: string,
  build: (weights: WeightSource) => Promise<OnnxGraph>,
  device: Device,
  sessionOptions?: SessionOptions,
): Promise<GraphSession> {
  const task = progress.task(`Loading the ${what} (${weights.label})`, { unit: 'count', unitName: 'tensors' });
  const counted: WeightSource = {
    label: weights.label,
    has: (name) => weights.has(name),
    shape: (name) => weights.shape(name),
    floats: async (name) => counting(await weights.floats(name)),
    matrix: async (name, floatType) => counting(await weights.matrix(name, floatType)),
    close: () => weights.close(),
  };
  const counting = <T>(value: T): T => {
    task.advance(1);
    return value;
  };
  let graph: OnnxGraph;
  try {
    graph = await build(counted);
  } finally {
    await weights.close();
  }
  const session = await startSession(graph, device, what, sessionOptions);
  task.finish();
  return session;
}
