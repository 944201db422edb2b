#!/usr/bin/env bash
# One-command set-up: creates .venv in the repository root and installs the whole stack
# (torch, mmengine, mmcv 2.1.0 built from source with ops, mmdet, mmseg, HF libraries,
# evaluation helpers and this package in editable mode).
#
# Idempotent: a stamp records the hash of the requirements and of this script; when it
# matches and the stack imports, the script returns in seconds.
#
# Environment overrides:
#   FGCLIP2_PYTHON       interpreter used to create the venv (default: python3)
#   FGCLIP2_TORCH_SPEC   torch requirement (default: the pin in requirements/runtime.txt,
#                        the CPU wheel on our machines). On a CUDA cluster, e.g.
#                        FGCLIP2_TORCH_SPEC="torch==2.13.0" PIP_INDEX_URL=<cuda index>.
#   MAX_JOBS             parallel compile jobs for the mmcv build (default: nproc)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.fgclip2_setup_stamp"
cd "$ROOT"

say() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

stamp_value() {
    cat tools/setup_env.sh requirements/*.txt setup.cfg setup.py | sha256sum | cut -d' ' -f1
}

stack_imports() {
    "$PY" - <<'EOF' >/dev/null 2>&1
import torch, mmengine, mmcv, mmcv.ops, mmdet, mmseg, transformers, tokenizers  # noqa
import safetensors, pycocotools, shapely, ftfy, regex, pytest, lvis, fgclip2_mm  # noqa
import pkg_resources  # noqa  (mmengine's own mmdet:: / mmseg:: base resolution)
assert mmcv.__version__ == '2.1.0'
EOF
}

if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_value)" ]] && stack_imports; then
    say "environment in $VENV is up to date (delete $STAMP to force a reinstall)"
    exit 0
fi

if [[ ! -x "$PY" ]]; then
    say "creating virtual environment $VENV"
    "${FGCLIP2_PYTHON:-python3}" -m venv "$VENV"
fi
pip_install() {
    # The machine's pip config lists local indexes that do not hold every package; pip
    # warns once per missing package. Drop that noise, keep everything else.
    "$PY" -m pip install --progress-bar off "$@" 2>&1 \
        | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}

TORCH_SPEC="${FGCLIP2_TORCH_SPEC:-$(grep -E '^torch==' requirements/runtime.txt)}"
# Passed with every install that names torch: torch's own "setuptools>=77.0.3" would
# otherwise pull the newest setuptools, which no longer ships pkg_resources.
SETUPTOOLS_SPEC="$(grep -E '^setuptools==' requirements/runtime.txt)"
say "installing $TORCH_SPEC (pinned: an unpinned torch would pull a multi-GB CUDA build)"
pip_install -q "$TORCH_SPEC"

say "installing runtime, evaluation and test requirements"
# The torch pin is passed again so that no dependency can upgrade it.
pip_install -q "$TORCH_SPEC" -r requirements/runtime.txt -r requirements/optional.txt \
    -r requirements/tests.txt ninja

MMCV_SPEC="$(grep -E '^mmcv==' requirements/mminstall.txt)"
if "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '${MMCV_SPEC#mmcv==}')" \
        >/dev/null 2>&1; then
    say "$MMCV_SPEC with ops already installed"
else
    say "building $MMCV_SPEC from source with ops: about 12 minutes on 2 cores and 3 GB RAM"
    say "(pip caches the built wheel, so later set-ups on this machine take seconds)"
    # mmcv 2.1.0's setup.py imports pkg_resources, which setuptools >= 70 no longer ships.
    pip_install -q "setuptools<70" wheel
    # The build uses that setuptools; pip installs $SETUPTOOLS_SPEC back once it is built.
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        pip_install --no-build-isolation "$TORCH_SPEC" "$SETUPTOOLS_SPEC" "$MMCV_SPEC"
fi

say "installing mmdet, mmsegmentation and fgclip2_mm (editable)"
pip_install -q "$TORCH_SPEC" "$SETUPTOOLS_SPEC" -r requirements/mminstall.txt
pip_install -q --no-deps -r requirements/lvis.txt
pip_install -q --no-build-isolation --no-deps -e .

say "checking the stack imports"
if ! stack_imports; then
    say "ERROR: the stack does not import; run: $PY -c 'import mmcv.ops, mmdet, mmseg, fgclip2_mm'"
    exit 1
fi
"$PY" - <<'EOF'
import torch, mmcv, mmdet, mmseg, mmengine, transformers
print(f'  torch {torch.__version__} | mmengine {mmengine.__version__} | mmcv {mmcv.__version__}'
      f' | mmdet {mmdet.__version__} | mmseg {mmseg.__version__}'
      f' | transformers {transformers.__version__}')
EOF
stamp_value > "$STAMP"
say "done: activate with 'source .venv/bin/activate'"
