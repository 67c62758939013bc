"""Word error rate of the trained demo model, in float and after simulated Q4_0.

Runs the whole model from waveform, as the engine does: each utterance normalized, batches
zero-padded at the end, greedy CTC over every output frame. Scores the committed test set
(read back from its FLAC files) and the larger held-out validation split, one utterance at a
time and in batches of 16, and writes the figures to WORK_DIR/evaluation.json.

usage: evaluate.py CHECKPOINT TESTSET_DIR WORK_DIR
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from export import load_model
from model import DemoCTC, normalize_waveform
from q4_0 import q4_0_roundtrip, quantizable
from synth import load_split
from text import greedy_decode, word_error_rate

Utterances = tuple[list[str], list[np.ndarray]]


def read_testset(testset: Path) -> Utterances:
    texts, waves = [], []
    for line in (testset / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        pcm = subprocess.run(["sox", str(testset / entry["audio"]), "-t", "raw", "-e", "signed", "-b", "16", "-L", "-"],
                             check=True, capture_output=True).stdout
        texts.append(entry["text"])
        waves.append(np.frombuffer(pcm, dtype="<i2"))
    return texts, waves


def read_split(work: Path, split: str) -> Utterances:
    entries, samples = load_split(work, split)
    return ([entry["text"] for entry in entries],
            [np.array(samples[entry["offset"]: entry["offset"] + entry["length"]]) for entry in entries])


def transcribe(model: DemoCTC, waves: list[np.ndarray], batch_size: int) -> list[str]:
    texts = []
    with torch.no_grad():
        for start in range(0, len(waves), batch_size):
            normalized = [normalize_waveform(wave) for wave in waves[start:start + batch_size]]
            batch = torch.zeros(len(normalized), max(len(wave) for wave in normalized))
            for row, wave in enumerate(normalized):
                batch[row, : len(wave)] = torch.from_numpy(wave)
            texts.extend(greedy_decode(frames.tolist()) for frames in model(batch).argmax(-1))
    return texts


def simulated_q4_0(model: DemoCTC) -> tuple[DemoCTC, list[str]]:
    """A copy of `model` whose Q4_0-eligible tensors went through quantize-dequantize."""
    state = model.state_dict()
    names = [name for name, tensor in state.items() if quantizable(tensor.numpy())]
    quantized = DemoCTC(model.config)
    quantized.load_state_dict({
        name: torch.from_numpy(q4_0_roundtrip(tensor.numpy())) if name in names else tensor
        for name, tensor in state.items()})
    return quantized.eval(), names


def evaluate(checkpoint: Path, testset: Path, work: Path) -> None:
    torch.set_num_threads(1)
    model = load_model(checkpoint)
    quantized, quantized_names = simulated_q4_0(model)
    print(f"simulated Q4_0 on {len(quantized_names)} tensors: {', '.join(quantized_names)}")
    datasets = {"test": read_testset(testset), "valid": read_split(work, "valid")}
    results: dict[str, float] = {}
    for variant, candidate in (("float", model), ("q4_0", quantized)):
        for dataset, (references, waves) in datasets.items():
            for batch_size in (1, 16):
                wer = word_error_rate(references, transcribe(candidate, waves, batch_size))
                results[f"{variant}/{dataset}/batch{batch_size}"] = round(wer, 2)
                print(f"{variant:5s} {dataset:5s} ({len(waves)} utterances) batch {batch_size:2d}: WER {wer:.2f} %",
                      flush=True)
    (work / "evaluation.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    evaluate(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
