#!/usr/bin/env python3
"""Make a Lennard-Jones NEMD campaign with LAMMPS: viscosity traces over density, temperature
and shear rate.

Each run is one `in.nemd`: an fcc lattice of 256 atoms melted and equilibrated at the run's
density and temperature, then sheared with fix nvt/sllod + fix deform at its rate; the
`fix ave/time` trace of eta = -Pxy/rate (one frame every 10 steps, 0.05 tau) is the training
input, and mu, sigma (ddof 1) of its last --tail frames are the run's result:

    OUT/traces/run_NNNN.dat   fix ave/time output, moved into place only when complete
    OUT/runs.csv              one row per finished run: its parameters, mu, sigma, wall time
    OUT/campaign.json         the options (a resume must use the same ones)

The design is a Latin hypercube over density, temperature and the log of the shear rate, in
random order (any prefix of finished runs is a roughly uniform sample); the frames per run and
the seeds are drawn uniformly. Run the same command again to resume: finished runs are kept.
One LAMMPS process per job (--jobs, default: the number of cores).

    python3 campaign.py --out my-campaign                 # 50 runs, a few minutes on 2 cores
    python3 campaign.py --out check --quick               # 2 tiny runs (seconds): does it work?
"""
import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS_COLUMNS = [
    "run_id", "density", "temp", "shear_rate", "n_atoms", "box_l", "dt", "steps_per_frame",
    "neq_steps", "seed", "n_frames", "tail", "mu", "sigma", "wall_s",
]
CELLS = 4  # fcc unit cells per edge: 4 * 4^3 = 256 atoms
DT, SPF, TDAMP = 0.005, 10, 0.5
# --quick: the same physics, short enough for a test (2 runs of 100-120 frames)
QUICK = {"n_runs": 2, "frames": [100, 120], "neq": 200, "tail": 50}


def log(msg):
    print(msg, flush=True)


def design(opts):
    """Rows of the Latin-hypercube design: density, temperature, log shear rate."""
    n = opts["n_runs"]
    rng = np.random.default_rng(opts["seed"])
    u = np.empty((n, 3))
    for j in range(3):
        u[:, j] = (rng.permutation(n) + rng.random(n)) / n

    def lin(lo_hi, x):
        return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * x

    log_rates = (math.log(opts["shear_rate"][0]), math.log(opts["shear_rate"][1]))
    return [{
        "run_id": i,
        "density": round(lin(opts["density"], u[i, 0]), 4),
        "temp": round(lin(opts["temp"], u[i, 1]), 4),
        "shear_rate": round(math.exp(lin(log_rates, u[i, 2])), 5),
        "n_frames": int(rng.integers(opts["frames"][0], opts["frames"][1] + 1)),
        "seed": int(rng.integers(1, 1_000_000)),
    } for i in range(n)]


def read_trace(path):
    """(steps, values) of a fix ave/time file with one value per line."""
    steps, vals = [], []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            a, b = line.split()
            steps.append(int(a))
            vals.append(float(b))
    return np.array(steps), np.array(vals)


