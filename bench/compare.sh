#!/usr/bin/env bash
# Side by side, in one run: the paper's protocol in Rust (simforecast protocol --preset paper) and
# in plain scikit-fda + scikit-learn (bench/python_protocol.py), on the same 20 splits of each
# shipped campaign. Prints accuracy of both and the ratio of wall times.
#   bash bench/compare.sh            (needs the golden venv: bash tests/golden/check_reference.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${GOLDEN_VENV:-.venv-golden}"
[[ -x "$venv/bin/python" ]] || bash tests/golden/check_reference.sh >/dev/null
cargo build --release --quiet
out="${OUT:-build/bench}"
mkdir -p "$out"
for spec in "nemd-public 10.5" "nemd-wide-public 33.1"; do
    set -- $spec
    camp=$1 thr=$2
    splits=bench/splits/$camp-seed1-r20.json
    t0=$(date +%s.%N)
    ./target/release/simforecast protocol data/$camp/traces --threshold "$thr" --preset paper \
        --compare paper --no-sweep --splits "$splits" --seed 1 --json > "$out/rust-$camp.json"
    t1=$(date +%s.%N)
    "$venv/bin/python" bench/python_protocol.py data/$camp/traces --threshold "$thr" \
        --splits "$splits" --seed 1 --json "$out/python-$camp.json" > /dev/null
    t2=$(date +%s.%N)
    "$venv/bin/python" - "$camp" "$out/rust-$camp.json" "$out/python-$camp.json" "$t0" "$t1" "$t2" <<'PY'
import json, sys
camp, rj, pj, t0, t1, t2 = sys.argv[1:]
r = json.load(open(rj))["configs"][0]
p = json.load(open(pj))
rust_s, py_s = float(t1) - float(t0), float(t2) - float(t1)
def rm(k, i=None):
    v = r[k] if i is None else r[k][i]
    return "n/a" if v is None else f"{v['mean']:.3f} ± {v['std']:.3f}"
ps = p.get("summary", p)
def pm(k):
    v = ps.get(k)
    if isinstance(v, dict):
        return f"{v['mean']:.3f} ± {v['std']:.3f}"
    return str(v)
print(f"== {camp} (20 identical splits)")
print(f"  Rust  : precision {rm('precision')}  recall {rm('recall')}  F1 {rm('f1')}  R2 {rm('r2_all_relevant',0)} / {rm('r2_all_relevant',1)}")
print(f"  Python: precision {pm('precision')}  recall {pm('recall')}  F1 {pm('f1')}  R2 {pm('r2_mu_minus_sigma')} / {pm('r2_mu_plus_sigma')}")
print(f"  wall time: Rust {rust_s:.2f} s, Python {py_s:.1f} s, ratio {py_s / rust_s:.0f}x")
PY
done
