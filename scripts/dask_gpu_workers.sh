#!/usr/bin/env bash
# Start one Dask worker per GPU of this machine, each seeing only its own GPU.
#
#   scripts/dask_gpu_workers.sh tcp://SCHEDULER:8786 [WORKERS_PER_GPU]
#
# Run it on every GPU machine of the cluster (after `dask scheduler` on one
# of them). Each worker process gets CUDA_VISIBLE_DEVICES=<its GPU> and one
# thread, so Keras puts its model on that GPU and each GPU trains one model
# at a time: the folds of a grid search spread over the GPUs instead of
# piling onto GPU 0. With WORKERS_PER_GPU > 1 the workers sharing a GPU also
# get TF_FORCE_GPU_ALLOW_GROWTH / XLA_PYTHON_CLIENT_PREALLOCATE so that the
# first one does not reserve all of its memory. Extra `dask worker` options
# can be given in DASK_WORKER_ARGS (e.g. "--memory-limit 32GB").
# The same layout on one machine, from Python: skdreamy.cluster.gpu_cluster.
set -euo pipefail

scheduler=${1:?usage: $0 tcp://SCHEDULER:8786 [WORKERS_PER_GPU]}
per_gpu=${2:-1}
if ! [[ $per_gpu =~ ^[1-9][0-9]*$ ]]; then
    echo "WORKERS_PER_GPU must be a positive integer, got '$per_gpu'" >&2
    exit 2
fi

if [[ -n ${CUDA_VISIBLE_DEVICES+set} ]]; then
    IFS=',' read -r -a gpus <<< "$CUDA_VISIBLE_DEVICES"
else
    mapfile -t gpus < <(nvidia-smi --query-gpu=index --format=csv,noheader)
fi
if [[ ${#gpus[@]} -eq 0 || ${gpus[0]} == "-1" ]]; then
    echo "no NVIDIA GPU visible (CUDA_VISIBLE_DEVICES / nvidia-smi)" >&2
    exit 1
fi

shared=()
if (( per_gpu > 1 )); then
    shared=(TF_FORCE_GPU_ALLOW_GROWTH=true XLA_PYTHON_CLIENT_PREALLOCATE=false)
fi

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' INT TERM
for gpu in "${gpus[@]}"; do
    gpu=${gpu// /}
    for ((slot = 0; slot < per_gpu; slot++)); do
        name="$(hostname)-gpu${gpu}"
        (( per_gpu > 1 )) && name+="-${slot}"
        # shellcheck disable=SC2086  # DASK_WORKER_ARGS is a list of options
        env CUDA_VISIBLE_DEVICES="$gpu" "${shared[@]}" \
            dask worker "$scheduler" --nworkers 1 --nthreads 1 --name "$name" \
            ${DASK_WORKER_ARGS:-} &
        pids+=("$!")
    done
done
wait
