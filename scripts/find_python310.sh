#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 needs 3.8-3.10; the project pins 3.10).
# Order: python3.10 on PATH, pyenv's 3.10, uv's managed 3.10. Fails with a clear message otherwise.
set -u

is_310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

candidate=$(command -v python3.10 2>/dev/null || true)
if is_310 "$candidate"; then echo "$candidate"; exit 0; fi

for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
  if is_310 "$candidate"; then echo "$candidate"; exit 0; fi
done

if command -v uv >/dev/null 2>&1; then
  candidate=$(uv python find 3.10 2>/dev/null || true)
  if is_310 "$candidate"; then echo "$candidate"; exit 0; fi
fi

cat >&2 <<'MSG'
error: no Python 3.10 found. Rasa 3.6 runs on Python 3.8-3.10 only and this project pins 3.10.
Looked for: python3.10 on PATH, ~/.pyenv/versions/3.10.*, and `uv python find 3.10`.
Install one of them (e.g. `pyenv install 3.10.13` or `uv python install 3.10`) and run make again.
MSG
exit 1
