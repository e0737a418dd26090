#!/usr/bin/env bash
# Every test: the notebooks (check_docs runs every library notebook, every cell, as the docs workflow does; nbdev-test
# runs again those that read the real-speech sample, with it), pytest, and the docs pages rendered in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0
# Two workers, each on its share of the cores: two workers of all the cores' threads each wait on each other's
# threads (on 2 cores, 5.7 min against 3.6 min with one thread each).
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)     # nproc itself heeds OMP_NUM_THREADS
half=$(( cores / 2 > 0 ? cores / 2 : 1 ))
echo "== nbdev-test: the notebooks whose cells read the real-speech sample, with it ($(date +%T))"
# check_docs (next) runs every library notebook in full without the sample; nbdev-test would run the others again, the
# same cells on the same inputs less its `slow` ones. These take another path when the sample is here.
sample=$(python -c "from latentlab.catalogue import real_speech_dir; print(real_speech_dir() or '')")
reading=$(grep -l 'real_speech_dir()\|real_speech_store(' $(find nbs -name '*.ipynb' -not -path '*/experiments/*' -not -name '_*' | sort) || true)
if [ -z "$sample" ]; then echo "the real-speech sample is not here (../shared/speech/real/librispeech or \$LATENTLAB_REAL_SPEECH): check_docs runs them without it"
elif [ -z "$reading" ]; then echo "no notebook reads the real-speech sample"
else
  echo "$reading"
  OMP_NUM_THREADS=$half nbdev-test --n-workers 2 --path-re "($(echo "$reading" | sed 's/[.]/\\./g' | paste -sd'|'))\$"
fi
echo "== docs: execute every notebook to HTML (without the real-speech sample, as on Pages), render in headless Chromium ($(date +%T))"
python tools/check_docs.py
echo "== pytest ($(date +%T))"
# The same split for pytest (pytest-xdist): two workers of half the cores' threads, a test file per worker at a time
# (`--dist loadfile`: a file's module fixtures, such as the experiment run its tests share, are made once), the
# longest files first (tests/conftest.py's LONGEST orders the collection; xdist keeps that order).
OMP_NUM_THREADS=$half python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=15 tests
echo "== done ($(date +%T))"
