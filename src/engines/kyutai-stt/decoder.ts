// The STT decoding loop over the LM step graph. `LmStepper` runs steps for a batch of streams and
// keeps their KV rings; `decodeGreedy` feeds it the way moshi's LMGen does with temperature 0:
//   step 0:  the initial tokens (text `text_card`, audio `card`) — the first audio frame is dropped;
//   step t:  text y(t−1) and the audio frame t, each stream delayed by its config delay (a stream
//            still within its delay gets the initial token);
//   y(t):    argmax of the text logits, the first index winning a tie, returned at the same step.
// With `forcedText` the text input is another run's y(t−1) instead (teacher forcing).
// Streams run in parallel and all start at step 0; they are ordered longest first, so the streams
// still running are always a prefix of the batch, and a stream that has finished drops out of
// the batch instead of being computed and thrown away.

import * as ort from 'onnxruntime-node';
import type { LmConfig } from './config.js';
import { LM_INPUTS, LM_OUTPUTS, maxRingSlots } from './lm-graph.js';

/** One stream's audio codes, codebook-major: code of codebook k at frame t is `data[k · frames + t]`. */
export interface AudioCodes {
  frames: number;
  data: Int32Array;
}

export interface StepResult {
  /** [streams, text_card]. */
  logits: Float32Array;
  /** [streams, dim], when asked for. */
  hidden?: Float32Array;
  /** The other outputs asked for, by name. */
  captured: Record<string, Float32Array>;
}

/** Steps of the LM graph for up to `streams` streams, with their KV rings. */
export class LmStepper {
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  /** Ring slots per layer and stream. */
  private readonly slots: number;
  private readonly slotValues: number;
  private readonly layers: number;
  private readonly heads: number;
  private readonly headDim: number;
  private step = 0;

  /** `steps`: how many steps the longest stream will run; it bounds the ring to what the window can see. */
  constructor(
    private readonly session: Pick<ort.InferenceSession, 'run'>,
    private readonly config: LmConfig,
    private readonly streams: number,
    steps: number,
  ) {
    this.layers = config.numLayers;
    this.heads = config.numHeads;
    this.headDim = config.dim / config.numHeads;
    this.slots = Math.max(1, Math.min(maxRingSlots(config), steps - 1));
    this.slotValues = this.heads * this.headDim * this.slots;
    this.keys = Array.from({ length: this.layers }, () => new Float32Array(streams * this.slotValues));
    this.values = Array.from({ length: this.layers }, () => new Float32Array(streams * this.slotValues));
  }

  /** The step the next call runs (RoPE position). */
  get position(): number {
    return this.step;
  }

  /** Runs one step for the first `tokens.length / (1 + n_q)` streams (rows of [text, audio…]), fetching `captured` too. */
  async run(tokens: BigInt64Array, withHidden = false, captured: readonly string[] = []): Promise<StepResult> {
    const active = tokens.length / (this.config.nQ + 1);
    if (!Number.isInteger(active) || active < 1 || active > this.streams)
      throw new RangeError(`${tokens.length} tokens do not make rows for 1 to ${this.streams} streams`);
    const feeds: Record<string, ort.Tensor> = {
      [LM_INPUTS.tokens]: new ort.Tensor('int64', tokens, [active, this.config.nQ + 1]),
      [LM_INPUTS.position]: new ort.Tensor('int64', BigInt64Array.of(BigInt(this.step)), []),
    };
    for (let layer = 0; layer < this.layers; layer++) {
      feeds[LM_INPUTS.pastKey(layer)] = new ort.Tensor(
        'float32',
        this.keys[layer]!.subarray(0, active * this.slotValues),
        [active, this.heads, this.headDim, this.slots],
      );
      feeds[LM_INPUTS.pastValue(layer)] = new ort.Tensor(
        'float32',
        this.values[layer]!.subarray(0, active * this.slotValues),
        [active, this.heads, this.slots, this.headDim],
      );
    }
    const fetches: string[] = [LM_OUTPUTS.logits, ...(withHidden ? [LM_OUTPUTS.hidden] : []), ...captured];
    for (let layer = 0; layer < this.layers; layer++) fetches.push(LM_OUTPUTS.key(layer), LM_OUTPUTS.value(layer));
    const results = await this.session.run(feeds, fetches);
    const slot = this.step % this.slots;
    for (let layer = 0; layer < this.layers; layer++) {
      this.store(this.keys[layer]!, results[LM_OUTPUTS.key(layer)]!.data as Float32Array, active, slot, true);
      this.store(this.values[layer]!, results[LM_OUTPUTS.value(layer)]!.data as Float32Array, active, slot, false);
    }
    this.step++;
    return {
      logits: results[LM_OUTPUTS.logits]!.data as Float32Array,
      ...(withHidden && { hidden: results[LM_OUTPUTS.hidden]!.data as Float32Array }),
      captured: Object.fromEntries(captured.map((name) => [name, results[name]!.data as Float32Array])),
    };
  }

