#!/usr/bin/env python3
"""The paper's protocol in plain scikit-fda + scikit-learn: a baseline for simforecast.

Usage:
    python bench/python_protocol.py TRACE_DIR --threshold 10.5 --repeats 20 --seed 1 \
        --json out.json [--splits splits.json | --write-splits splits.json [--no-run]]

What it does (method.md, one choice per place where the paper is silent, stated here):
* Traces: every TRACE_DIR/*.dat, LAMMPS `fix ave/time` files ('#' comment lines, then
  "step value" rows). Trace name = file stem (run_0012). mu = mean and sigma = sample std
  (ddof=1) of the LAST 1000 frames; irrelevant (positive class, label 1) when mu > threshold.
* Features for a window of n frames: the first n values on t = linspace(0, 1, n) ->
  FDataGrid.to_basis(cubic BSplineBasis, knots = linspace(0, 1, n_knots)), with
  n_knots = floor(0.6 n + 0.5) distinct uniform knots including both ends (n_basis =
  n_knots + 2), plain least squares -> skfda FPCA fitted on the TRAIN split only (with the
  maximum number of components, min(N_train, n_basis)), then the smallest m whose
  cumulative explained_variance_ratio_ is >= 0.99 is kept; test curves are projected with
  the train mean and components. The full-SVD PCA is deterministic, so keeping the first m
  components of the maximal fit is the same as refitting with m. Scores are not
  standardised. The FPCA is fitted once per repeat on the whole train split; the inner CV
  folds reuse those scores (unsupervised, label-free step).
* Screening: window 100, all runs, KNeighborsClassifier (uniform weights, Minkowski p),
  GridSearchCV over n_neighbors 1..30 x p in {1, 2}, StratifiedKFold(5, shuffle=True,
  random_state=seed + repeat), scoring f1 (positive = irrelevant). Ties between grid
  points go to the first in grid order (k ascending, then p) as GridSearchCV does.
* Forecasting: window 150, relevant runs only, KNeighborsRegressor with two outputs
  (mu - sigma, mu + sigma), same grid, KFold(5, shuffle=True, random_state=seed + repeat),
  scoring r2 (uniform average of the two outputs).
* Protocol: R repeats of a stratified random 80/20 split of ALL runs
  (StratifiedShuffleSplit(R, test_size=0.2, random_state=seed)); forecasting uses the
  relevant runs of the same train/test split. A splits file (--splits) gives these splits
  explicitly as a JSON list of {"train": [names], "test": [names]}; the same rule (relevant
  runs of each side) applies to forecasting.
* Reported: per repeat the chosen k, p, m, test recall/precision/F1, R2 of mu-sigma and
  mu+sigma, and times (features_s = basis smoothing + FPCA of train and test, time_s =
  that plus the grid search and the test predictions); over repeats mean and std (ddof=1); wall time of the whole protocol
  (time.perf_counter, loading the traces excluded and reported apart), its CPU time
  (time.process_time, all threads) and the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import skfda
from skfda import FDataGrid
from skfda.preprocessing.dim_reduction import FPCA
from skfda.representation.basis import BSplineBasis
from sklearn.metrics import f1_score, precision_score, r2_score, recall_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

LABEL_FRAMES = 1000
K_GRID = list(range(1, 31))
P_GRID = [1, 2]


def read_trace(path: Path) -> np.ndarray:
    """Values of a `fix ave/time` file (second column), in file order."""
    values = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            fields = s.split()
            if len(fields) < 2:
                raise ValueError(f"{path}:{lineno}: expected 'step value', got {s!r}")
            values.append(float(fields[1]))
    arr = np.asarray(values)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{path}: non-finite value in trace")
    return arr


def load_campaign(trace_dir: Path, threshold: float, min_frames: int):
    paths = sorted(trace_dir.glob("*.dat"))
    if not paths:
        raise SystemExit(f"no *.dat trace in {trace_dir}")
    names, traces, mu, sigma = [], [], [], []
    for p in paths:
        v = read_trace(p)
        if v.size < min_frames:
            raise SystemExit(f"{p}: {v.size} frames, need at least {min_frames}")
        tail = v[-LABEL_FRAMES:]
        names.append(p.stem)
        traces.append(v)
        mu.append(tail.mean())
        sigma.append(tail.std(ddof=1))
    mu = np.asarray(mu)
    sigma = np.asarray(sigma)
    return {
        "names": names,
        "traces": traces,
        "mu": mu,
        "sigma": sigma,
        "irrelevant": (mu > threshold).astype(int),
    }


def n_knots_for(n: int, fraction: float) -> int:
    return int(math.floor(fraction * n + 0.5))


def fpca_features(windows_train, windows_test, n, knot_fraction, variance):
    """Basis smoothing + FPCA fitted on train; returns train/test scores and m."""
    t = np.linspace(0.0, 1.0, n)
    basis = BSplineBasis(
        domain_range=(0.0, 1.0), knots=np.linspace(0.0, 1.0, n_knots_for(n, knot_fraction))
    )
    fd_train = FDataGrid(windows_train, grid_points=t, domain_range=(0.0, 1.0)).to_basis(basis)
    fd_test = FDataGrid(windows_test, grid_points=t, domain_range=(0.0, 1.0)).to_basis(basis)
    n_max = min(fd_train.n_samples, basis.n_basis)
    fpca = FPCA(n_components=n_max).fit(fd_train)
    cum = np.cumsum(fpca.explained_variance_ratio_)
    m = int(np.searchsorted(cum, variance, side="left")) + 1
    m = min(m, n_max)
    return fpca.transform(fd_train)[:, :m], fpca.transform(fd_test)[:, :m], m


def windows(data, idx, n):
    return np.stack([data["traces"][i][:n] for i in idx])


def run_screening(data, train, test, args, cv_seed):
    t0 = time.perf_counter()
    n = args.screen_window
    x_tr, x_te, m = fpca_features(
        windows(data, train, n), windows(data, test, n), n, args.knot_fraction, args.variance
    )
    features_s = time.perf_counter() - t0
    y_tr = data["irrelevant"][train]
    y_te = data["irrelevant"][test]
    gs = GridSearchCV(
        KNeighborsClassifier(),
        {"n_neighbors": K_GRID, "p": P_GRID},
        scoring="f1",
        cv=StratifiedKFold(5, shuffle=True, random_state=cv_seed),
        n_jobs=1,
    )
    gs.fit(x_tr, y_tr)
    y_hat = gs.predict(x_te)
    tp = int(np.sum((y_hat == 1) & (y_te == 1)))
    fp = int(np.sum((y_hat == 1) & (y_te == 0)))
    fn = int(np.sum((y_hat == 0) & (y_te == 1)))
    tn = int(np.sum((y_hat == 0) & (y_te == 0)))
    return {
        "k": int(gs.best_params_["n_neighbors"]),
        "p": int(gs.best_params_["p"]),
        "m": m,
        "cv_f1": float(gs.best_score_),
        "recall": float(recall_score(y_te, y_hat, pos_label=1, zero_division=0)),
        "precision": float(precision_score(y_te, y_hat, pos_label=1, zero_division=0)),
        "f1": float(f1_score(y_te, y_hat, pos_label=1, zero_division=0)),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "n_train": len(train),
        "n_test": len(test),
        "features_s": features_s,
        "time_s": time.perf_counter() - t0,
    }


def run_forecasting(data, train, test, args, cv_seed):
    t0 = time.perf_counter()
    rel = data["irrelevant"] == 0
    train = [i for i in train if rel[i]]
    test = [i for i in test if rel[i]]
    n = args.forecast_window
    x_tr, x_te, m = fpca_features(
        windows(data, train, n), windows(data, test, n), n, args.knot_fraction, args.variance
    )
    features_s = time.perf_counter() - t0
    y = np.column_stack([data["mu"] - data["sigma"], data["mu"] + data["sigma"]])
    gs = GridSearchCV(
        KNeighborsRegressor(),
        {"n_neighbors": K_GRID, "p": P_GRID},
        scoring="r2",
        cv=KFold(5, shuffle=True, random_state=cv_seed),
        n_jobs=1,
    )
    gs.fit(x_tr, y[train])
    y_hat = gs.predict(x_te)
    r2 = r2_score(y[test], y_hat, multioutput="raw_values")
    return {
        "k": int(gs.best_params_["n_neighbors"]),
        "p": int(gs.best_params_["p"]),
        "m": m,
        "cv_r2": float(gs.best_score_),
        "r2_lo": float(r2[0]),
        "r2_hi": float(r2[1]),
        "n_train": len(train),
        "n_test": len(test),
        "features_s": features_s,
        "time_s": time.perf_counter() - t0,
    }


def make_splits(data, repeats, seed):
    sss = StratifiedShuffleSplit(n_splits=repeats, test_size=0.2, random_state=seed)
    names = data["names"]
    out = []
    for tr, te in sss.split(np.zeros(len(names)), data["irrelevant"]):
        out.append({"train": [names[i] for i in sorted(tr)], "test": [names[i] for i in sorted(te)]})
    return out


def read_splits(path: Path, data):
    with open(path) as fh:
        raw = json.load(fh)
    if isinstance(raw, dict):
        raw = raw["splits"]
    index = {name: i for i, name in enumerate(data["names"])}
    out = []
    for r, s in enumerate(raw):
        for side in ("train", "test"):
            missing = [n for n in s[side] if n not in index]
            if missing:
                raise SystemExit(f"{path}: split {r} {side}: unknown traces {missing[:5]}")
        if set(s["train"]) & set(s["test"]):
            raise SystemExit(f"{path}: split {r}: train and test overlap")
        out.append(s)
    return out


def summarise(values):
    a = np.asarray(values, dtype=float)
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "min": float(a.min()),
        "max": float(a.max()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description="Paper protocol baseline (scikit-fda + scikit-learn).")
    ap.add_argument("trace_dir", type=Path)
    ap.add_argument("--threshold", type=float, required=True, help="irrelevant when mu > threshold")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write config, per-repeat results and summary here")
    ap.add_argument("--splits", type=Path, help="read the train/test splits (trace names) from here")
    ap.add_argument("--write-splits", type=Path, help="write the seeded splits here")
    ap.add_argument("--no-run", action="store_true", help="only write the splits")
    ap.add_argument("--screen-window", type=int, default=100)
    ap.add_argument("--forecast-window", type=int, default=150)
    ap.add_argument("--knot-fraction", type=float, default=0.6)
    ap.add_argument("--variance", type=float, default=0.99)
    args = ap.parse_args()
    if args.splits and args.write_splits:
        ap.error("--splits and --write-splits are exclusive")

    t_load = time.perf_counter()
    min_frames = max(args.screen_window, args.forecast_window, LABEL_FRAMES)
    data = load_campaign(args.trace_dir, args.threshold, min_frames)
    load_s = time.perf_counter() - t_load
    n_runs = len(data["names"])
    n_irr = int(data["irrelevant"].sum())
    print(
        f"{args.trace_dir}: {n_runs} runs, {n_irr} irrelevant ({100.0 * n_irr / n_runs:.1f} %) "
        f"at threshold {args.threshold}; loaded in {load_s:.2f} s",
        file=sys.stderr,
    )

    if args.splits:
        splits = read_splits(args.splits, data)
    else:
        splits = make_splits(data, args.repeats, args.seed)
    if args.write_splits:
        with open(args.write_splits, "w") as fh:
            # One split per line: readable diffs, small files.
            fh.write("[\n" + ",\n".join(json.dumps(s) for s in splits) + "\n]\n")
        print(f"wrote {len(splits)} splits to {args.write_splits}", file=sys.stderr)
    if args.no_run:
        return 0

    index = {name: i for i, name in enumerate(data["names"])}
    repeats = []
    t_all = time.perf_counter()
    c_all = time.process_time()
    load_before = os.getloadavg()
    for r, s in enumerate(splits):
        t_rep = time.perf_counter()
        c_rep = time.process_time()
        train = [index[n] for n in s["train"]]
        test = [index[n] for n in s["test"]]
        cv_seed = args.seed + r
        scr = run_screening(data, train, test, args, cv_seed)
        fc = run_forecasting(data, train, test, args, cv_seed)
        rep = {
            "repeat": r,
            "screening": scr,
            "forecasting": fc,
            "time_s": time.perf_counter() - t_rep,
            "cpu_s": time.process_time() - c_rep,
        }
        repeats.append(rep)
        print(
            f"repeat {r:2d}: screening k={scr['k']:2d} p={scr['p']} m={scr['m']:2d} "
            f"R={scr['recall']:.3f} P={scr['precision']:.3f} F1={scr['f1']:.3f} | "
            f"forecast k={fc['k']:2d} p={fc['p']} m={fc['m']:2d} "
            f"R2-={fc['r2_lo']:.3f} R2+={fc['r2_hi']:.3f} | {rep['time_s']:.2f} s",
            file=sys.stderr,
        )
    wall_s = time.perf_counter() - t_all
    cpu_s = time.process_time() - c_all

    summary = {
        "recall": summarise([x["screening"]["recall"] for x in repeats]),
        "precision": summarise([x["screening"]["precision"] for x in repeats]),
        "f1": summarise([x["screening"]["f1"] for x in repeats]),
        "r2_mu_minus_sigma": summarise([x["forecasting"]["r2_lo"] for x in repeats]),
        "r2_mu_plus_sigma": summarise([x["forecasting"]["r2_hi"] for x in repeats]),
        "screening_m": summarise([x["screening"]["m"] for x in repeats]),
        "forecasting_m": summarise([x["forecasting"]["m"] for x in repeats]),
        "time_per_repeat_s": summarise([x["time_s"] for x in repeats]),
        "cpu_per_repeat_s": summarise([x["cpu_s"] for x in repeats]),
        "screening_features_s": summarise([x["screening"]["features_s"] for x in repeats]),
        "forecasting_features_s": summarise([x["forecasting"]["features_s"] for x in repeats]),
    }
    out = {
        "config": {
            "trace_dir": str(args.trace_dir),
            "threshold": args.threshold,
            "repeats": len(splits),
            "seed": args.seed,
            "splits_file": str(args.splits) if args.splits else None,
            "screen_window": args.screen_window,
            "forecast_window": args.forecast_window,
            "knot_fraction": args.knot_fraction,
            "n_knots_screen": n_knots_for(args.screen_window, args.knot_fraction),
            "n_knots_forecast": n_knots_for(args.forecast_window, args.knot_fraction),
            "variance": args.variance,
            "label_frames": LABEL_FRAMES,
            "k_grid": K_GRID,
            "p_grid": P_GRID,
            "cv_folds": 5,
        },
        "dataset": {"n_runs": n_runs, "n_irrelevant": n_irr, "n_relevant": n_runs - n_irr},
        "versions": {
            "python": platform.python_version(),
            "scikit-fda": skfda.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "load_s": load_s,
        "wall_time_s": wall_s,
        "cpu_time_s": cpu_s,
        # The machine may be shared: the 1-min load average before and after the protocol.
        "loadavg_1min": [load_before[0], os.getloadavg()[0]],
        "summary": summary,
        "repeats": repeats,
    }
    lines = [
        f"recall     {summary['recall']['mean']:.3f} ± {summary['recall']['std']:.3f}",
        f"precision  {summary['precision']['mean']:.3f} ± {summary['precision']['std']:.3f}",
        f"F1         {summary['f1']['mean']:.3f} ± {summary['f1']['std']:.3f}",
        f"R2 mu-sig  {summary['r2_mu_minus_sigma']['mean']:.3f} ± {summary['r2_mu_minus_sigma']['std']:.3f}",
        f"R2 mu+sig  {summary['r2_mu_plus_sigma']['mean']:.3f} ± {summary['r2_mu_plus_sigma']['std']:.3f}",
        f"wall time  {wall_s:.2f} s for {len(splits)} repeats "
        f"({summary['time_per_repeat_s']['mean']:.2f} s/repeat, median "
        f"{float(np.median([x['time_s'] for x in repeats])):.2f}), CPU {cpu_s:.2f} s, "
        f"trace loading {load_s:.2f} s",
    ]
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
