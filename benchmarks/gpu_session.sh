#!/usr/bin/env bash
# What the GPU machine measures, in one call:
#
#   KERAS_BACKEND=jax bash benchmarks/gpu_session.sh DATA_DIR OUT_DIR
#
# By default only the step still to be measured runs: "recipe" (issue 19,
# the reference protocol at batch 16 vs make_pipeline(preset="gpu_fast"),
# ~8 minutes). The steps of issues 6, 9 and 10, measured on 2026-11-26
# (benchmarks/README.md), run when named: STEPS="gpu accuracy_reference
# accuracy_fast determinism dask". Prepare the wheels and data on a machine
# with internet first: bash benchmarks/gpu_prepare.sh (it prints the call).
#
# DATA_DIR: a folder of .npz nights (e.g. ../shared/data; synthetic epochs
# when absent). Needs JAX with CUDA and skdreamy's dependencies; on a machine
# without internet, install them from wheels first (benchmarks/README.md).
# Each step has its own time limit, so one that fails or hangs does not cost
# the others; everything printed goes to OUT_DIR/session.log, the figures to
# JSON files beside it. STEPS="gpu dask" runs only the steps named.
# QUICK=1: tiny settings and one seed (checks the plumbing, on a CPU too).
set -u
DATA=${1:-../shared/data}
OUT_DIR=${2:-gpu-results}
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/session.log"
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
PY=${PYTHON:-python3}
STEPS=${STEPS:-recipe}

step() {
    local name=$1 limit=$2
    shift 2
    if [[ " $STEPS " != *" $name "* ]]; then
        return
    fi
    local start=$SECONDS
    if declare -F "$1" >/dev/null; then
        # A shell function: each of its commands has its own limit.
        echo "=== $name (about ${limit} s, limits inside): $*" | tee -a "$LOG"
        "$@" >>"$LOG" 2>&1
    else
        echo "=== $name (limit ${limit} s): $*" | tee -a "$LOG"
        timeout "$limit" "$@" >>"$LOG" 2>&1
    fi
    echo "=== $name: exit $?, $((SECONDS - start)) s" | tee -a "$LOG"
}

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PY" -c "import jax, keras, sklearn, numpy; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'sklearn', sklearn.__version__, 'numpy', numpy.__version__)"
} >>"$LOG" 2>&1

# Issue 19: the reference protocol at batch 16 (baseline) vs the fast recipe
# (preset "gpu_fast"), 3 seeds each, stratified 5-fold and leave-one-subject-
# out: 3 x 11 = 33 fits per recipe, ~10 min at batch 16 alone, so:
# 1. alone on the GPU (the times to report): the fast recipe, seed 0, both
#    splits (11 fits), then 2 baseline fits for its time per fit (the first
#    fit of each process includes XLA's compilation and is reported apart);
# 2. accuracy, processes sharing the GPU (batch 16 leaves it mostly idle;
#    their times are recorded as shared): the baseline's 33 fits in 6
#    processes, the fast recipe's seeds 1 and 2 (22 fits) in 2: 8 processes
#    on 16 cores. One JSON line per fold, so a process stopped at its limit
#    loses only the fold it was fitting (its seed is then left unscored);
# 3. summarise: scores per recipe and split over the complete seeds, times,
#    the verdict (<= 8 s, every score >= the lowest baseline seed), device,
#    versions, commit: OUT_DIR/gpu_recipe.json, .md and the raw lines.
# Limits (ALONE_LIMIT, TIME_LIMIT, SHARED_LIMIT) add up to ~8.5 minutes.
recipe() {
    local work seeds="0 1 2" fast_seeds="1 2" quick=() i
    work=$(mktemp -d)
    if [ -n "${QUICK:-}" ]; then
        seeds="0"
        fast_seeds="1"
        quick=(--quick)
        : "${BASE_SHARDS:=2}" "${FAST_SHARDS:=1}"
    fi
    local run=("$PY" -m benchmarks.gpu_recipe)
    echo "--- alone: gpu_fast seed 0; reference timing ($(date -u +%T))"
    timeout "${ALONE_LIMIT:-140}" "${run[@]}" cv --recipe gpu_fast --seeds 0 \
        --data "$DATA" --out "$work/fast_alone.jsonl" "${quick[@]}"
    timeout "${TIME_LIMIT:-70}" "${run[@]}" time --recipe reference --fits 2 \
        --data "$DATA" --out "$work/reference_time.jsonl" "${quick[@]}"
    echo "--- shared: reference seeds $seeds, gpu_fast seeds $fast_seeds ($(date -u +%T))"
    # Several JAX processes on one GPU: no 75 % preallocation each.
    export XLA_PYTHON_CLIENT_PREALLOCATE=false
    local base_shards=${BASE_SHARDS:-6} fast_shards=${FAST_SHARDS:-2}
    local n=$((base_shards + fast_shards))
    for ((i = 0; i < base_shards; i++)); do
        # shellcheck disable=SC2086
        timeout "${SHARED_LIMIT:-290}" "${run[@]}" cv --recipe reference \
            --seeds $seeds --shard "$i/$base_shards" --concurrent "$n" \
            --data "$DATA" --out "$work/reference_$i.jsonl" "${quick[@]}" \
            >"$work/reference_$i.log" 2>&1 &
    done
    for ((i = 0; i < fast_shards; i++)); do
        # shellcheck disable=SC2086
        timeout "${SHARED_LIMIT:-290}" "${run[@]}" cv --recipe gpu_fast \
            --seeds $fast_seeds --shard "$i/$fast_shards" --concurrent "$n" \
            --data "$DATA" --out "$work/fast_$i.jsonl" "${quick[@]}" \
            >"$work/fast_$i.log" 2>&1 &
    done
    wait
    tail -n 4 "$work"/*.log
    echo "--- summarise ($(date -u +%T))"
    cat "$work"/*.jsonl >"$OUT_DIR/gpu_recipe_runs.jsonl"
    "${run[@]}" summarise "$work"/*.jsonl --json "$OUT_DIR/gpu_recipe.json" \
        --markdown "$OUT_DIR/gpu_recipe.md" --commit-file "${COMMIT_FILE:-$DATA/COMMIT}"
}

step recipe 540 recipe

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
