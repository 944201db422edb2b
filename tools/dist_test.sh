#!/usr/bin/env bash
# Multi-GPU / multi-node evaluation with torchrun.
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# Multi-node: NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_test.sh CONFIG CKPT 8
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec bash "$ROOT/tools/dist_launch.sh" "$3" "$ROOT/tools/test.py" "$1" "$2" \
    --launcher pytorch "${@:4}"
