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

// The cost matrix is reused between calls: aligning a corpus then allocates nothing per utterance
// beyond the word ids and the pairs it returns.
let costs = new Int32Array(1024);

export function alignWords(ref: readonly string[], hyp: readonly string[]): Alignment {
  const [refIds, hypIds] = internWords(ref, hyp);
  const rows = ref.length + 1;
  const width = hyp.length + 1;
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
      costs[row + j] = diagonal < deletion ? (diagonal < insertion ? diagonal : insertion) : deletion < insertion ? deletion : insertion;
    }
  }
}

function traceBack(ref: readonly string[], hyp: readonly string[], refIds: Int32Array, hypIds: Int32Array, width: number): Alignment {
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
