#!/usr/bin/env bash
# Make .venv and install latentlab with everything it needs. Safe to re-run.
# torch is pinned by constraints.txt to 2.13.0, the CPU build; nothing may pull in another torch.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import sys; assert sys.version_info >= (3, 11), "latentlab needs Python 3.11 or newer"'
[ -x .venv/bin/python ] || python3 -m venv .venv
pip() { .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt "$@"; }
pip --upgrade pip
pip torch==2.13.0
pip -e ".[dev]"
# GE2E's weights ship in resemblyzer 0.1.4; latentlab reads only its state dict, so its dependencies (webrtcvad,
# which needs a C compiler, and the `typing` backport) stay out: see nbs/11_pretrained.ipynb.
pip --no-deps resemblyzer==0.1.4
# The docs check renders pages in headless Chromium (Debian's package).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: could not install chromium; tools/test.sh will skip the rendered-page check" >&2
  else
    echo "setup: chromium is not installed (Debian: apt-get install chromium); tools/test.sh will skip the rendered-page check" >&2
  fi
fi
echo "setup: done ($(.venv/bin/python -c 'import latentlab, torch; print("latentlab", latentlab.__version__, "torch", torch.__version__)'))"
