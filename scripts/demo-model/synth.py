"""Speak the demo sentences with espeak-ng and store them as 16 kHz 16-bit mono PCM.

Each split becomes `<split>.pcm` (all utterances' samples, int16 little-endian, back to back)
and `<split>.jsonl` (one line per utterance: id, text, voice, speed, pitch, offset and length
in samples). espeak-ng speaks at 22,050 Hz; sox resamples to 16 kHz without dither, so the
output is the same on every run.

usage: synth.py WORK_DIR SEED
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from multiprocessing import Pool
from multiprocessing.pool import Pool as WorkerPool
from pathlib import Path

import numpy as np

from model import SAMPLE_RATE
from sentences import make_splits

SPLIT_SIZES = {"train": 15000, "valid": 300, "test": 100}
TEST_MAX_WORDS = 7  # short held-out sentences keep the committed FLAC test set small

# Repeats weight the draw: plain American English 3 in 11, plain British 2 in 11.
ACCENTS = ["en-us", "en-us", "en-us", "en-gb", "en-gb", "en-gb-x-rp", "en-gb-scotland",
           "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc", "en-029"]
VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3"]
SPEED_WPM = (140, 200)
PITCH = (25, 75)


def voice_settings(rng: random.Random) -> dict[str, str | int]:
    variant = rng.choice(VARIANTS)
    accent = rng.choice(ACCENTS)
    return {
        "voice": f"{accent}+{variant}" if variant else accent,
        "speed": rng.randint(*SPEED_WPM),
        "pitch": rng.randint(*PITCH),
    }


def speak(job: tuple[str, dict[str, str | int]]) -> bytes:
    text, settings = job
    espeak = subprocess.run(
        ["espeak-ng", "-v", str(settings["voice"]), "-s", str(settings["speed"]),
         "-p", str(settings["pitch"]), "--stdout", text],
        check=True, capture_output=True)
    sox = subprocess.run(
        ["sox", "-D", "-R", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed",
         "-b", "16", "-c", "1", "-L", "-"],
        input=espeak.stdout, check=True, capture_output=True)
    return sox.stdout


def synthesize_split(work: Path, split: str, texts: list[str], rng: random.Random, pool: WorkerPool) -> None:
    jobs = [(text, voice_settings(rng)) for text in texts]
    pcm_tmp = work / f"{split}.pcm.tmp"
    index_tmp = work / f"{split}.jsonl.tmp"
    offset = 0
    with open(pcm_tmp, "wb") as pcm, open(index_tmp, "w") as index:
        for number, ((text, settings), audio) in enumerate(zip(jobs, pool.imap(speak, jobs, chunksize=16))):
            samples = len(audio) // 2
            pcm.write(audio)
            entry = {"id": f"{split}-{number:05d}", "text": text, **settings,
                     "offset": offset, "length": samples}
            index.write(json.dumps(entry) + "\n")
            offset += samples
    pcm_tmp.rename(work / f"{split}.pcm")
    index_tmp.rename(work / f"{split}.jsonl")
    print(f"{split}: {len(jobs)} utterances, {offset / SAMPLE_RATE / 3600:.2f} h", flush=True)


def load_split(work: Path, split: str) -> tuple[list[dict], np.ndarray]:
    """The split's index entries and its samples (int16, memory-mapped)."""
    with open(work / f"{split}.jsonl") as index:
        entries = [json.loads(line) for line in index]
    return entries, np.memmap(work / f"{split}.pcm", dtype="<i2", mode="r")


def main(work: Path, seed: int) -> None:
    work.mkdir(parents=True, exist_ok=True)
    splits = make_splits(seed, SPLIT_SIZES["train"], SPLIT_SIZES["valid"], SPLIT_SIZES["test"], TEST_MAX_WORDS)
    rng = random.Random(seed)
    with Pool(2) as pool:
        for split in ("test", "valid", "train"):
            synthesize_split(work, split, splits[split], rng, pool)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
