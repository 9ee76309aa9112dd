#!/usr/bin/env bash
# Proves the README's claim: from a fresh clone in an empty directory, with empty caches, the two
# commands `make demo` and `make test` succeed. Uses a new CARGO_HOME (crates re-downloaded; the
# Rust toolchain itself stays rustup's), no pip cache, a new LAMMPS build cache, and prints the
# wall time of each command. Usage: tools/fresh-clone-check.sh [REPO] (default: this checkout's
# committed HEAD).
set -euo pipefail
repo="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
work="$(mktemp -d /tmp/simforecast-fresh.XXXXXX)"
echo "fresh-clone-check: cloning $repo into $work/simforecast"
git clone --quiet "$repo" "$work/simforecast"
cd "$work/simforecast"
export CARGO_HOME="$work/cargo-home" PIP_NO_CACHE_DIR=1 SIMFORECAST_CACHE="$work/cache"
mkdir -p "$CARGO_HOME"
# rustup's proxies live in the old CARGO_HOME/bin; keep them on PATH, nothing else from there.
export PATH="$(dirname "$(command -v cargo)"):$PATH"
for target in demo test; do
    start=$(date +%s)
    echo "fresh-clone-check: make $target"
    make "$target" > "$work/make-$target.log" 2>&1 || {
        tail -40 "$work/make-$target.log"
        echo "fresh-clone-check: make $target FAILED (log: $work/make-$target.log)"
        exit 1
    }
    echo "fresh-clone-check: make $target passed in $(( $(date +%s) - start )) s (log: $work/make-$target.log)"
done
echo "fresh-clone-check: both README commands pass from a fresh clone ($work)"
