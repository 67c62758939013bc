// Token-level damage: how far the candidate's output distributions moved from the reference's, as
// llama.cpp's `llama-perplexity --kl-divergence` measures it. Per step: the KL divergence
// KL(P_ref ‖ P_cand) in nats, whether both argmaxes agree, and the candidate's log-probability of
// the reference's token. Per run: the mean KLD with a bootstrap interval over utterances, its
// median, 99th percentile and maximum, the top-1 agreement, and the ratio of the two perplexities
// on the reference's tokens.
//
// The reference's distribution may be kept whole or as its top k entries plus the log of the mass
// left over (the reference base file keeps the top 32 of a large vocabulary). KLD is then computed
// over the k + 1 outcomes "token i of the top k" and "any other token":
//   Σ_{i ≤ k} p_i (log p_i − log q_i) + r_p (log r_p − log r_q),   r = 1 − Σ_{i ≤ k} (the rest)
// which is the KL divergence of the two distributions coarsened to those outcomes. Coarsening never
// increases a KL divergence, so this is a lower bound of the full one; the gap is
// r_p · KL(P_rest ‖ Q_rest) of the renormalized rests, which is small when r_p is (docs/ENGINES.md).

import { percentile, ratioBootstrap, type BootstrapOptions, type RatioInterval } from './bootstrap.js';

/** The reference's distribution at one step: its top entries, most probable first, or all of them. */
export interface ReferenceStep {
  /** The token the reference emitted (its argmax), which the candidate is forced with or scored on. */
  token: number;
  /** Token ids of the kept entries. */
  ids: Int32Array;
  /** Their natural-log probabilities. */
  logProbs: Float32Array;
  /** The log of the probability mass of every token not kept; −∞ when all are kept. */
  logRest: number;
}

/** One step of the candidate against the reference. */
export interface StepDamage {
  kld: number;
  /** The candidate's argmax is the reference's token. */
  top1: boolean;
  /** The candidate's log-probability of the reference's token. */
  logProb: number;
}

/** Natural-log softmax of `count` logits from `offset`, in double precision; undefined when any logit is NaN or +∞. */
export function logSoftmax(logits: ArrayLike<number>, offset: number, count: number): Float64Array | undefined {
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const value = logits[offset + i]!;
    if (Number.isNaN(value) || value === Infinity) return undefined;
    if (value > max) max = value;
  }
  if (max === -Infinity) return undefined;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += Math.exp(logits[offset + i]! - max);
  const normalizer = max + Math.log(sum);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = logits[offset + i]! - normalizer;
  return out;
}

/**
 * The reference's step from its logits: the `k` most probable tokens (ties to the lower id, as the
 * decoders' argmax), or every token when `k` is at least the vocabulary. Undefined for logits that
 * are not finite.
 */
export function referenceStep(
  logits: ArrayLike<number>,
  offset: number,
  count: number,
  k: number,
): ReferenceStep | undefined {
  const logProbs = logSoftmax(logits, offset, count);
  if (!logProbs) return undefined;
  const kept = Math.min(k, count);
  const ids = kept === count ? allIds(count) : topIndices(logProbs, kept);
  const token = kept === count ? argmax(logProbs) : ids[0]!;
  // Rounded to float32 as the base file keeps them, so a reused base gives the figures a fresh run does.
  return {
    token,
    ids,
    logProbs: Float32Array.from(ids, (id) => logProbs[id]!),
    logRest: Math.fround(logRestOf(logProbs, ids)),
  };
}

/** The candidate's step against the reference's; undefined when the candidate's logits are not finite. */
export function compareStep(
  reference: ReferenceStep,
  logits: ArrayLike<number>,
  offset: number,
  count: number,
): StepDamage | undefined {
  const candidate = logSoftmax(logits, offset, count);
  if (!candidate) return undefined;
  let kld = 0;
  for (let i = 0; i < reference.ids.length; i++) {
    const logP = reference.logProbs[i]!;
    kld += Math.exp(logP) * (logP - candidate[reference.ids[i]!]!);
  }
  if (reference.logRest > -Infinity)
    kld += Math.exp(reference.logRest) * (reference.logRest - logRestOf(candidate, reference.ids));
  // A KL divergence is never negative; a tiny negative sum is rounding between equal distributions.
  return { kld: Math.max(0, kld), top1: argmax(candidate) === reference.token, logProb: candidate[reference.token]! };
}

/** One utterance's steps, as the run's summary needs them. */
export interface UtteranceDamage {
  id: string;
  /** Per step. */
  klds: Float64Array;
  top1: Uint8Array;
  /** The candidate's and the reference's log-probabilities of the reference's tokens. */
  candidateLogProbs: Float64Array;
  referenceLogProbs: Float64Array;
}

export interface TokenDamageSummary {
  /** Mean KLD per step over the run, in nats. */
  mean: number;
  /** Its 95% bootstrap interval over utterances. */
  interval: [number, number];
  median: number;
  p99: number;
  max: number;
  /** Fraction of steps at which both models pick the same top token. */
  top1Agreement: number;
  /** PPL(candidate) / PPL(reference) on the reference's tokens. */
  perplexityRatio: number;
  steps: number;
  bootstrap: Omit<RatioInterval, 'low' | 'high'>;
}

