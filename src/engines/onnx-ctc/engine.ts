// The `onnx-ctc` engine: Hugging Face wav2vec2 / HuBERT CTC models exported to ONNX, run in
// onnxruntime-node. The reference runs model.onnx as exported; the candidate runs the graph with
// the GGUF's weights substituted (MatMulNBits straight from Q4_0 blocks, or dequantized), and
// exposes which tensors reached the graph and how. Batches are zero-padded to the longest
// utterance and decoded greedily over each utterance's own frames. Opened with `activations`, the
// reference also outputs the inputs of the products by those weights and hands over their rows.

import { InferenceSession, Tensor } from 'onnxruntime-node';
import { QuantgateError, describeError } from '../../common/errors.js';
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
  ModelSource,
  ReferenceTranscript,
  TokenScoring,
  LinearInput,
  Transcript,
  Variant,
} from '../engine.js';
import { addActivationOutputs } from '../onnx/activation-outputs.js';
import { summarizeCoverage, type CandidateCoverage, type SubstitutionMode } from '../onnx/candidate.js';
import { sessionOptions } from '../../runtime/session-options.js';
import { padBatch } from './batch.js';
import { buildCandidateModel, originalWeights } from './candidate-model.js';
import { greedyCtc } from './ctc-decode.js';
import { framesFor } from './frames.js';
import { encodeModel, readModel } from '../onnx/model.js';
import { MODEL_FILE, hasCtcModelFiles, readCtcModelSettings, type CtcModelSettings } from './model-folder.js';

const ONNX_CTC_ENGINE = 'onnx-ctc';
const INPUT = 'input_values';
const MASK = 'attention_mask';
const OUTPUT = 'logits';

export interface OnnxCtcOptions {
  /** How the candidate reads the GGUF's Q4_0 weights; default `matmulnbits`. */
  candidateMode?: SubstitutionMode;
  /** Hears the candidate's coverage, and the progress of building it. */
  progress?: Progress;
}

export interface OnnxCtcEngine extends Engine {
  /** Candidate only: the GGUF tensors substituted into the graph, and how. */
  readonly coverage?: CandidateCoverage;
}

export interface OnnxCtcEngineFactory extends EngineFactory {
  open(model: ModelSource, variant: Variant, options: EngineOptions): Promise<OnnxCtcEngine>;
}

export function createOnnxCtcEngineFactory(options: OnnxCtcOptions = {}): OnnxCtcEngineFactory {
  const progress = options.progress ?? silentProgress;
  const mode = options.candidateMode ?? 'matmulnbits';
  return {
    name: ONNX_CTC_ENGINE,
    accepts: (model) => hasCtcModelFiles(model.dir),
    async open(model, variant, { device, activations }) {
      const settings = await readCtcModelSettings(model.dir);
      if (variant.kind === 'reference' && activations) return openCapturing(model, settings, device, activations);
      if (variant.kind === 'reference')
        return new CtcEngine(await openSession(settings.modelPath, device, MODEL_FILE), settings, device);
      const candidate = await buildCandidateModel(settings.modelPath, model.dir, variant.quantized, { mode, progress });
      progress.info(`onnx-ctc candidate (${mode}): ${summarizeCoverage(candidate.coverage)}`);
      return new CtcEngine(
        await openSession(candidate.bytes, device, `the candidate built from ${MODEL_FILE}`),
        settings,
        device,
        candidate.coverage,
      );
    },
  };
}

/** The reference with the inputs of the products by `activations.tensors` as extra outputs, handed to its sink. */
async function openCapturing(
  model: ModelSource,
  settings: CtcModelSettings,
  device: Device,
  activations: ActivationRequest,
): Promise<CtcEngine> {
  const original = originalWeights(model.dir);
  let outputs;
  try {
    outputs = await addActivationOutputs(await readModel(settings.modelPath), activations.tensors, original.values);
  } finally {
    await original.close();
  }
  const session = await openSession(encodeModel(outputs.model), device, MODEL_FILE);
  return new CtcEngine(session, settings, device, undefined, {
    inputs: outputs.inputs,
    sink: activations.sink,
    uncaptured: outputs.uncaptured,
  });
}

async function openSession(model: string | Uint8Array, device: Device, what: string): Promise<InferenceSession> {
  let session: InferenceSession;
  try {
    const options = sessionOptions(device);
    session = await (typeof model === 'string'
      ? InferenceSession.create(model, options)
      : InferenceSession.create(model, options));
  } catch (error) {
    throw new QuantgateError(
      `onnxruntime cannot load ${what} (${describeError(error).split('\n')[0]}); export the model again with a recent exporter (opset 17 or later)`,
      { cause: error },
    );
  }
  const problem = interfaceProblem(session);
  if (problem) {
    await session.release();
    throw new QuantgateError(
      `${what}: ${problem}; the onnx-ctc engine runs CTC exports that take "${INPUT}" [batch, samples] (and optionally "${MASK}") and return "${OUTPUT}" [batch, frames, vocab]`,
    );
  }
  return session;
}