def read_runs(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_runs(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=RUNS_COLUMNS)
        w.writeheader()
        w.writerows(sorted(rows, key=lambda r: int(r["run_id"])))
    os.replace(tmp, path)


def run_one(lmp, out, row, opts):
    """Run one design row with LAMMPS; return its runs.csv row, or raise RuntimeError."""
    rid = row["run_id"]
    work = os.path.join(out, "work", f"run_{rid:04d}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    part = os.path.join(work, "trace.dat")
    logf = os.path.join(work, "log.lammps")
    cmd = [lmp, "-nocite", "-screen", "none", "-log", logf, "-in", os.path.join(HERE, "in.nemd")]
    for k, v in (("rho", row["density"]), ("temp", row["temp"]), ("rate", row["shear_rate"]),
                 ("cells", CELLS), ("seed", row["seed"]), ("neq", opts["neq"]),
                 ("nframes", row["n_frames"]), ("spf", SPF), ("dt", DT), ("tdamp", TDAMP),
                 ("trace", part), ("tail", opts["tail"])):
        cmd += ["-var", k, str(v)]
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=work, env=dict(os.environ, OMP_NUM_THREADS="1"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        text = (open(logf).read() if os.path.exists(logf) else "") + "\n" + p.stderr
        errors = [ln for ln in text.splitlines() if "ERROR" in ln]
        raise RuntimeError(f"LAMMPS exit {p.returncode}: " + ("; ".join(errors[-2:]) or text.strip()[-300:]))
    steps, vals = read_trace(part)
    n = row["n_frames"]
    if len(vals) != n or not np.array_equal(steps, SPF * np.arange(1, n + 1)):
        raise RuntimeError(f"incomplete trace: {len(vals)} of {n} frames")
    if not np.all(np.isfinite(vals)):
        raise RuntimeError("non-finite values in the trace")
    last = vals[-opts["tail"]:]
    os.replace(part, os.path.join(out, "traces", f"run_{rid:04d}.dat"))
    shutil.rmtree(work, ignore_errors=True)
    box = CELLS * (4.0 / row["density"]) ** (1.0 / 3.0)
    return {
        "run_id": rid, "density": row["density"], "temp": row["temp"],
        "shear_rate": row["shear_rate"], "n_atoms": 4 * CELLS**3, "box_l": round(box, 4),
        "dt": DT, "steps_per_frame": SPF, "neq_steps": opts["neq"], "seed": row["seed"],
        "n_frames": n, "tail": opts["tail"], "mu": f"{np.mean(last):.6g}",
        "sigma": f"{np.std(last, ddof=1):.6g}", "wall_s": f"{wall:.2f}",
    }


def find_lmp(given):
    if given:
        path = shutil.which(given) or given
    else:
        repo_lmp = os.path.join(HERE, "..", "..", ".venv", "bin", "lmp")
        path = os.path.abspath(repo_lmp) if os.path.exists(repo_lmp) else shutil.which("lmp")
    if not path or not os.access(path, os.X_OK):
        sys.exit(f"error: no LAMMPS executable ({given or '.venv/bin/lmp or lmp on PATH'}); "
                 "make the venv with `make venv` or pass --lmp PATH")
    return path


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--out", default="lj-campaign", help="output directory [lj-campaign]")
    ap.add_argument("--n-runs", type=int, default=50, help="runs in the design [50]")
    ap.add_argument("--seed", type=int, default=20261202, help="seed of the design [20261202]")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="LAMMPS processes at a time, one core each [number of cores]")
    ap.add_argument("--lmp", default=None,
                    help="LAMMPS executable [.venv/bin/lmp of the repository, else lmp on PATH]")
    ap.add_argument("--density", type=float, nargs=2, metavar=("LO", "HI"), default=[0.7, 0.9],
                    help="number density [0.7 0.9]")
    ap.add_argument("--temp", type=float, nargs=2, metavar=("LO", "HI"), default=[0.8, 1.6],
                    help="temperature [0.8 1.6]")
    ap.add_argument("--shear-rate", type=float, nargs=2, metavar=("LO", "HI"), default=[0.05, 1.0],
                    help="shear rate, log-uniform [0.05 1.0]")
    ap.add_argument("--frames", type=int, nargs=2, metavar=("MIN", "MAX"), default=[1000, 1400],
                    help="frames per run, uniform [1000 1400]")
    ap.add_argument("--neq", type=int, default=1000, help="equilibration steps before shear [1000]")
    ap.add_argument("--tail", type=int, default=500,
                    help="frames at the end over which mu, sigma are taken [500]")
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK['n_runs']} runs of {QUICK['frames'][0]}-{QUICK['frames'][1]} frames "
                         f"(tail {QUICK['tail']}): a check that LAMMPS and the driver work")
    args = ap.parse_args(argv)
    if args.quick:
        args.n_runs, args.frames, args.neq, args.tail = (QUICK[k] for k in ("n_runs", "frames", "neq", "tail"))
    if args.n_runs < 1 or args.jobs < 1:
        ap.error("--n-runs and --jobs must be >= 1")
    if not 2 <= args.tail <= args.frames[0] <= args.frames[1]:
        ap.error("needs 2 <= --tail <= MIN <= MAX of --frames")
    for name in ("density", "temp", "shear_rate"):
        lo, hi = getattr(args, name)
        if not 0 < lo <= hi:
            ap.error(f"--{name.replace('_', '-')} LO HI needs 0 < LO <= HI")
    return args


def main(argv=None):
    args = parse_args(argv)
    opts = {k: getattr(args, k) for k in
            ("n_runs", "seed", "density", "temp", "shear_rate", "frames", "neq", "tail")}
    lmp = find_lmp(args.lmp)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "traces"), exist_ok=True)
    opts_path = os.path.join(out, "campaign.json")
    if os.path.exists(opts_path):
        with open(opts_path) as f:
            old = json.load(f)
        if old != opts:
            sys.exit(f"error: {out} holds a campaign made with other options:\n  {json.dumps(old)}\n"
                     "resume with the same options, or use another --out")
    else:
        with open(opts_path, "w") as f:
            json.dump(opts, f, indent=1)
            f.write("\n")

    runs_path = os.path.join(out, "runs.csv")
    done = [r for r in read_runs(runs_path)
            if os.path.exists(os.path.join(out, "traces", f"run_{int(r['run_id']):04d}.dat"))]
    write_runs(runs_path, done)
    done_ids = {int(r["run_id"]) for r in done}
    todo = [r for r in design(opts) if r["run_id"] not in done_ids]
    log(f"campaign {out}: {opts['n_runs']} runs planned, {len(done)} finished, {len(todo)} to run "
        f"with {args.jobs} job(s), LAMMPS {lmp}")

    t0 = time.monotonic()
    failed = 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, lmp, out, r, opts): r for r in todo}
        for fut in as_completed(futures):
            row = futures[fut]
            try:
                res = fut.result()
            except RuntimeError as exc:
                failed += 1
                log(f"run_{row['run_id']:04d} FAILED: {exc}")
                continue
            done.append(res)
            write_runs(runs_path, done)  # after every run: a stopped driver resumes from here
            log(f"[{len(done)}/{opts['n_runs']}] run_{res['run_id']:04d} density {res['density']:.3f} "
                f"temp {res['temp']:.3f} rate {res['shear_rate']:.4g}: mu {float(res['mu']):.4g} "
                f"sigma {float(res['sigma']):.3g} ({res['wall_s']} s)")
    shutil.rmtree(os.path.join(out, "work"), ignore_errors=True)
    mus = np.array([float(r["mu"]) for r in done])
    log(f"done: {len(done)} of {opts['n_runs']} runs, {failed} failed, {time.monotonic() - t0:.0f} s "
        f"wall; mu {mus.min():.3g} .. {mus.max():.3g}, 0.85 quantile {np.quantile(mus, 0.85):.3g}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
