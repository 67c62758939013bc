// Word-level Levenshtein alignment of one reference transcript against one hypothesis, with the
// substitution, deletion and insertion counts that word error rate is made of.
//
// Costs are unit (substitution = deletion = insertion = 1), so S + D + I is the edit distance and
// equals what every Levenshtein implementation (jiwer, kaldialign, sclite without weights) reports.
// Several minimum-cost paths can split that total differently (two substitutions, or a deletion
// plus an insertion); the path chosen is Kaldi's, as kaldialign's `align` and `edit_distance`
// choose it, tracing back from the end of both sequences: take the diagonal (hit or substitution)
// only when it is strictly cheaper than both deletion and insertion; otherwise the deletion when it
// is strictly cheaper than the insertion; otherwise the insertion. So counts match kaldialign
// exactly, and jiwer's (RapidFuzz, which also prefers deletions and insertions on ties) in all but
// rare ties.
//
// Scoring needs only the counts: `countErrors` computes them in a forward pass that keeps two rows
// of the cost matrix, each cell carrying the counts of the path the trace-back would take through
// it (the choice at a cell depends only on its three predecessors' costs, so the forward choice
// and the trace-back's are the same). Memory is linear in the shorter transcript; time is the
// product of the two lengths, hence the ceiling on words per utterance. `alignWords`, for showing
// an alignment word by word, keeps the whole matrix and so accepts only short utterances.

import { QuantgateError } from '../common/errors.js';

export interface ErrorCounts {
  substitutions: number;
  deletions: number;
  insertions: number;
  hits: number;
  /** Words in the reference: hits + substitutions + deletions. */
  referenceWords: number;
}

export type AlignmentOp = 'hit' | 'substitution' | 'deletion' | 'insertion';

/** One step of the alignment: a deletion has no hypothesis word, an insertion no reference word. */
export interface AlignedPair {
  ref: string | null;
  hyp: string | null;
  op: AlignmentOp;
}

export interface Alignment extends ErrorCounts {
  /** In reading order. */
  pairs: AlignedPair[];
}

/**
 * Most words a reference or hypothesis may hold in one utterance, about half an hour of speech:
 * 5,000 × 5,000 words take 0.13–0.17 s of CPU time to count (measured) (`npm run bench scoring`), so one
 * utterance from a misbehaving engine never holds up the gate or a stop. Long-form transcripts must
 * be cut into utterances first.
 */
export const MAX_WORDS_PER_UTTERANCE = 5_000;

/** Most cells (reference words × hypothesis words) of a word-by-word alignment: 64 MiB of costs. */
export const MAX_ALIGNMENT_CELLS = 1 << 24;

// The six rows of `countErrors` (cost, substitutions and deletions; current and next) are reused
// between calls, as scoring a corpus calls it once per utterance.
let rowBuffers = Array.from({ length: 6 }, () => new Int32Array(256));

/**
 * The error counts of the Kaldi alignment of `hyp` against `ref`. `utterance` names the utterance
 * in the error raised past MAX_WORDS_PER_UTTERANCE.
 */
export function countErrors(ref: readonly string[], hyp: readonly string[], utterance = 'an utterance'): ErrorCounts {
  for (const [words, side] of [
    [ref, 'reference'],
    [hyp, 'hypothesis'],
  ] as const) {
    if (words.length > MAX_WORDS_PER_UTTERANCE) {
      throw new QuantgateError(
        `${utterance}: its ${side} has ${words.length} words, more than the ${MAX_WORDS_PER_UTTERANCE} words per utterance that scoring aligns; ` +
          'cut long-form audio and its transcripts into shorter utterances',
      );
    }
  }
  const [refIds, hypIds] = internWords(ref, hyp);
  // Rows run along the longer sequence, so a row is as long as the shorter one.
  const rowsAreRef = ref.length >= hyp.length;
  const outer = rowsAreRef ? refIds : hypIds;
  const inner = rowsAreRef ? hypIds : refIds;
  const width = inner.length + 1;
  // Per cell: cost, and the substitutions and deletions of the path to it (insertions and hits
  // follow: cost = S + D + I, and reference words so far = hits + S + D).
  // The two orientations differ only in which step a tie between above and left goes to (the
  // insertion) and which of the two counts as a deletion; constants keep the loop free of branches on it.
  const leftTieBonus = rowsAreRef ? 0 : 1;
  const deletionFromAbove = rowsAreRef ? 1 : 0;
  const deletionFromLeft = 1 - deletionFromAbove;
  if (rowBuffers[0]!.length < width)
    rowBuffers = Array.from({ length: 6 }, () => new Int32Array(Math.max(width, rowBuffers[0]!.length * 2)));
  let [costs, subs, dels, nextCosts, nextSubs, nextDels] = rowBuffers as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ];
  subs.fill(0, 0, width);
  // Row 0: an empty outer prefix against each inner prefix.
  for (let j = 0; j < width; j++) {
    costs[j] = j;
    dels[j] = deletionFromLeft * j;
  }
  for (let i = 1; i <= outer.length; i++) {
    const word = outer[i - 1]!;
    nextCosts[0] = i;
    nextSubs[0] = 0;
    nextDels[0] = deletionFromAbove * i;
    for (let j = 1; j < width; j++) {
      const mismatch = word === inner[j - 1] ? 0 : 1;
      const diagonal = costs[j - 1]! + mismatch;
      const fromAbove = costs[j]! + 1;
      const fromLeft = nextCosts[j - 1]! + 1;
      if (diagonal < fromAbove && diagonal < fromLeft) {
        nextCosts[j] = diagonal;
        nextSubs[j] = subs[j - 1]! + mismatch;
        nextDels[j] = dels[j - 1]!;
      } else if (fromAbove < fromLeft + leftTieBonus) {
        nextCosts[j] = fromAbove;
        nextSubs[j] = subs[j]!;
        nextDels[j] = dels[j]! + deletionFromAbove;
      } else {
        nextCosts[j] = fromLeft;
        nextSubs[j] = nextSubs[j - 1]!;
        nextDels[j] = nextDels[j - 1]! + deletionFromLeft;
      }
    }
    [costs, nextCosts] = [nextCosts, costs];
    [subs, nextSubs] = [nextSubs, subs];
    [dels, nextDels] = [nextDels, dels];
  }
  const substitutions = subs[width - 1]!;
  const deletions = dels[width - 1]!;
  const insertions = costs[width - 1]! - substitutions - deletions;
  return {
    substitutions,
    deletions,
    insertions,
    hits: ref.length - substitutions - deletions,
    referenceWords: ref.length,
  };
}

