"""How well a simple early statistic separates irrelevant runs, window by window (bench/tuning.md).

    python3 bench/tuning_separation.py data/nemd-wide-public/traces 33.1

For each window w and statistic (mean of the first w frames, mean of their last quarter, of
their last half, median), runs are ranked by the statistic, highest first. Printed: how many
irrelevant runs come before the first relevant one, and the largest recall any cut reaches at
precision >= 0.95 on the whole campaign (in sample: an upper bound on what a held-out rule can do).
Standard library only.
"""

import glob
import sys


def load(directory):
    traces = []
    for path in sorted(glob.glob(directory + "/*.dat")):
        with open(path) as f:
            traces.append([float(line.split()[1]) for line in f if not line.startswith("#")])
    return traces


def statistics(w):
    return [
        ("mean", lambda v: sum(v[:w]) / w),
        ("lastq", lambda v: sum(v[w - w // 4:w]) / (w // 4)),
        ("lasthalf", lambda v: sum(v[w // 2:w]) / (w - w // 2)),
        ("median", lambda v: sorted(v[:w])[w // 2]),
    ]


def main():
    directory, threshold = sys.argv[1], float(sys.argv[2])
    traces = load(directory)
    if not traces:
        sys.exit(f"no *.dat traces in {directory}")
    irrelevant = [sum(v[-1000:]) / 1000 > threshold for v in traces]
    n_irr = sum(irrelevant)
    print(f"{len(traces)} traces, {n_irr} irrelevant at threshold {threshold}")
    print(f"{'window':>6} {'statistic':>9} {'irrelevant before 1st relevant':>31} {'recall at P>=0.95':>18}")
    for w in [50, 100, 150, 200, 300, 400, 600, 800]:
        for name, stat in statistics(w):
            ranked = sorted(zip((stat(v) for v in traces), irrelevant), reverse=True)
            first_relevant = next((i for i, (_, irr) in enumerate(ranked) if not irr), len(ranked))
            tp = fp = best = 0
            for _, irr in ranked:
                tp += irr
                fp += not irr
                if tp / (tp + fp) >= 0.95:
                    best = max(best, tp)
            print(f"{w:>6} {name:>9} {first_relevant:>31} {best / n_irr:>18.2f}")


if __name__ == "__main__":
    main()
