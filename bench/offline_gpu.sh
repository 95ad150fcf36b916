#!/usr/bin/env bash
# `make bench` on a machine that has PyTorch (and a GPU) but no package index: an offline GPU node,
# or a container image with torch in it. Installs the wheels that bench/wheelhouse.py downloaded
# into .whl/ (into .whl/site, nothing system-wide), puts `python` (the interpreter that
# has torch) and `dvc` on PATH, and runs bench/speed.py with the arguments given.
#
#   where pip works:   .venv/bin/python bench/wheelhouse.py --have HAVE.txt   (HAVE.txt: pip freeze there)
#   on the target:     PYTHON=python3 bench/offline_gpu.sh [--out DIR/results.json] [--skip-pipeline] ...
#
# The whole-pipeline rows clone HEAD (bench/stage_times.py): a copy without .git becomes a git
# repository of one commit first; without git they are skipped (--skip-pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=$(command -v "${PYTHON:-python3}") || { echo "no ${PYTHON:-python3} on PATH: set PYTHON to the interpreter that has torch" >&2; exit 2; }
"$PY" -c "import torch, torchvision" || { echo "$PY cannot import torch and torchvision: set PYTHON to the one that can" >&2; exit 2; }
compgen -G ".whl/*.whl" >/dev/null || {
  echo "no wheels in .whl/: run bench/wheelhouse.py where pip works and bring .whl/ along" >&2; exit 2; }

SITE="$PWD/.whl/site"  # beside the wheels, replaced on every run
rm -rf "$SITE"
"$PY" -m pip install --quiet --disable-pip-version-check --no-index --no-deps --target "$SITE/lib" .whl/*.whl
mkdir -p "$SITE/bin"
# Wrappers, not symlinks: a symlinked venv interpreter would not find its venv (and torch).
printf '#!/bin/sh\nexec "%s" "$@"\n' "$PY" >"$SITE/bin/python"
printf '#!/bin/sh\nexec "%s" -m dvc "$@"\n' "$PY" >"$SITE/bin/dvc"
chmod +x "$SITE/bin/python" "$SITE/bin/dvc"
export PATH="$SITE/bin:$PATH" PYTHONPATH="$SITE/lib${PYTHONPATH:+:$PYTHONPATH}"

args=("$@")
if ! command -v git >/dev/null; then
  echo "no git here: skipping the whole-pipeline rows" >&2
  args+=(--skip-pipeline)
elif ! git rev-parse --git-dir >/dev/null 2>&1; then
  git init -q && git add -A && git -c user.name=bench -c user.email=bench@localhost commit -qm "bench snapshot"
fi
echo "torch $("$PY" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "(no GPU)")'), dvc $(dvc --version)"
exec python bench/speed.py "${args[@]}"
