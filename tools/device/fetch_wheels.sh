#!/usr/bin/env bash
# Wheels the GPU machine lacks (it has torch, numpy, pillow, tokenizers, transformers,
# safetensors, pytest, matplotlib, opencv; no OpenMMLab package and no pycocotools), for
# Python 3.12 x86-64, into .whl/ (git-ignored through .git/info/exclude). Run here, once:
#   bash tools/device/fetch_wheels.sh
# then name .whl in the device call's carry; pretrain_synthetic.sh installs them.
set -euo pipefail
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
for pkg in mmengine==0.10.7 addict==2.4.0 termcolor==3.3.0 yapf==0.43.0 platformdirs==4.14.9 \
           pycocotools==2.0.11; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any -d .whl "$pkg"
done
ls -l .whl