/** Why the graph's inputs and outputs are not those of a CTC export, or undefined when they are. */
function interfaceProblem({ inputNames, outputNames }: InferenceSession): string | undefined {
  if (!inputNames.includes(INPUT)) return `it has no "${INPUT}" input`;
  const unknown = inputNames.filter((name) => name !== INPUT && name !== MASK);
  if (unknown.length > 0) return `it takes inputs the engine cannot fill (${unknown.join(', ')})`;
  if (!outputNames.includes(OUTPUT) && outputNames.length !== 1)
    return `it has no "${OUTPUT}" output among ${outputNames.join(', ')}`;
  return undefined;
}

/** One utterance's decoding with the logits of its own frames. */
interface DecodedUtterance {
  transcript: Transcript;
  /** [frames, classes], the utterance's valid frames only. */
  logits: Float32Array;
  frames: number;
  classes: number;
}

class CtcEngine implements OnnxCtcEngine {
  readonly name = ONNX_CTC_ENGINE;
  readonly sampleRate: number;
  /** Each CTC frame is a step; the candidate needs no forcing, since frames do not feed back. */
  readonly tokenScoring: TokenScoring = {
    transcribeReference: (batch, k, signal) => this.transcribeReference(batch, k, signal),
    transcribeAgainst: (batch, reference, signal) => this.transcribeAgainst(batch, reference, signal),
  };
  readonly activationCapture?: ActivationCapture;
  private readonly takesMask: boolean;
  private readonly output: string;
  private released = false;

  constructor(
    private readonly session: InferenceSession,
    private readonly settings: CtcModelSettings,
    readonly device: Device,
    readonly coverage?: CandidateCoverage,
    private readonly capture?: ActivationCapture & Pick<ActivationRequest, 'sink'> & { inputs: LinearInput[] },
  ) {
    if (capture) this.activationCapture = { uncaptured: capture.uncaptured };
    this.sampleRate = settings.sampleRate;
    this.takesMask = session.inputNames.includes(MASK);
    this.output = session.outputNames.includes(OUTPUT) ? OUTPUT : session.outputNames[0];
  }

  async transcribe(batch: Utterance[], signal?: AbortSignal): Promise<Transcript[]> {
    return (await this.decode(batch, signal)).map(({ transcript }) => transcript);
  }

  private async transcribeReference(
    batch: Utterance[],
    k: number,
    signal?: AbortSignal,
  ): Promise<ReferenceTranscript[]> {
    return (await this.decode(batch, signal)).map(({ transcript, logits, frames, classes }) => {
      const steps: ReferenceStep[] = new Array(frames);
      for (let frame = 0; frame < frames; frame++) {
        const step = referenceStep(logits, frame * classes, classes, k);
        if (!step) throw notFinite('reference', transcript.id, frame);
        steps[frame] = step;
      }
      return { transcript, steps, vocabulary: classes };
    });
  }

  private async transcribeAgainst(
    batch: Utterance[],
    reference: (id: string) => readonly ReferenceStep[],
    signal?: AbortSignal,
  ): Promise<CandidateTranscript[]> {
    return (await this.decode(batch, signal)).map(({ transcript, logits, frames, classes }) => {
      const steps = reference(transcript.id);
      if (steps.length !== frames) {
        throw new QuantgateError(
          `utterance ${transcript.id}: the candidate gives ${frames} frames but the reference ${steps.length}; compare runs of the same audio and model`,
        );
      }
      const recorder = new DamageRecorder(transcript.id, steps);
      for (let frame = 0; frame < frames; frame++)
        if (!recorder.add(logits, frame * classes, classes)) throw notFinite('candidate', transcript.id, frame);
      return { transcript, damage: recorder.finish() };
    });
  }

