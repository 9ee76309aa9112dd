#!/usr/bin/env python3
"""Check the LJ-fluid example with a real LAMMPS (about 10 s on 2 cores).

    python3 selftest.py [--lmp PATH] [--keep DIR] [--plugin forecastplugin.so --simforecast BIN]

  1. in.nemd writes a trace in the format simforecast reads (column v_eta, one frame every 10
     steps), and the mu, sigma LAMMPS prints equal the trace's last frames';
  2. campaign.py --quick makes 2 runs: runs.csv rows whose mu, sigma are their traces' own, and
     a second start with the same options runs nothing;
  3. the cached campaign in data/ is whole: one trace per runs.csv row, each of its n_frames,
     with the row's mu and sigma.
With --plugin and --simforecast, also fix forecast in in.nemd:
  4. a model trained on the cached campaign ends a run early (a halt or a forecast, `after stop`),
     and the frames it saw are exactly those of the same run without the fix.
Exits non-zero on the first failure.
"""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import campaign  # noqa: E402  (same directory)


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}", flush=True)
        sys.exit(1)


def check_trace(path, n_frames):
    """The trace's values, after checking its header and steps."""
    with open(path) as f:
        head = [f.readline(), f.readline()]
    check(head[0].startswith("# Time-averaged data for fix out"), f"{path}: header {head[0]!r}")
    check(head[1].strip() == "# TimeStep v_eta", f"{path}: header {head[1]!r}")
    steps, vals = campaign.read_trace(path)
    check(len(vals) == n_frames, f"{path}: {len(vals)} frames, expected {n_frames}")
    check(np.array_equal(steps, campaign.SPF * np.arange(1, n_frames + 1)), f"{path}: steps")
    check(np.all(np.isfinite(vals)), f"{path}: non-finite values")
    return vals


