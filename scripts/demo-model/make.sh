#!/usr/bin/env bash
# Rebuild the embedded demo model (assets/demo/quantgate-demo/) and its test set (assets/demo/testset/)
# from nothing: synthesize speech with espeak-ng, train, export, evaluate. Fixed seed.
# Needs Debian's python3-torch (1.13) and python3-numpy, espeak-ng and sox.
#
# usage: scripts/demo-model/make.sh [WORK_DIR]
#   WORK_DIR holds the synthesized audio, the checkpoint and evaluation.json
#   (about 1.2 GB; default ${TMPDIR:-/tmp}/quantgate-demo-work). Never commit it.
set -euo pipefail

SEED=1234
PYTHON="${PYTHON:-/usr/bin/python3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/quantgate-demo-work}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

export PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0
cd "$here"

step() {
  local started=$SECONDS
  echo "== $1" >&2
  nice -n 10 "$PYTHON" "${@:2}"
  echo "== $1: $((SECONDS - started)) s" >&2
}

step "synthesize" synth.py "$work" "$SEED"
step "train" train.py "$work" "$SEED"
step "test set" make_testset.py "$work" "$repo/assets/demo/testset"
step "export" export.py "$work/model.pt" "$repo/assets/demo/quantgate-demo"
step "evaluate" evaluate.py "$work/model.pt" "$repo/assets/demo/testset" "$work"
