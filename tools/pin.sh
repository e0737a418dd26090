#!/usr/bin/env bash
# Refresh constraints.txt: install latentlab's dependencies afresh (newest releases; torch still the pinned CPU build)
# into a throwaway venv and write the versions it got as the tested set. Then run .ci/run: the set is "tested" only
# once the full test command passes with it.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); venv=$tmp/venv
trap 'rm -rf "$tmp" constraints.txt.new' EXIT            # a failed run leaves neither the venv nor a half-written file
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check torch==2.13.0
"$venv/bin/python" -m pip install -q --disable-pip-version-check -c <(echo torch==2.13.0) -e ".[dev]"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps resemblyzer==0.1.4
py=$("$venv/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
{ sed -n '/^# ---- the tested set/q;p' constraints.txt
  echo "# ---- the tested set: written by tools/pin.sh on $(date -u +%F) with Python $py; applies to that Python only"
  "$venv/bin/python" -m pip freeze --exclude-editable | grep -viE '^(torch|jupytext)==' \
    | sed "s/\$/ ; python_version == \"$py\"/"
} > constraints.txt.new
mv constraints.txt.new constraints.txt
echo "pin: constraints.txt has $(grep -c 'python_version' constraints.txt) pinned packages; now run .ci/run"