// The cost matrix of `alignWords` is reused between calls: showing many alignments then allocates
// nothing per utterance beyond the word ids and the pairs it returns.
let costs = new Int32Array(1024);

/** The Kaldi alignment, pair by pair; for utterances of at most MAX_ALIGNMENT_CELLS word pairs. */
export function alignWords(ref: readonly string[], hyp: readonly string[]): Alignment {
  const rows = ref.length + 1;
  const width = hyp.length + 1;
  if (ref.length * hyp.length > MAX_ALIGNMENT_CELLS) {
    throw new QuantgateError(
      `an alignment of ${ref.length} reference words against ${hyp.length} hypothesis words is too long to show word by word ` +
        `(at most ${MAX_ALIGNMENT_CELLS} word pairs, reference words × hypothesis words)`,
    );
  }
  const [refIds, hypIds] = internWords(ref, hyp);
  if (costs.length < rows * width) costs = new Int32Array(Math.max(rows * width, costs.length * 2));
  fillCosts(refIds, hypIds, width);
  return traceBack(ref, hyp, refIds, hypIds, width);
}
function internWords(ref: readonly string[], hyp: readonly string[]): [Int32Array, Int32Array] {
  const ids = new Map<string, number>();
  const toIds = (words: readonly string[]) => {
    const out = new Int32Array(words.length);
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      let id = ids.get(word);
      if (id === undefined) {
        id = ids.size;
        ids.set(word, id);
      }
      out[i] = id;
    }
    return out;
  };
  return [toIds(ref), toIds(hyp)];
}

/** costs[i·width + j] = edit distance between the first i reference words and the first j hypothesis words. */
function fillCosts(refIds: Int32Array, hypIds: Int32Array, width: number): void {
  for (let j = 0; j < width; j++) costs[j] = j;
  for (let i = 1; i <= refIds.length; i++) {
    const row = i * width;
    const above = row - width;
    const refId = refIds[i - 1]!;
    costs[row] = i;
    for (let j = 1; j < width; j++) {
      const diagonal = costs[above + j - 1]! + (refId === hypIds[j - 1] ? 0 : 1);
      const deletion = costs[above + j]! + 1;
      const insertion = costs[row + j - 1]! + 1;
      costs[row + j] =
        diagonal < deletion
          ? diagonal < insertion
            ? diagonal
            : insertion
          : deletion < insertion
            ? deletion
            : insertion;
    }
  }
}

function traceBack(
  ref: readonly string[],
  hyp: readonly string[],
  refIds: Int32Array,
  hypIds: Int32Array,
  width: number,
): Alignment {
  const pairs: AlignedPair[] = [];
  let substitutions = 0;
  let deletions = 0;
  let insertions = 0;
  let hits = 0;
  let i = ref.length;
  let j = hyp.length;
  while (i > 0 || j > 0) {
    let step: 'diagonal' | 'deletion' | 'insertion';
    if (i === 0) step = 'insertion';
    else if (j === 0) step = 'deletion';
    else {
      const diagonal = costs[(i - 1) * width + j - 1]! + (refIds[i - 1] === hypIds[j - 1] ? 0 : 1);
      const deletion = costs[(i - 1) * width + j]! + 1;
      const insertion = costs[i * width + j - 1]! + 1;
      step = diagonal < deletion && diagonal < insertion ? 'diagonal' : deletion < insertion ? 'deletion' : 'insertion';
    }
    if (step === 'diagonal') {
      i--;
      j--;
      const hit = refIds[i] === hypIds[j];
      if (hit) hits++;
      else substitutions++;
      pairs.push({ ref: ref[i]!, hyp: hyp[j]!, op: hit ? 'hit' : 'substitution' });
    } else if (step === 'deletion') {
      i--;
      deletions++;
      pairs.push({ ref: ref[i]!, hyp: null, op: 'deletion' });
    } else {
      j--;
      insertions++;
      pairs.push({ ref: null, hyp: hyp[j]!, op: 'insertion' });
    }
  }
  pairs.reverse();
  return { substitutions, deletions, insertions, hits, referenceWords: ref.length, pairs };
}
