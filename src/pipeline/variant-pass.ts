// One variant's pass over the utterances: open the engine, transcribe every batch the input gives
// it, close it. Where the engine sees its output distributions (Engine.tokenScoring), the pass
// measures them too: the reference keeps each step's distribution (handed to `onReferenceSteps`,
// which writes the reference base), and the candidate is compared with the reference's steps
// (its damage is returned with its transcripts). A reference may also hand the inputs of chosen
// weights to a sink as it runs (Engine.activationCapture), for `sensitivity --method fast`.

import { readAhead } from '../common/concurrency.js';
import { QuantgateError } from '../common/errors.js';
import type { Progress } from '../common/progress.js';
import { isFailedUtterance, type Dataset } from '../datasets/dataset.js';
import type { FailedUtterance, Utterance } from '../datasets/utterance.js';
import type {
  ActivationRequest,
  Device,
  Engine,
  EngineFactory,
  ModelSource,
  Transcript,
  Variant,
} from '../engines/engine.js';
import type { VariantRecord } from '../reuse/variant-record.js';
import type { ReferenceStep, UtteranceDamage } from '../scoring/token-damage.js';
import type { AudioSpool } from './audio-spool.js';

/** Where a pass reads its batches, and utterances that could not be decoded, one at a time. */
export interface VariantInput {
  batches: AsyncIterable<Utterance[] | FailedUtterance>;
  total: number;
  batchSize: number;
  /** Releases what the batches are read from, once the pass ends. */
  close?: () => Promise<void>;
}

/** What a pass measures beyond the transcripts. */
export type TokenWork =
  | { kind: 'none' }
  /** Keep the top `k` of each step's distribution, handing each utterance's steps on as it is done. */
  | {
      kind: 'reference';
      k: number;
      onReferenceSteps: (transcript: Transcript, steps: ReferenceStep[], vocabulary: number) => Promise<void>;
    }
  /** Compare each step with the reference's steps of the same utterance. */
  | { kind: 'against'; steps: (id: string) => readonly ReferenceStep[] };

/** Opens one variant, transcribes every batch `input` gives it once open, and closes it. */
export async function runVariant(
  factory: EngineFactory,
  model: ModelSource,
  variant: Variant,
  options: {
    device: Device;
    progress: Progress;
    signal?: AbortSignal;
    tokens: TokenWork;
    /** The reference's weights whose inputs go to a sink; every one must be captured. */
    activations?: ActivationRequest;
  },
  input: (engine: Engine) => Promise<VariantInput>,
): Promise<VariantRecord> {
  const { progress, signal, tokens, activations } = options;
  const engine = await factory.open(model, variant, { device: options.device, ...(activations && { activations }) });
  let source: VariantInput | undefined;
  try {
    if (activations) refuseUncaptured(engine);
    source = await input(engine);
    const { batches, total, batchSize } = source;
    const run: VariantRecord = {
      device: engine.device,
      sampleRate: engine.sampleRate,
      batchSize,
      transcripts: [],
      utterances: [],
      failed: [],
      ...(tokens.kind === 'against' && engine.tokenScoring && { damages: [] as UtteranceDamage[] }),
    };
    const task = progress.task(`transcribing (${variant.kind})`, { total, unitName: 'utterances' });
    for await (const batch of readAhead(batches)) {
      if (!Array.isArray(batch)) {
        run.failed.push(batch);
        task.advance(1);
        continue;
      }
      const started = performance.now();
      const transcripts = await transcribeBatch(engine, batch, tokens, run, signal);
      const msEach = (performance.now() - started) / batch.length;
      run.transcripts.push(...transcripts.map((transcript) => ({ ...transcript, ms: msEach })));
      run.utterances.push(...batch.map(({ id, text }) => ({ id, text })));
      task.advance(batch.length);
    }
    task.finish();
    return run;
  } finally {
    await Promise.allSettled([source?.close?.(), engine.close()]);
  }
}

/** Throws when the engine cannot hand over the inputs of every weight asked for. */
function refuseUncaptured(engine: Engine): void {
  const capture = engine.activationCapture;
  if (!capture)
    throw new QuantgateError(
      `the ${engine.name} engine cannot show the inputs of its layers, which --method fast needs; use --method exact`,
    );
  const { uncaptured } = capture;
  if (uncaptured.length === 0) return;
  const shown = uncaptured.slice(0, 3).map(({ tensor, reason }) => `${tensor} (${reason})`);
  if (uncaptured.length > shown.length) shown.push(`${uncaptured.length - shown.length} more`);
  throw new QuantgateError(
    `--method fast scores a weight on the rows its linear layer or embedding reads, and the ${engine.name} engine reads ${uncaptured.length} quantized weight(s) otherwise: ${shown.join(', ')}; use --method exact, or keep those weights out of the block types (--keep, --tensor-type)`,
  );
}

async function transcribeBatch(
  engine: Engine,
  batch: Utterance[],
  tokens: TokenWork,
  run: VariantRecord,
  signal: AbortSignal | undefined,
): Promise<Transcript[]> {
  const scoring = engine.tokenScoring;
  if (!scoring || tokens.kind === 'none') return engine.transcribe(batch, signal);
  if (tokens.kind === 'reference') {
    const results = await scoring.transcribeReference(batch, tokens.k, signal);
    for (const { transcript, steps, vocabulary } of results)
      await tokens.onReferenceSteps(transcript, steps, vocabulary);
    return results.map(({ transcript }) => transcript);
  }
  const results = await scoring.transcribeAgainst(batch, tokens.steps, signal);
  run.damages!.push(...results.map(({ damage }) => damage));
  return results.map(({ transcript }) => transcript);
}

/** The dataset's utterances in batches, each spooled as it is decoded when a spool is given; failed utterances pass through alone. */
export async function* decodedBatches(
  dataset: Dataset,
  batchSize: number,
  spool?: AudioSpool,
): AsyncGenerator<Utterance[] | FailedUtterance> {
  let batch: Utterance[] = [];
  for await (const item of dataset) {
    if (isFailedUtterance(item)) {
      yield item;
      continue;
    }
    batch.push(item);
    if (batch.length >= batchSize) {
      await spool?.append(batch);
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await spool?.append(batch);
    yield batch;
  }
}
