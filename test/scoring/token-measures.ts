// Token metrics on a scored comparison, as a run that measured them records them: made-up steps per
// utterance, summarized by the real token-damage code into the per-utterance fields and the run's
// `kld`, with the token gates decided on them. Shared by the report, merge and action tests.

import type { BootstrapOptions } from '../../src/scoring/bootstrap.js';
import { summarizeTokenDamage, utteranceFigures, type UtteranceDamage } from '../../src/scoring/token-damage.js';
import { decideTokenGates, type TokenGateOptions } from '../../src/scoring/token-gate.js';
import type { ScoredComparison, UtteranceRecord } from '../../src/scoring/types.js';

/** Deterministic steps for the utterance at `index`: 3 to 6 steps, KLDs up to 0.3 nats, one step in five disagreeing. */
export function madeUpDamage(id: string, index: number): UtteranceDamage {
  const steps = 3 + (index % 4);
  const klds = Float64Array.from({ length: steps }, (_, step) => ((index * 7 + step * 3) % 10) / 32);
  const top1 = Uint8Array.from({ length: steps }, (_, step) => ((index + step) % 5 === 0 ? 0 : 1));
  const referenceLogProbs = Float64Array.from({ length: steps }, (_, step) => -0.125 * (step + 1));
  const candidateLogProbs = referenceLogProbs.map((logProb, step) => logProb - klds[step]! / 2);
  return { id, klds, top1, referenceLogProbs, candidateLogProbs };
}

/** An utterance's record with the token fields of its steps. */
export function measuredRecord(record: UtteranceRecord, damage: UtteranceDamage): UtteranceRecord {
  const steps = damage.klds.length;
  const logRatio =
    damage.referenceLogProbs.reduce((sum, value) => sum + value, 0) -
    damage.candidateLogProbs.reduce((sum, value) => sum + value, 0);
  return {
    ...record,
    ...utteranceFigures(damage),
    tokenSteps: steps,
    kldMax: Math.max(0, ...damage.klds),
    perplexityRatio: steps === 0 ? 1 : Math.exp(logRatio / steps),
  };
}

/**
 * `comparison` with token metrics over its utterances' steps (`damageOf` gives them, by default
 * made up from each utterance's place), and the token gates `gates` sets.
 */
export function withTokenMetrics(
  comparison: ScoredComparison,
  options: {
    gates?: TokenGateOptions;
    bootstrap?: BootstrapOptions;
    damageOf?: (id: string, index: number) => UtteranceDamage;
  } = {},
): ScoredComparison {
  const damageOf = options.damageOf ?? madeUpDamage;
  const damages = comparison.utterances.map((record, index) => damageOf(record.id, index));
  const summary = summarizeTokenDamage(damages, options.bootstrap);
  if (!summary) throw new Error('the made-up damage has no steps');
  const { bootstrap: _bootstrap, ...figures } = summary;
  const tokenGates = decideTokenGates(summary, { mode: comparison.gate.mode, ...options.gates });
  // The figures before the utterances in the file, as a merge writes them.
  const { utterances: _utterances, ...rest } = comparison;
  return {
    ...rest,
    kld: { available: true, ...figures },
    ...(tokenGates.length > 0 ? { tokenGates } : {}),
    utterances: comparison.utterances.map((record, index) => measuredRecord(record, damages[index]!)),
  };
}
