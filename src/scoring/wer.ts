// Corpus word error rate of one system: every utterance aligned on its own, then errors and
// reference words summed over the corpus, WER = Σ(S + D + I) / Σ N_ref — as jiwer and kaldialign
// compute it, not the mean of per-utterance rates, which would let short utterances weigh as much
// as long ones.
//
// Texts arrive already normalized. A reference with no words left after normalization cannot be
// scored (its WER is undefined), so it is dropped and reported, never counted as zero errors.

import { QuantgateError } from '../common/errors.js';
import { countErrors, type ErrorCounts } from './align.js';
import { splitWords } from './normalize/index.js';

/** One utterance to score: normalized reference and hypothesis text. */
export interface TextPair {
  id: string;
  reference: string;
  hypothesis: string;
}

export interface SystemScore extends ErrorCounts {
  /** 100 · (S + D + I) / referenceWords. */
  werPercent: number;
}

export interface CorpusScore {
  total: SystemScore;
  /** The scored utterances, in input order. */
  utterances: { id: string; counts: ErrorCounts }[];
  /** Utterances dropped because their reference is empty after normalization. */
  droppedEmptyIds: string[];
}

export function errorsOf(counts: ErrorCounts): number {
  return counts.substitutions + counts.deletions + counts.insertions;
}

export function scoreCorpus(pairs: readonly TextPair[]): CorpusScore {
  const utterances: CorpusScore['utterances'] = [];
  const droppedEmptyIds: string[] = [];
  for (const pair of pairs) {
    const referenceWords = splitWords(pair.reference);
    if (referenceWords.length === 0) {
      droppedEmptyIds.push(pair.id);
      continue;
    }
    utterances.push({
      id: pair.id,
      counts: countErrors(referenceWords, splitWords(pair.hypothesis), `utterance ${pair.id}`),
    });
  }
  if (utterances.length === 0) throw noWordsError(pairs.length);
  return { total: systemScore(utterances.map((utterance) => utterance.counts)), utterances, droppedEmptyIds };
}

/** Sums per-utterance counts into a corpus score. */
export function systemScore(counts: Iterable<ErrorCounts>): SystemScore {
  const total: ErrorCounts = { substitutions: 0, deletions: 0, insertions: 0, hits: 0, referenceWords: 0 };
  for (const item of counts) {
    total.substitutions += item.substitutions;
    total.deletions += item.deletions;
    total.insertions += item.insertions;
    total.hits += item.hits;
    total.referenceWords += item.referenceWords;
  }
  if (total.referenceWords === 0) throw noWordsError(0);
  return { ...total, werPercent: (100 * errorsOf(total)) / total.referenceWords };
}

function noWordsError(utteranceCount: number): QuantgateError {
  return new QuantgateError(
    utteranceCount === 0
      ? 'there are no utterances to score; give at least one utterance with a non-empty reference transcript'
      : `all ${utteranceCount} reference transcripts are empty after normalization, so there are no words to score; check the reference file and that the normalizer fits its language`,
  );
}
