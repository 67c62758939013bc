// The seam between the datasets stage and scoring: an engine turns audio into text. The same
// engine runs the reference (original weights) and the candidate (weights read from the quantized
// GGUF), so the WER difference measures exactly the file that ships.

import type { GgmlTypeName } from '../formats/gguf/constants.js';
import type { OutputFormat } from '../formats/gguf/output-layout.js';
import type { Utterance } from '../datasets/utterance.js';
import type { ReferenceStep, UtteranceDamage } from '../scoring/token-damage.js';

export type Device = 'cpu' | 'cuda';

/** A model as the pipeline sees it after the hub stage. */
export interface ModelSource {
  dir: string;
  repoId?: string;
  /** The resolved commit sha when the model came from the Hub. */
  revision?: string;
}

/** Read access to the tensors of the quantized output, whatever its shard format. */
export interface QuantizedTensors {
  readonly tensors: readonly { name: string; type: GgmlTypeName; ne: readonly number[] }[];
  /** The tensor's bytes exactly as stored in the GGUF. */
  read(name: string): Promise<Uint8Array>;
}

/** The quantized output after the shards stage. */
export interface QuantizedModel {
  /** One .gguf, byte shards in order, or gguf-split files in order. */
  files: string[];
  format: OutputFormat;
  /** The single .gguf kept beside byte shards (`--keep-single-file`); not among `files`. */
  singleFile?: string;
  manifestPath: string;
  open(): Promise<QuantizedTensors & { close(): Promise<void> }>;
}

export type Variant = { kind: 'reference' } | { kind: 'candidate'; quantized: QuantizedModel };

export interface Transcript {
  id: string;
  text: string;
  tokens?: number[];
}

export interface Engine {
  readonly name: string;
  /** The datasets stage resamples audio to this rate. */
  readonly sampleRate: number;
  readonly device: Device;
  transcribe(batch: Utterance[], signal?: AbortSignal): Promise<Transcript[]>;
  /** Present where the engine sees its model's output distributions (the built-in engines). */
  readonly tokenScoring?: TokenScoring;
  /** Present where the engine was opened with `activations` and hands them to its sink (the built-in engines). */
  readonly activationCapture?: ActivationCapture;
  close(): Promise<void>;
}

/**
 * The weights whose inputs the reference should hand over as it transcribes: the rows a linear
 * layer multiplies by the weight, or the row ids a lookup (an embedding's Gather) reads from it.
 * `sensitivity --method fast` scores each weight's rounding by the output error it makes on them.
 */
export interface ActivationRequest {
  /** The weights, by the names the GGUF gives them, with the GGUF's dimensions (innermost first). */
  tensors: readonly { name: string; ne: readonly number[] }[];
  sink: ActivationSink;
}

export interface ActivationSink {
  /** Rows of one linear layer's input, `rows.length / input.width` of them, in the order the engine ran them. */
  linear(input: LinearInput, rows: Float32Array): void;
  /** Ids of the rows (GGUF rows: ne[1] indexes them) a lookup read from `tensor`, in the order the engine ran them. */
  lookup(tensor: string, ids: ArrayLike<number>): void;
}

/** One value the engine multiplies by weights asked for (q, k and v projections may share one). */
export interface LinearInput {
  /** Names the value in the engine's graph; the same input keeps the same key on every call. */
  key: string;
  /** Values per row: the weight's inner dimension. */
  width: number;
  /**
   * The weights multiplied with it. `rows`: the product is x · Wᵀ over the GGUF matrix W [ne1, ne0]
   * (a Linear layer, x has ne0 values); `columns`: it is x · W (x has ne1 values).
   */
  weights: readonly { tensor: string; along: 'rows' | 'columns' }[];
}

/** What an engine opened with `activations` captures, decided when it opened. */
export interface ActivationCapture {
  /** Weights asked for whose inputs the engine cannot hand over (a convolution's, say), with why. */
  readonly uncaptured: readonly { tensor: string; reason: string }[];
}

/**
 * Token-level damage: the reference keeps its distribution at every step (a CTC frame, an LM
 * step); the candidate is compared with it step by step, fed the reference's tokens where the
 * model reads its own output back (teacher forcing), so both see the same inputs.
 */
export interface TokenScoring {
  /** Transcribes as `transcribe` does, and keeps each step's distribution: its top `k` entries, or all when `k` covers the vocabulary. */
  transcribeReference(batch: Utterance[], k: number, signal?: AbortSignal): Promise<ReferenceTranscript[]>;
  /** Transcribes as `transcribe` does, and measures each step against `reference(id)`, that utterance's reference steps. */
  transcribeAgainst(
    batch: Utterance[],
    reference: (id: string) => readonly ReferenceStep[],
    signal?: AbortSignal,
  ): Promise<CandidateTranscript[]>;
}

export interface ReferenceTranscript {
  transcript: Transcript;
  steps: ReferenceStep[];
  /** Entries of the distribution at each step (the model's output vocabulary). */
  vocabulary: number;
}

export interface CandidateTranscript {
  transcript: Transcript;
  damage: UtteranceDamage;
}

export interface EngineOptions {
  device: Device;
  /** Reference only: the weights whose inputs to hand over as the engine transcribes (see `activationCapture`). */
  activations?: ActivationRequest;
}

/** The host memory one opened variant needs, in bytes, for the run to check before it loads. */
export interface MemoryEstimate {
  /** Resident once the variant is open, whatever the batch: weights, graphs, buffers sized by the longest utterance. */
  loadedBytes: number;
  /** Added by each utterance of a batch (KV caches, audio, activations), at the longest utterance. */
  perUtteranceBytes: number;
}

export interface EngineFactory {
  readonly name: string;
  /** Lets `--engine auto` pick the engine that fits the model folder. */
  accepts(model: ModelSource): Promise<boolean>;
  open(model: ModelSource, variant: Variant, options: EngineOptions): Promise<Engine>;
  /**
   * What `open` and `transcribe` will hold in this process for utterances of at most
   * `maxSeconds`, read from file headers without loading any weights. Engines that cannot tell
   * leave it out, and their runs are not checked.
   */
  estimateMemory?(
    model: ModelSource,
    variant: Variant,
    options: EngineOptions & { maxSeconds: number },
  ): Promise<MemoryEstimate>;
}
