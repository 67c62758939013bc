"""Write the held-out test split as the committed demo test set.

OUT_DIR receives audio/<id>.flac (16 kHz, 16-bit, mono) and manifest.jsonl with one line
{"id", "audio", "text"} per utterance, `audio` relative to OUT_DIR. The folder is built under a
temporary name and swapped in whole.

usage: make_testset.py WORK_DIR OUT_DIR
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from model import SAMPLE_RATE
from synth import load_split


def write_flac(path: Path, pcm: bytes) -> None:
    subprocess.run(["sox", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16", "-c", "1",
                    "-L", "-", str(path)], input=pcm, check=True)


def make_testset(work: Path, out_dir: Path) -> None:
    entries, samples = load_split(work, "test")
    staging = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "audio").mkdir(parents=True)
    try:
        lines = []
        for number, entry in enumerate(entries):
            utterance_id = f"demo-{number:03d}"
            audio = f"audio/{utterance_id}.flac"
            write_flac(staging / audio, samples[entry["offset"]: entry["offset"] + entry["length"]].tobytes())
            lines.append(json.dumps({"id": utterance_id, "audio": audio, "text": entry["text"]}, ensure_ascii=False))
        (staging / "manifest.jsonl").write_text("\n".join(lines) + "\n")
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    make_testset(Path(sys.argv[1]), Path(sys.argv[2]))
