#!/usr/bin/env bash
# The GPU check on a host without network (docs/gpu.md): installs the wheel folder the host lacks
# (keras, optree, namex, mnist1d; made by `make gpu-wheels`) into a folder of its own with
# pip --no-index --no-deps --target, once, then runs `bench gpu-check` from the repository with
# PYTHONPATH: nothing is installed into the host's Python.
#
#   bash benchmarks/gpu_check.sh OUT [--dry-run] [--budget SECONDS]
#
# WHEELS (default <repo>/gpu-wheels): the wheel folder. SITE (default <repo>/.gpu-site): where it is
# installed. PYTHON (default python3): the host's interpreter.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wheels="${WHEELS:-$repo/gpu-wheels}"
site="${SITE:-$repo/.gpu-site}"
python="${PYTHON:-python3}"

if [ $# -lt 1 ]; then
  echo "usage: bash benchmarks/gpu_check.sh OUT [--dry-run] [--budget SECONDS]" >&2
  exit 2
fi
if [ ! -f "$site/.installed" ]; then
  if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
    echo "gpu_check.sh: no wheels in $wheels (make gpu-wheels on a networked machine, copy it here)" >&2
    exit 2
  fi
  rm -rf "$site"
  "$python" -m pip install --quiet --no-index --no-deps --target "$site" "$wheels"/*.whl
  touch "$site/.installed"
fi
export PYTHONPATH="$repo:$site${PYTHONPATH:+:$PYTHONPATH}"
cd "$repo"
exec "$python" -m bench gpu-check "$@"
