"""Log-mel features of a synthesized split, computed once by the model's own fixed front end.

Each utterance is normalized like the engine normalizes it, then followed by PAD_SECONDS of
zero samples: training pads batches with these frames (and, past them, with the frame that
silence gives), so the model sees exactly what zero padding produces in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model import SAMPLE_RATE, LogMelFrontEnd, normalize_waveform, spectrogram_frames
from synth import load_split
from text import encode

PAD_SECONDS = 0.5


@dataclass
class SplitFeatures:
    ids: list[str]
    texts: list[str]
    targets: list[torch.Tensor]
    log_mels: list[torch.Tensor]  # [frames of the speech + its zero tail, N_MELS], unstandardized
    speech_frames: list[int]  # frames that hold speech (the rest is the zero tail)


def compute_split(work: Path, split: str, frontend: LogMelFrontEnd) -> SplitFeatures:
    entries, samples = load_split(work, split)
    tail = np.zeros(int(PAD_SECONDS * SAMPLE_RATE), dtype=np.float32)
    features = SplitFeatures([], [], [], [], [])
    with torch.no_grad():
        for entry in entries:
            wave = normalize_waveform(samples[entry["offset"]: entry["offset"] + entry["length"]])
            padded = torch.from_numpy(np.concatenate([wave, tail]))[None]
            features.ids.append(entry["id"])
            features.texts.append(entry["text"])
            features.targets.append(torch.tensor(encode(entry["text"]), dtype=torch.long))
            features.log_mels.append(frontend.log_mel(padded)[0])
            features.speech_frames.append(spectrogram_frames(entry["length"]))
    return features


def standardization(features: SplitFeatures) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and standard deviation over the speech frames."""
    speech = torch.cat([log_mel[:frames] for log_mel, frames in zip(features.log_mels, features.speech_frames)])
    return speech.mean(0), speech.std(0)
