#!/usr/bin/env bash
# The GPU machine's job for the synthetic world (one H200; README of the device tool):
#   checks   (~2 min): the CUDA tests (pytest -m gpu tests/gpu) and a B/16 stage-2 train step
#                      with its time and MFU (tools/device/train_step_mfu.py);
#   pretrain (<= 8 min): a large calibrated world on 16 cores, a small FG-CLIP 2 pretrained in
#                      bf16, evaluated, written to $OUT as fgclip2_synthetic_gpu.tar.gz with
#                      metrics.json and provenance.json (tools/device/pretrain_synthetic.py).
# Usage, from the repository root on the device (one call per part keeps each under the
# 10-minute command limit; wheels from tools/device/fetch_wheels.sh carried as .whl):
#   GIT_COMMIT=<sha> bash tools/device/pretrain_synthetic.sh checks
#   GIT_COMMIT=<sha> bash tools/device/pretrain_synthetic.sh pretrain
# Then, here: tar -xzf <files_at>/fgclip2_synthetic_gpu.tar.gz -C checkpoints/ and commit.
set -euo pipefail
PART=${1:-all}
case "$PART" in checks|pretrain|all) ;; *) echo "usage: $0 [checks|pretrain|all]" >&2; exit 2;; esac
OUT=${OUT:-work_dirs/device}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

if [ "$PART" != pretrain ]; then
  timeout 150 "$PY" -m pytest -q -m gpu tests/gpu -p no:cacheprovider -o addopts='' \
    2>&1 | tee "$OUT/gpu_tests.log" || echo "gpu tests: FAILED (see gpu_tests.log)"
  timeout 120 "$PY" tools/device/train_step_mfu.py --arch base --batch-size 64 \
    --patches 256 --steps 10 --json "$OUT/train_step_mfu.json" 2>&1 | tee "$OUT/train_step_mfu.log" \
    || echo "train step: FAILED (see train_step_mfu.log)"
fi
if [ "$PART" != checks ]; then
  timeout 500 "$PY" tools/device/pretrain_synthetic.py --out "$OUT" \
    --scratch /tmp/fgclip2_device_scratch 2>&1 | tee "$OUT/pretrain.log"
fi