  /** Writes this step's [active, heads, head_dim] into `slot`: keys transposed, values as rows. */
  private store(ring: Float32Array, current: Float32Array, active: number, slot: number, transposed: boolean): void {
    const { headDim, slots } = this;
    for (let row = 0; row < active * this.heads; row++) {
      const from = row * headDim;
      const base = row * headDim * slots;
      if (transposed) {
        for (let d = 0; d < headDim; d++) ring[base + d * slots + slot] = current[from + d]!;
      } else {
        ring.set(current.subarray(from, from + headDim), base + slot * headDim);
      }
    }
  }
}

/** One step of `decodeGreedy`, for observers. */
export interface DecodedStep {
  step: number;
  /** The stream (index into the decoded list) of each row below. */
  streams: readonly number[];
  /** [rows, 1 + n_q]: the tokens the LM read. */
  inputs: BigInt64Array;
  /** [rows, text_card]. */
  logits: Float32Array;
  /** The outputs named in `DecodeOptions.captured`, each [rows, …]. */
  captured: Record<string, Float32Array>;
}

export interface DecodeOptions {
  signal?: AbortSignal;
  /** Graph outputs to fetch at each step besides the logits (captured activations). */
  captured?: readonly string[];
  onStep?: (step: DecodedStep) => void;
  /**
   * Teacher forcing: a stream given text tokens here (another run's y, e.g. the reference's) reads
   * them instead of its own, so two models see the same inputs at every step; a stream given
   * undefined decodes freely. One entry per stream, each at least as long as the stream; what is
   * returned is still the model's own argmax at each step.
   */
  forcedText?: readonly (Int32Array | undefined)[];
}

/** Greedy decoding of each stream over all its frames; returns y(t) for t < frames, per stream. */
export async function decodeGreedy(
  session: Pick<ort.InferenceSession, 'run'>,
  config: LmConfig,
  streams: readonly AudioCodes[],
  options: DecodeOptions = {},
): Promise<Int32Array[]> {
  const order = streams.map((_, index) => index).sort((a, b) => streams[b]!.frames - streams[a]!.frames);
  const longest = streams[order[0]!]?.frames ?? 0;
  const outputs = streams.map((stream) => new Int32Array(stream.frames));
  if (longest === 0) return outputs;
  const forced = options.forcedText;
  if (
    forced &&
    (forced.length !== streams.length ||
      forced.some((text, index) => text !== undefined && text.length < streams[index]!.frames))
  ) {
    throw new RangeError('teacher forcing needs one entry per stream, each sequence as long as its stream');
  }
  const textInputs = streams.map((_, index) => forced?.[index] ?? outputs[index]!);
  const stepper = new LmStepper(session, config, streams.length, longest);
  const width = config.nQ + 1;
  const [textDelay, ...audioDelays] = config.delays as [number, ...number[]];
  for (let step = 0; step < longest; step++) {
    options.signal?.throwIfAborted();
    const active = order.filter((index) => streams[index]!.frames > step).length;
    const tokens = new BigInt64Array(active * width);
    for (let row = 0; row < active; row++) {
      const index = order[row]!;
      const { frames, data } = streams[index]!;
      tokens[row * width] = BigInt(step <= textDelay ? config.textCard : textInputs[index]![step - 1]!);
      audioDelays.forEach((delay, codebook) => {
        tokens[row * width + 1 + codebook] = BigInt(
          step <= delay ? config.card : data[codebook * frames + step - delay]!,
        );
      });
    }
    const { logits, captured } = await stepper.run(tokens, false, options.captured);
    for (let row = 0; row < active; row++)
      outputs[order[row]!]![step] = argmax(logits, row * config.textCard, config.textCard);
    options.onStep?.({ step, streams: order.slice(0, active), inputs: tokens, logits, captured });
  }
  return outputs;
}

/** Index of the largest of `count` values from `start`; the first one wins a tie. */
function argmax(values: Float32Array, start: number, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (values[start + i]! > values[start + best]!) best = i;
  return best;
}
