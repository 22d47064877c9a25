#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies and the project.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/find_python310.sh)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)'; then
  rm -rf .venv
  "$python" -m venv .venv
fi
# wheel first, so packages published only as sources build as wheels (faster, cached)
wheel_pin=$(grep '^wheel==' constraints.txt) || { echo "error: constraints.txt pins no wheel version" >&2; exit 1; }
.venv/bin/python -m pip install --quiet "$wheel_pin"
.venv/bin/python -m pip install --quiet -r requirements.txt -c constraints.txt
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
