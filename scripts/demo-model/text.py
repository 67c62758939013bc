"""Characters ↔ token ids for the demo model, greedy CTC decoding, and word error rate.

The vocabulary follows Hugging Face's wav2vec2 CTC layout: `<pad>` is the CTC blank (id 0) and
`|` stands for the space between words.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

BLANK = "<pad>"
WORD_DELIMITER = "|"
VOCAB: dict[str, int] = {
    token: index
    for index, token in enumerate([BLANK, WORD_DELIMITER, "'", *"abcdefghijklmnopqrstuvwxyz"])
}
ID_TO_TOKEN = {index: token for token, index in VOCAB.items()}


def normalize(text: str) -> str:
    """Lowercase letters and apostrophes, words separated by single spaces."""
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def encode(text: str) -> list[int]:
    return [VOCAB[WORD_DELIMITER if char == " " else char] for char in normalize(text)]


def greedy_decode(frame_ids: Iterable[int]) -> str:
    """Collapse repeated frames, drop blanks, turn delimiters into spaces."""
    chars: list[str] = []
    previous = -1
    for token_id in frame_ids:
        if token_id != previous and token_id != VOCAB[BLANK]:
            token = ID_TO_TOKEN[token_id]
            chars.append(" " if token == WORD_DELIMITER else token)
        previous = token_id
    return " ".join("".join(chars).split())


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edit distance, reference word count) after normalizing both texts."""
    ref = normalize(reference).split()
    hyp = normalize(hypothesis).split()
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        diagonal, row[0] = row[0], i
        for j, hyp_word in enumerate(hyp, start=1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ref_word != hyp_word))
    return row[len(hyp)], len(ref)


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER in percent: total edits over total reference words."""
    edits = words = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        utterance_edits, utterance_words = word_errors(reference, hypothesis)
        edits += utterance_edits
        words += utterance_words
    return 100.0 * edits / words