  private async decode(batch: Utterance[], signal?: AbortSignal): Promise<DecodedUtterance[]> {
    for (const { id, sampleRate } of batch) {
      if (sampleRate !== this.sampleRate)
        throw new Error(
          `utterance ${id} is at ${sampleRate} Hz but the onnx-ctc engine needs ${this.sampleRate} Hz; the datasets stage must resample it`,
        );
    }
    if (batch.length === 0) return [];
    const decoded: DecodedUtterance[] = new Array(batch.length);
    // Only equal lengths share a run when padding could change a transcript: without a frame rule a
    // shorter utterance's frames cannot be told from padding, and without an attention mask the
    // padding reaches real frames through the model's context, making a result depend on its batch.
    const padSafe = this.takesMask && this.settings.frames.kind !== 'unknown';
    const runs = padSafe ? [batch.map((_, index) => index)] : groupByLength(batch);
    for (const indices of runs) {
      signal?.throwIfAborted();
      const utterances = indices.map((index) => batch[index]);
      const results = await this.run(utterances);
      indices.forEach((index, i) => (decoded[index] = results[i]!));
    }
    return decoded;
  }

  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }

  private async run(utterances: readonly Utterance[]): Promise<DecodedUtterance[]> {
    const { values, mask, samples } = padBatch(
      utterances.map((utterance) => utterance.audio),
      this.settings.normalize,
    );
    const dims = [utterances.length, samples];
    const feeds: Record<string, Tensor> = { [INPUT]: new Tensor('float32', values, dims) };
    if (this.takesMask) feeds[MASK] = new Tensor('int64', mask, dims);
    let outputs: InferenceSession.ReturnType;
    try {
      outputs = await this.session.run(feeds);
    } catch (error) {
      const longest = utterances.reduce((best, utterance) =>
        utterance.audio.length > best.audio.length ? utterance : best,
      );
      throw new QuantgateError(
        `onnxruntime failed on a batch of ${utterances.length} utterance(s), the longest ${longest.id} of ${longest.audio.length} samples (${describeError(error).split('\n')[0]}); leave out audio too short for the model, or try --batch-size 1 to find the utterance`,
        { cause: error },
      );
    }
    const logits = outputs[this.output];
    const [batchSize, frames, classes] = logits.dims;
    if (logits.type !== 'float32' || logits.dims.length !== 3 || batchSize !== utterances.length) {
      throw new QuantgateError(
        `${MODEL_FILE} returned ${logits.type} ${this.output} of shape [${logits.dims.join(', ')}], not float32 [${utterances.length}, frames, vocab]; export the CTC head's logits`,
      );
    }
    this.checkFrameCount(samples, frames);
    const data = logits.data as Float32Array;
    const { vocabulary, frames: rule } = this.settings;
    const validFrames = utterances.map((utterance) =>
      rule.kind === 'unknown' ? frames : Math.min(frames, framesFor(rule, utterance.audio.length)),
    );
    if (this.capture) this.handOver(outputs, frames, validFrames);
    return utterances.map((utterance, row) => {
      const valid = validFrames[row]!;
      const own = data.subarray(row * frames * classes, (row * frames + valid) * classes);
      const tokens = greedyCtc(own, valid, classes, vocabulary.blank);
      return {
        transcript: { id: utterance.id, text: vocabulary.text(tokens), tokens },
        logits: own,
        frames: valid,
        classes,
      };
    });
  }

  /**
   * Hands each captured input's rows to the sink, utterance by utterance. An input laid out per
   * frame ([batch, frames, width], or [batch · frames, width]) gives only the utterance's own
   * frames, as the logits do; any other layout gives every row of the utterance's slice.
   */
  private handOver(outputs: InferenceSession.ReturnType, frames: number, validFrames: readonly number[]): void {
    const batch = validFrames.length;
    for (const input of this.capture!.inputs) {
      const tensor = outputs[input.key]!;
      const data = tensor.data as Float32Array;
      const rowsEach = data.length / input.width / batch;
      if (tensor.type !== 'float32' || !Number.isInteger(rowsEach) || tensor.dims.at(-1) !== input.width)
        throw new Error(
          `${MODEL_FILE}: value ${input.key} is ${tensor.type} [${tensor.dims.join(', ')}], not float32 rows of ${input.width} for each of ${batch} utterances`,
        );
      validFrames.forEach((valid, row) => {
        const rows = rowsEach === frames ? valid : rowsEach;
        const start = row * rowsEach * input.width;
        this.capture!.sink.linear(input, data.subarray(start, start + rows * input.width));
      });
    }
  }

  /** The feature encoder's geometry gives the padded length's frames exactly; a mismatch means config.json describes another model. */
  private checkFrameCount(samples: number, frames: number): void {
    const rule = this.settings.frames;
    if (rule.kind !== 'convolutions' || framesFor(rule, samples) === frames) return;
    throw new QuantgateError(
      `${MODEL_FILE} returned ${frames} frames for ${samples} samples, but conv_kernel and conv_stride in config.json give ${framesFor(rule, samples)}; use the config.json exported with the model`,
    );
  }
}

function notFinite(variant: 'reference' | 'candidate', id: string, frame: number): QuantgateError {
  return new QuantgateError(
    `the ${variant}'s logits at frame ${frame} of utterance ${id} are not finite (NaN or infinity); the ${variant === 'candidate' ? 'quantized model is broken: check it with quantgate verify' : 'model is broken: export it again'}`,
  );
}

/** Indices of `batch` grouped by audio length, groups in order of first appearance. */
function groupByLength(batch: readonly Utterance[]): number[][] {
  const groups = new Map<number, number[]>();
  batch.forEach((utterance, index) => {
    const group = groups.get(utterance.audio.length);
    if (group) group.push(index);
    else groups.set(utterance.audio.length, [index]);
  });
  return [...groups.values()];
}