def check_runs(out, tail=None):
    """runs.csv of a campaign directory against its traces; returns the rows."""
    with open(os.path.join(out, "runs.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    check(rows and list(rows[0]) == campaign.RUNS_COLUMNS, f"{out}/runs.csv: columns")
    for r in rows:
        vals = check_trace(os.path.join(out, "traces", f"run_{int(r['run_id']):04d}.dat"), int(r["n_frames"]))
        n = int(r["tail"])
        check(tail is None or n == tail, f"{out}: tail {n}, expected {tail}")
        mu, sigma = np.mean(vals[-n:]), np.std(vals[-n:], ddof=1)
        check(abs(mu - float(r["mu"])) <= 1e-5 * abs(mu) and abs(sigma - float(r["sigma"])) <= 1e-5 * sigma,
              f"{out} run {r['run_id']}: runs.csv mu, sigma {r['mu']}, {r['sigma']}; trace {mu:.6g}, {sigma:.6g}")
    traces = sorted(os.listdir(os.path.join(out, "traces")))
    check(len(traces) == len(rows), f"{out}: {len(traces)} traces for {len(rows)} runs.csv rows")
    return rows


def nemd(lmp, work, name, extra):
    """One in.nemd run of the fix check (rho 0.72, temp 1.2, rate 0.5); returns its output."""
    trace = os.path.join(work, f"{name}.dat")
    p = subprocess.run([lmp, "-nocite", "-log", os.path.join(work, f"{name}.log"), "-in",
                        os.path.join(HERE, "in.nemd"), "-var", "rho", "0.72", "-var", "temp", "1.2",
                        "-var", "rate", "0.5", "-var", "trace", trace] + extra,
                       cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    check(p.returncode == 0, f"in.nemd {' '.join(extra)} exited {p.returncode}:\n{p.stdout[-2000:]}")
    return p.stdout, trace


def check_fix(lmp, work, plugin, simforecast):
    print("4. in.nemd with fix forecast: a model of the cached campaign ends the run early", flush=True)
    model = os.path.join(work, "lj.sfm")
    p = subprocess.run([simforecast, "train", os.path.join(HERE, "data", "traces"), "--threshold", "2.75",
                        "--tail", "500", "-o", model], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(p.returncode == 0, f"simforecast train exited {p.returncode}:\n{p.stdout[-2000:]}")
    out, trace = nemd(lmp, work, "fix", ["-var", "plugin", plugin, "-var", "model", model,
                                         "-var", "decisions", os.path.join(work, "decisions.txt")])
    m = re.search(r"^NEMD run: .* (\d+) of 1200 frames", out, re.M)
    check(m is not None and 0 < int(m.group(1)) < 1200, "the fix ended the run early")
    seen = int(m.group(1))
    m = re.search(r"^fix forecast: state (\d+) .*halted (\d+)", out, re.M)
    check(m is not None and m.group(1) in ("2", "3") and m.group(2) in ("1", "2"),
          "in.nemd prints the fix's verdict: halted or forecast")
    check("measured over" not in out, "no measured mu for a run that stopped early")
    with open(os.path.join(work, "decisions.txt")) as f:
        check(f.read().count("\n") > 2, "the fix wrote its decisions")
    # the whole run: fix deform interpolates the box over the run's length, so a shorter run
    # would differ in the last bits and then, chaotically, in every digit
    _, full = nemd(lmp, work, "nofix", [])
    check(np.array_equal(check_trace(trace, seen), check_trace(full, 1200)[:seen]),
          "the frames the fix saw are those of the run without it")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lmp", default=None, help="LAMMPS executable [the repository's .venv/bin/lmp]")
    ap.add_argument("--plugin", default=None, help="forecastplugin.so: also check in.nemd with fix forecast")
    ap.add_argument("--simforecast", default=None, help="the simforecast CLI (with --plugin), to train the model")
    ap.add_argument("--keep", default=None, help="work in this directory and keep it [a temporary one]")
    args = ap.parse_args()
    if (args.plugin is None) != (args.simforecast is None):
        ap.error("--plugin and --simforecast go together")
    lmp = campaign.find_lmp(args.lmp)
    work = args.keep or tempfile.mkdtemp(prefix="lj-fluid-selftest-")
    os.makedirs(work, exist_ok=True)

    print("1. in.nemd: one short run", flush=True)
    trace = os.path.join(work, "trace.dat")
    p = subprocess.run([lmp, "-nocite", "-log", os.path.join(work, "log.lammps"), "-in",
                        os.path.join(HERE, "in.nemd"), "-var", "nframes", "80", "-var", "neq", "200",
                        "-var", "tail", "30", "-var", "trace", trace],
                       cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    check(p.returncode == 0, f"in.nemd exited {p.returncode}:\n{p.stdout[-2000:]}")
    vals = check_trace(trace, 80)
    m = re.search(r"^measured over the last 30 frames: mu (\S+) sigma (\S+)$", p.stdout, re.M)
    check(m is not None, "in.nemd prints mu and sigma")
    mu, sigma = np.mean(vals[-30:]), np.std(vals[-30:], ddof=1)
    # the trace holds 6 significant digits, LAMMPS' sums the full values
    check(abs(float(m.group(1)) - mu) <= 1e-4 * abs(mu) + 1e-6, f"LAMMPS mu {m.group(1)}, trace {mu}")
    check(abs(float(m.group(2)) - sigma) <= 1e-4 * sigma, f"LAMMPS sigma {m.group(2)}, trace {sigma}")
    check(re.search(r"^NEMD run: .* 256 atoms, 80 of 80 frames", p.stdout, re.M) is not None, "256 atoms")

    print("2. campaign.py --quick: two runs, then a resume that runs nothing", flush=True)
    out = os.path.join(work, "quick")
    driver = [sys.executable, os.path.join(HERE, "campaign.py"), "--out", out, "--quick", "--lmp", lmp]
    p = subprocess.run(driver, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(p.returncode == 0, f"campaign.py --quick exited {p.returncode}:\n{p.stdout[-2000:]}")
    rows = check_runs(out, tail=campaign.QUICK["tail"])
    check(len(rows) == campaign.QUICK["n_runs"], f"{len(rows)} runs")
    check(not os.path.exists(os.path.join(out, "work")), "the work directory is removed")
    p = subprocess.run(driver, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(p.returncode == 0 and "2 finished, 0 to run" in p.stdout, f"the resume:\n{p.stdout}")
    p = subprocess.run(driver[:-2] + ["--seed", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(p.returncode != 0 and "other options" in p.stdout, f"a resume with other options is refused:\n{p.stdout}")

    print("3. the cached campaign in data/", flush=True)
    rows = check_runs(os.path.join(HERE, "data"), tail=500)
    check(len(rows) == 50, f"data/runs.csv has {len(rows)} runs")
    if args.plugin:
        check_fix(lmp, work, os.path.abspath(args.plugin), os.path.abspath(args.simforecast))
    if not args.keep:
        shutil.rmtree(work)
    print("selftest passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
