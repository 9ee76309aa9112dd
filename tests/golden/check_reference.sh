#!/usr/bin/env bash
# Regenerate the scikit-fda golden values and check that they reproduce the committed
# tests/golden/reference.json (numbers within 1e-10). Run from anywhere; CI runs this.
# The venv lives at ${GOLDEN_VENV:-.venv-golden} (relative paths are from the repo root) and
# is reinstalled only when tests/golden/requirements.txt changes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

venv="${GOLDEN_VENV:-.venv-golden}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --only-binary=:all: -r "$req"
    echo "$want" > "$stamp"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$venv/bin/python" "$here/make_reference.py" --out "$tmp/reference.json"
"$venv/bin/python" "$here/compare_reference.py" "$here/reference.json" "$tmp/reference.json" --tol 1e-10
