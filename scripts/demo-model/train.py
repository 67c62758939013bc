"""Train the demo CTC model on the synthesized training split.

Batches are padded the way the engine pads them (zero samples after each utterance, then
the frames that zero audio gives), and the CTC loss runs over every padded frame, so padding
decodes to blanks. Prints the loss and the validation WER each epoch, and writes
WORK_DIR/model.pt: {"config": ..., "state_dict": ...}.

usage: train.py WORK_DIR SEED
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from features import SplitFeatures, compute_split, standardization
from model import LOG_FLOOR, N_MELS, DemoConfig, DemoCTC
from text import greedy_decode, word_error_rate

EPOCHS = 18
PEAK_LR = 1.5e-3
WARMUP_STEPS = 500
WEIGHT_DECAY = 0.01
BATCH_FRAMES = 4500  # spectrogram frames (10 ms each) per batch, padding included
MAX_EXTRA_PADDING = 60  # frames of zero audio added to a batch, as if a longer utterance were in it
GRADIENT_CLIP = 1.0
SORT_GROUP = 400  # utterances sorted by length together: batches of similar length, still shuffled


def make_batches(lengths: list[int], rng: np.random.Generator) -> list[list[int]]:
    """Shuffled batches of utterances of similar length, each within BATCH_FRAMES when padded."""
    order = rng.permutation(len(lengths))
    batches: list[list[int]] = []
    for start in range(0, len(order), SORT_GROUP):
        group = sorted(order[start:start + SORT_GROUP], key=lambda index: lengths[index])
        batch: list[int] = []
        for index in group:
            if batch and (len(batch) + 1) * lengths[index] > BATCH_FRAMES:
                batches.append(batch)
                batch = []
            batch.append(int(index))
        batches.append(batch)
    return [batches[i] for i in rng.permutation(len(batches))]


def padded_batch(split: SplitFeatures, batch: list[int], extra_frames: int) -> torch.Tensor:
    """Unstandardized log-mel [batch, frames, N_MELS] of the utterances zero-padded to one length."""
    frames = max(split.speech_frames[i] for i in batch) + extra_frames
    out = torch.full((len(batch), frames, N_MELS), math.log(LOG_FLOOR))
    for row, index in enumerate(batch):
        log_mel = split.log_mels[index][:frames]
        out[row, : log_mel.shape[0]] = log_mel
    return out


def spec_augment(features: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Two frequency masks (≤ 8 bins) and one time mask (≤ 6 frames) per 150 frames, per utterance."""
    features = features.clone()
    batch, frames, bins = features.shape
    for row in range(batch):
        for _ in range(2):
            width = int(rng.integers(0, 9))
            start = int(rng.integers(0, bins - width + 1))
            features[row, :, start:start + width] = 0.0
        for _ in range(frames // 150):
            width = int(rng.integers(0, 7))
            start = int(rng.integers(0, frames - width + 1))
            features[row, start:start + width, :] = 0.0
    return features


def learning_rate(step: int, total_steps: int) -> float:
    if step < WARMUP_STEPS:
        return PEAK_LR * (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, total_steps - WARMUP_STEPS)
    return PEAK_LR * 0.5 * (1.0 + math.cos(math.pi * progress))


def validation_wer(model: DemoCTC, split: SplitFeatures) -> float:
    model.eval()
    order = sorted(range(len(split.ids)), key=lambda index: split.speech_frames[index])
    hypotheses: dict[int, str] = {}
    with torch.no_grad():
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            logits = model.encode(model.frontend.standardize(padded_batch(split, batch, 0)))
            for row, index in enumerate(batch):
                hypotheses[index] = greedy_decode(logits[row].argmax(-1).tolist())
    model.train()
    return word_error_rate(split.texts, [hypotheses[index] for index in range(len(split.ids))])


def train(work: Path, seed: int) -> None:
    # One intra-op thread: on a shared two-core machine OpenMP's spinning workers make the
    # element-wise kernels ten times slower; the matrix products still use OpenBLAS's threads.
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = DemoCTC(DemoConfig())
    started = time.time()
    train_split = compute_split(work, "train", model.frontend)
    valid_split = compute_split(work, "valid", model.frontend)
    mean, std = standardization(train_split)
    model.frontend.feature_mean.copy_(mean)
    model.frontend.feature_std.copy_(std)
    print(f"features: {time.time() - started:.0f} s; parameters: "
          f"{sum(p.numel() for p in model.parameters()):,}", flush=True)

    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK_LR, betas=(0.9, 0.98), weight_decay=WEIGHT_DECAY)
    epoch_batches = [make_batches(train_split.speech_frames, rng) for _ in range(EPOCHS)]
    total_steps = sum(len(batches) for batches in epoch_batches)
    step = 0
    model.train()
    for epoch, batches in enumerate(epoch_batches, start=1):
        epoch_loss = 0.0
        for batch in batches:
            features = padded_batch(train_split, batch, int(rng.integers(0, MAX_EXTRA_PADDING + 1)))
            features = spec_augment(model.frontend.standardize(features), rng)
            log_probs = torch.log_softmax(model.encode(features), dim=-1)
            targets = [train_split.targets[index] for index in batch]
            loss = ctc(log_probs.transpose(0, 1), torch.cat(targets),
                       torch.full((len(batch),), log_probs.shape[1], dtype=torch.long),
                       torch.tensor([len(target) for target in targets]))
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, total_steps)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), GRADIENT_CLIP)
            optimizer.step()
            epoch_loss += loss.item()
            step += 1
        print(f"epoch {epoch}/{EPOCHS}: steps {step}/{total_steps}, loss {epoch_loss / len(batches):.3f}, "
              f"valid WER {validation_wer(model, valid_split):.2f} %, {(time.time() - started) / 60:.1f} min",
              flush=True)

    checkpoint = work / "model.pt"
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, checkpoint.with_suffix(".tmp"))
    checkpoint.with_suffix(".tmp").rename(checkpoint)


if __name__ == "__main__":
    train(Path(sys.argv[1]), int(sys.argv[2]))
