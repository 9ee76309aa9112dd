#!/usr/bin/env python3
"""Overhead of the Python monitor, and training from Python against the CLI.

Prints ns per frame of `Monitor.push` (one Python call per frame, as a simulation driven from
Python pays it) and of `Monitor.push_many` (one call per chunk), both over whole held-out
traces of the wide campaign (the model's decisions included) and past the model's last window
(the bare cost of a frame, Python's overhead); then the seconds to train from NumPy arrays, from paths, and with
the CLI on the same traces. Targets (issue 13) on Python's overhead: push <= 1 us, push_many <= 50 ns per frame,
training from arrays no slower than the CLI. `--check` exits non-zero when a figure misses its
target by more than the noise margin of a shared machine (x2).

    .venv/bin/python bench/python_monitor.py [--check] [--cli target/release/simforecast]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import simforecast as sf

ROOT = Path(__file__).resolve().parents[1]
TRACES = sorted((ROOT / "data" / "nemd-wide-public" / "traces").glob("*.dat"))
PUSH_TARGET_NS = 1000.0
PUSH_MANY_TARGET_NS = 50.0
MARGIN = 2.0


def best_of(repeats: int, f) -> float:
    """The least time of `repeats` runs of f (what the code costs, not what the machine's
    other load adds)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail when a target is missed (x2)")
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "simforecast"))
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()

    train_paths, held_out = TRACES[0::2], TRACES[1::2]
    arrays = [np.loadtxt(p, usecols=1) for p in train_paths]
    names = [p.stem for p in train_paths]
    series = [np.loadtxt(p, usecols=1) for p in held_out[:40]]
    floats = [s.tolist() for s in series]
    frames = sum(len(s) for s in series)

    model = sf.train(arrays, 33.1, frame_spacing=10, names=names, column="v_eta")
    mon = model.monitor()

    def push_all():
        for xs in floats:
            mon.reset()
            push = mon.push
            for x in xs:
                push(x)

    def push_many_all():
        for s in series:
            mon.reset()
            mon.push_many(s)

    # Past the last window: the bare cost of a frame.
    tail = floats[0][model.max_window:] * 20
    tail_array = np.asarray(tail)

    def push_tail():
        push = mon.push
        for x in tail:
            push(x)

    def push_many_tail():
        mon.push_many(tail_array)

    mon.push_many(series[0][: model.max_window])
    bare_push = best_of(a.repeats, push_tail) / len(tail) * 1e9
    bare_many = best_of(a.repeats, push_many_tail) / len(tail) * 1e9
    push_ns = best_of(a.repeats, push_all) / frames * 1e9
    many_ns = best_of(a.repeats, push_many_all) / frames * 1e9
    # What a whole trace costs beyond the bare frames is the model's own decisions (the stages
    # evaluated at their windows, in Rust, as in C or in the fix).
    rust_ns = many_ns - bare_many

    print(f"model: {model!r}")
    print(f"{len(series)} held-out traces, {frames} frames; best of {a.repeats} runs")
    print(f"Monitor.push       {push_ns:8.1f} ns/frame over whole traces, {bare_push:6.1f} ns/frame "
          f"past the last window (target <= {PUSH_TARGET_NS:.0f})")
    print(f"Monitor.push_many  {many_ns:8.1f} ns/frame over whole traces, {bare_many:6.1f} ns/frame "
          f"past the last window (target <= {PUSH_MANY_TARGET_NS:.0f})")
    print(f"of which the model's decisions (Rust, {len(model.windows)} stages): about "
          f"{rust_ns:.0f} ns/frame averaged over a trace")

    t_arrays = best_of(3, lambda: sf.train(arrays, 33.1, frame_spacing=10, names=names))
    t_paths = best_of(3, lambda: sf.train([str(p) for p in train_paths], 33.1))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [a.cli, "train", *map(str, train_paths), "--threshold", "33.1", "-o",
               str(Path(tmp) / "m.sfm")]
        t_cli = best_of(3, lambda: subprocess.run(cmd, check=True, capture_output=True))
    print(f"train (default preset, {len(arrays)} traces): from arrays {t_arrays:.2f} s, from "
          f"paths {t_paths:.2f} s, CLI {t_cli:.2f} s")

    missed = []
    # The targets are Python's overhead per frame: the bare cost past the last window, and what
    # a whole trace costs beyond the decisions.
    for name, bare, whole, target in [("push", bare_push, push_ns, PUSH_TARGET_NS),
                                      ("push_many", bare_many, many_ns, PUSH_MANY_TARGET_NS)]:
        worst = max(bare, whole - rust_ns)
        if worst > target * MARGIN:
            missed.append(f"{name} {worst:.0f} ns of overhead")
    if t_arrays > t_cli * MARGIN:
        missed.append(f"training from arrays {t_arrays:.2f} s against the CLI's {t_cli:.2f} s")
    if missed:
        print("over target (x2 margin): " + ", ".join(missed))
        return 1 if a.check else 0
    print("within targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
