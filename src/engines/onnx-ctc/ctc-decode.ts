// Greedy CTC decoding as Hugging Face's wav2vec2 pipeline does it: the most likely class of each
// frame (the first on a tie), repeats collapsed, blanks dropped; then token ids become text, the
// word delimiter a space, special tokens (<s>, </s>, <unk>, [UNK]…) left out.

/** Ids of the best path through `frames` rows of `classes` logits, collapsed, without blanks. */
export function greedyCtc(logits: Float32Array, frames: number, classes: number, blank: number): number[] {
  if (logits.length < frames * classes)
    throw new RangeError(
      `${frames} frames of ${classes} classes need ${frames * classes} logits, not ${logits.length}`,
    );
  const ids: number[] = [];
  let previous = -1;
  for (let frame = 0; frame < frames; frame++) {
    const row = frame * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[row + k] > logits[row + best]) best = k;
    if (best !== previous && best !== blank) ids.push(best);
    previous = best;
  }
  return ids;
}

/** A token looks special when it is wrapped in <…>, or is an upper-case [NAME]. */
const SPECIAL_TOKEN = /^(<[^<>]+>|\[[A-Z_]+\])$/;

export class CtcVocabulary {
  private readonly tokens: ReadonlyMap<number, string>;

  /** `tokens` maps token text to id, as vocab.json does. */
  constructor(
    tokens: ReadonlyMap<string, number>,
    readonly blank: number,
    private readonly wordDelimiter: string,
  ) {
    this.tokens = new Map([...tokens].map(([token, id]) => [id, token]));
  }

  /** The transcript of decoded ids; ids the vocabulary lacks are unknown tokens and dropped, as Hugging Face drops <unk>. */
  text(ids: readonly number[]): string {
    let text = '';
    for (const id of ids) {
      const token = this.tokens.get(id);
      if (token === undefined || SPECIAL_TOKEN.test(token)) continue;
      text += token === this.wordDelimiter ? ' ' : token;
    }
    return text.split(/\s+/).filter(Boolean).join(' ');
  }
}
