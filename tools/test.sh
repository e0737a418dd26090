#!/usr/bin/env bash
# Every test: the notebooks (nbdev-test), pytest, and the docs pages rendered in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0
echo "== nbdev-test"
# Two workers, each on its share of the cores: two workers of all the cores' threads each wait on each other's
# threads (on 2 cores, 5.7 min against 3.6 min with one thread each).
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)     # nproc itself heeds OMP_NUM_THREADS
OMP_NUM_THREADS=$(( cores / 2 > 0 ? cores / 2 : 1 )) nbdev-test --n-workers 2 "$@"
echo "== docs: execute every notebook to HTML, render in headless Chromium"
python tools/check_docs.py
echo "== pytest"
# The same split for pytest (pytest-xdist): two workers of half the cores' threads, a test file per worker at a time
# (`--dist loadfile`: a file's module fixtures, such as the experiment run its tests share, are made once).
OMP_NUM_THREADS=$(( cores / 2 > 0 ? cores / 2 : 1 )) python -m pytest -q -n 2 --dist loadfile tests
