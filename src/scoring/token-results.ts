// Puts the candidate's token-level damage into a scored comparison: each scored utterance gets its
// mean KLD, top-1 agreement, step count, largest step KLD and perplexity ratio, the run gets the
// summary figures (token-damage.ts) and the verdicts of the token gates that were set
// (token-gate.ts). Utterances that scoring dropped (an empty transcript) are left out of the
// figures too, so the KLD and the WER describe the same utterances.

import { QuantgateError } from '../common/errors.js';
import type { BootstrapOptions } from './bootstrap.js';
import { summarizeTokenDamage, utteranceFigures, type UtteranceDamage } from './token-damage.js';
import { decideTokenGates, type TokenGateOptions } from './token-gate.js';
import type { KldFigures, ScoredComparison, UtteranceRecord } from './types.js';

export function withTokenDamage(
  comparison: ScoredComparison,
  damages: readonly UtteranceDamage[],
  options: { bootstrap?: BootstrapOptions; gates?: TokenGateOptions } = {},
): ScoredComparison {
  const byId = new Map(damages.map((damage) => [damage.id, damage]));
  const scored: UtteranceDamage[] = [];
  const utterances = comparison.utterances.map((utterance): UtteranceRecord => {
    const damage = byId.get(utterance.id);
    if (!damage) throw new RangeError(`utterance ${utterance.id} has no token damage`);
    scored.push(damage);
    return { ...utterance, ...utteranceRecordFigures(damage) };
  });
  const summary = summarizeTokenDamage(scored, options.bootstrap);
  const gates = options.gates ?? {};
  const gatesSet = gates.maxKld !== undefined || gates.minTop1Agreement !== undefined;
  if (!summary) {
    if (gatesSet)
      throw new QuantgateError(
        'the token gates cannot be decided: no utterance had a step to compare; check the dataset selection',
      );
    return { ...comparison, utterances, kld: { available: false, reason: 'no utterance had a step to compare' } };
  }
  const { bootstrap: _bootstrap, ...figures } = summary;
  const kld: KldFigures = { available: true, ...figures };
  return {
    ...comparison,
    utterances,
    kld,
    ...(gatesSet && { tokenGates: decideTokenGates(summary, gates) }),
  };
}

/** The comparison of an engine that sees no distributions: its token metrics are "not available", and why. */
export function withoutTokenMetrics(comparison: ScoredComparison, reason: string): ScoredComparison {
  return { ...comparison, kld: { available: false, reason } };
}

function utteranceRecordFigures(
  damage: UtteranceDamage,
): Pick<UtteranceRecord, 'kld' | 'top1Agreement' | 'tokenSteps' | 'kldMax' | 'perplexityRatio'> {
  const steps = damage.klds.length;
  let kldMax = 0;
  let logRatio = 0;
  for (let step = 0; step < steps; step++) {
    kldMax = Math.max(kldMax, damage.klds[step]!);
    logRatio += damage.referenceLogProbs[step]! - damage.candidateLogProbs[step]!;
  }
  return {
    ...utteranceFigures(damage),
    tokenSteps: steps,
    kldMax,
    perplexityRatio: steps === 0 ? 1 : Math.exp(logRatio / steps),
  };
}