/** The reference's log-probability of its own token. */
export function referenceLogProb(step: ReferenceStep): number {
  const at = step.ids.indexOf(step.token);
  return at >= 0 ? step.logProbs[at]! : -Infinity;
}

/** Collects one utterance's steps of the candidate against the reference, in order. */
export class DamageRecorder {
  private readonly klds: Float64Array;
  private readonly top1: Uint8Array;
  private readonly candidateLogProbs: Float64Array;
  private readonly referenceLogProbs: Float64Array;
  private count = 0;

  constructor(
    readonly id: string,
    private readonly reference: readonly ReferenceStep[],
  ) {
    const steps = reference.length;
    this.klds = new Float64Array(steps);
    this.top1 = new Uint8Array(steps);
    this.candidateLogProbs = new Float64Array(steps);
    this.referenceLogProbs = new Float64Array(steps);
  }

  /** Compares the next step's logits; false when they are not finite (nothing is recorded then). */
  add(logits: ArrayLike<number>, offset: number, classes: number): boolean {
    const step = this.reference[this.count];
    if (!step) throw new RangeError(`utterance ${this.id} has only ${this.reference.length} reference steps`);
    const damage = compareStep(step, logits, offset, classes);
    if (!damage) return false;
    this.klds[this.count] = damage.kld;
    this.top1[this.count] = damage.top1 ? 1 : 0;
    this.candidateLogProbs[this.count] = damage.logProb;
    this.referenceLogProbs[this.count] = referenceLogProb(step);
    this.count++;
    return true;
  }

  finish(): UtteranceDamage {
    if (this.count !== this.reference.length)
      throw new RangeError(`utterance ${this.id}: ${this.count} of ${this.reference.length} steps compared`);
    return {
      id: this.id,
      klds: this.klds,
      top1: this.top1,
      candidateLogProbs: this.candidateLogProbs,
      referenceLogProbs: this.referenceLogProbs,
    };
  }
}

/** Per-utterance mean KLD and top-1 agreement; 0 and 1 for an utterance without steps. */
export function utteranceFigures(utterance: UtteranceDamage): { kld: number; top1Agreement: number } {
  const steps = utterance.klds.length;
  if (steps === 0) return { kld: 0, top1Agreement: 1 };
  return { kld: sum(utterance.klds) / steps, top1Agreement: count(utterance.top1) / steps };
}

/** The run's figures; undefined when no utterance has a step. */
export function summarizeTokenDamage(
  utterances: readonly UtteranceDamage[],
  options: BootstrapOptions = {},
): TokenDamageSummary | undefined {
  const steps = utterances.reduce((total, utterance) => total + utterance.klds.length, 0);
  if (steps === 0) return undefined;
  const all = new Float64Array(steps);
  let at = 0;
  let agreements = 0;
  let logRatio = 0;
  for (const utterance of utterances) {
    all.set(utterance.klds, at);
    at += utterance.klds.length;
    agreements += count(utterance.top1);
    logRatio += sum(utterance.referenceLogProbs) - sum(utterance.candidateLogProbs);
  }
  const { low, high, ...bootstrap } = ratioBootstrap(
    Float64Array.from(utterances, (utterance) => sum(utterance.klds)),
    Float64Array.from(utterances, (utterance) => utterance.klds.length),
    options,
  );
  const mean = sum(all) / steps;
  all.sort();
  return {
    mean,
    interval: [low, high],
    median: percentile(all, 0.5),
    p99: percentile(all, 0.99),
    max: all[steps - 1]!,
    top1Agreement: agreements / steps,
    perplexityRatio: Math.exp(logRatio / steps),
    steps,
    bootstrap,
  };
}

const ALL_IDS = new Map<number, Int32Array>();

/** 0 … count − 1, one array per vocabulary size, shared by every full step (they are never written). */
function allIds(count: number): Int32Array {
  let ids = ALL_IDS.get(count);
  if (!ids) ALL_IDS.set(count, (ids = Int32Array.from({ length: count }, (_, i) => i)));
  return ids;
}

/** The `k` largest entries' indices, largest first, the lower index first among equals. */
function topIndices(values: Float64Array, k: number): Int32Array {
  const order = Int32Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => values[b]! - values[a]! || a - b);
  return order.slice(0, k);
}

/** log Σ exp(values[j]) over the j not in `kept`, without underflow; −∞ when every index is kept. */
function logRestOf(values: Float64Array, kept: Int32Array): number {
  if (kept.length >= values.length) return -Infinity;
  const skip = new Uint8Array(values.length);
  for (const id of kept) skip[id] = 1;
  let max = -Infinity;
  for (let j = 0; j < values.length; j++) if (!skip[j] && values[j]! > max) max = values[j]!;
  if (max === -Infinity) return -Infinity;
  let total = 0;
  for (let j = 0; j < values.length; j++) if (!skip[j]) total += Math.exp(values[j]! - max);
  return max + Math.log(total);
}

/** The first index of the largest value. */
function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}

function count(flags: Uint8Array): number {
  let total = 0;
  for (const flag of flags) total += flag;
  return total;
}
