#!/usr/bin/env python3
"""Notebook-style: train on a shipped campaign, evaluate on its held-out half, and plot the
window sweep and forecast against simulated.

The shipped wide campaign (data/nemd-wide-public: 250 LAMMPS NEMD runs, threshold 33.1) is
split into training traces (even positions) and held-out traces (odd positions). The script

1. sweeps the window of the paper's recipe (screen and forecast at one window of n frames)
   and evaluates each model on the held-out traces: halting F1 and forecast R² against n;
2. trains the default model and prints its card and held-out metrics;
3. plots the default model's forecasts of mu - sigma and mu + sigma against the simulated
   values of the held-out runs it forecast.

Writes window_sweep.png and forecast_vs_simulated.png into --out (matplotlib, Agg backend);
without matplotlib it prints the figures only.

    .venv/bin/python examples/python/train_and_plot.py --out build/python-examples
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import simforecast as sf

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = ROOT / "data" / "nemd-wide-public" / "traces"
THRESHOLD = 33.1
WINDOWS = [50, 100, 150, 200, 300, 400]


def fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("."))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)

    traces = sorted(CAMPAIGN.glob("*.dat"))
    train, held_out = traces[0::2], traces[1::2]
    values = {p: np.loadtxt(p, usecols=1) for p in traces}

    # 1. The window sweep: the paper's recipe at one window n.
    print(f"window sweep (paper recipe, {len(train)} training and {len(held_out)} held-out runs)")
    sweep = []
    for n in WINDOWS:
        m = sf.train(train, THRESHOLD, preset="paper", screen_windows=[n], forecast_windows=[n])
        metrics = m.evaluate(held_out)
        sweep.append((n, metrics))
        print(f"  n = {n:3d}: halting F1 {fmt(metrics['f1'])}, precision {fmt(metrics['precision'])}"
              f", R2 mu-sigma {fmt(metrics['r2_all'][0])}, mu+sigma {fmt(metrics['r2_all'][1])}")

    # 2. The default model, from arrays this time (the same model as from the paths).
    model = sf.train([values[p] for p in train], THRESHOLD, frame_spacing=10, column="v_eta",
                     names=[p.stem for p in train])
    print(model.card_text())
    metrics, outcomes = model.evaluate(held_out, per_trace=True)
    print(f"held out: {metrics['halts']} halted ({metrics['false_halts']} wrongly) of "
          f"{metrics['n']} ({metrics['n_irrelevant']} irrelevant); forecast R2 "
          f"{fmt(metrics['r2'][0])} / {fmt(metrics['r2'][1])}; compute saved "
          f"{metrics['compute_saved']:.1f}x")

    # 3. Forecast against simulated, for the relevant held-out runs forecast.
    pairs = [(o["actual"], o["forecast"]) for o in outcomes
             if o["forecast"] is not None and o["actual"] and not o["actual"]["irrelevant"]]
    sim = np.array([[a["mu"] - a["sigma"], a["mu"] + a["sigma"]] for a, _ in pairs])
    fc = np.array([[f["mu_minus_sigma"], f["mu_plus_sigma"]] for _, f in pairs])
    print(f"{len(pairs)} relevant held-out runs forecast")

    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no plots (pip install matplotlib)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [n for n, _ in sweep]
    nan = float("nan")
    ax.plot(ns, [m["f1"] if m["f1"] is not None else nan for _, m in sweep], "o-",
            label="halting F1")
    for i, label in enumerate(["R² μ−σ", "R² μ+σ"]):
        ax.plot(ns, [m["r2_all"][i] if m["r2_all"][i] is not None else nan for _, m in sweep],
                "s--", label=label)
    ax.set_xlabel("window n (frames)")
    ax.set_ylabel("held-out metric")
    ax.set_title("paper recipe: metrics against the window")
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out / "window_sweep.png", dpi=120)

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for i, (ax, label) in enumerate(zip(axes, ["μ − σ", "μ + σ"])):
        ax.scatter(sim[:, i], fc[:, i], s=12)
        lo, hi = min(sim[:, i].min(), fc[:, i].min()), max(sim[:, i].max(), fc[:, i].max())
        ax.plot([lo, hi], [lo, hi], "k:", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"simulated {label}")
        ax.set_ylabel(f"forecast {label}")
    fig.suptitle(f"default model, {len(pairs)} held-out runs (wide campaign)")
    fig.tight_layout()
    fig.savefig(a.out / "forecast_vs_simulated.png", dpi=120)
    print(f"wrote {a.out / 'window_sweep.png'} and {a.out / 'forecast_vs_simulated.png'}")


if __name__ == "__main__":
    main()
