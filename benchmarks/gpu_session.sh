#!/usr/bin/env bash
# Everything the GPU machine measures (issues 6, 9, 10), in one call:
#
#   KERAS_BACKEND=jax bash benchmarks/gpu_session.sh DATA_DIR OUT_DIR
#
# DATA_DIR: a folder of .npz nights (e.g. ../shared/data; synthetic epochs
# when absent). Needs JAX with CUDA and skdreamy's dependencies; on a machine
# without internet, install them from wheels first (benchmarks/README.md).
# Each step has its own time limit, so one that fails or hangs does not cost
# the others; everything printed goes to OUT_DIR/session.log, the figures to
# JSON files beside it. STEPS="gpu dask" runs only the steps named.
set -u
DATA=${1:-../shared/data}
OUT_DIR=${2:-gpu-results}
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/session.log"
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
PY=${PYTHON:-python3}

step() {
    local name=$1 limit=$2
    shift 2
    if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then
        return
    fi
    echo "=== $name (limit ${limit} s): $*" | tee -a "$LOG"
    local start=$SECONDS
    timeout "$limit" "$@" >>"$LOG" 2>&1
    echo "=== $name: exit $?, $((SECONDS - start)) s" | tee -a "$LOG"
}

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PY" -c "import jax, keras, sklearn, numpy; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'sklearn', sklearn.__version__, 'numpy', numpy.__version__)"
} >>"$LOG" 2>&1

# Issue 6, item 6: throughput, raw Keras vs the classifier, fp32 and bf16.
step gpu 120 "$PY" -m benchmarks.gpu --full --data "$DATA" --batches 16,1024 \
    --repeats 1 --epochs 3 --json "$OUT_DIR/gpu.json"
# The reference protocol on the GPU: fit time per fold and accuracy, to
# compare with the same split on the CPU; then a faster variant.
step accuracy_reference 130 "$PY" -m benchmarks.accuracy --data "$DATA" \
    --configs reference --split stratified --seeds 0 --out "$OUT_DIR/accuracy.jsonl"
step accuracy_fast 75 "$PY" -m benchmarks.accuracy --data "$DATA" \
    --configs reference_fast --split stratified --seeds 0 --out "$OUT_DIR/accuracy.jsonl"
# Issue 10: what is deterministic on this device.
step determinism 110 "$PY" -m benchmarks.gpu_determinism --data "$DATA" \
    --n 1000 --json "$OUT_DIR/gpu_determinism.json"
# Issue 9: a grid search on Dask, one worker per GPU vs two sharing it.
step dask 140 "$PY" -m benchmarks.dask_gpu --json "$OUT_DIR/dask_gpu.json"
date -u >>"$LOG"
