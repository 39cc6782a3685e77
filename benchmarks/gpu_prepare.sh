#!/usr/bin/env bash
# Prepare a GPU session (run HERE, on the machine with internet, in the
# repository root): the GPU machine has JAX with CUDA, torch, scikit-learn,
# scipy, matplotlib, h5py... but not Keras, scikeras, imbalanced-learn or
# MNE, cannot download, and sees only the repository. This script
#   1. downloads the missing wheels (Python 3.12, x86-64) into .whl/,
#      at the versions installed here (what the tests ran with);
#   2. copies the DREAMS excerpts into .gpudata/ (ignored by git: they are
#      never committed) with the commit being measured in .gpudata/COMMIT;
#   3. prints the device call (command, carry list, timeout).
# Usage: bash benchmarks/gpu_prepare.sh [DATA_DIR] [PYTHON]
set -eu
DATA=${1:-../shared/data}
PY=${2:-python3}
version() { "$PY" -c "from importlib.metadata import version; print(version('$1'))"; }
rm -rf .whl .gpudata
mkdir -p .whl .gpudata
specs=()
for name in keras scikeras imbalanced-learn namex optree mne decorator pooch platformdirs; do
    specs+=("$name==$(version "$name")")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d .whl "${specs[@]}"
cp "$DATA"/*.npz .gpudata/
{ git rev-parse HEAD; git status --porcelain | head -n 20; } >.gpudata/COMMIT
du -sh .whl .gpudata
cat <<'CALL'
Device call (one run; ~8 min of device time plus the machine's start):
  command: python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit; KERAS_BACKEND=jax bash benchmarks/gpu_session.sh .gpudata $OUT; tail -n 40 $OUT/session.log
  carry:   [".whl", ".gpudata"]
  timeout_s: 600
CALL
