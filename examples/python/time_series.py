#!/usr/bin/env python3
"""A time series that is no LAMMPS run: train from NumPy arrays, then watch new runs with the
Monitor, chunk by chunk, as any engine driven from Python would (OpenMM, a home-grown solver).

The "simulation" here is a relaxation towards a level set by one parameter, with correlated
noise: x(t) = L (1 - exp(-t / tau)) + AR(1) noise, L = exp(3 p), tau = 150 (1 + p) frames.
A run is irrelevant when its result (the mean of its last 500 frames) is above 12. The model is
trained on 200 runs of 1500 frames; 30 new runs are then stepped 25 frames at a time, pushed
with Monitor.push_many, and stopped when the monitor halts them; a run the model does not halt
gets its forecast at the first window where the 90 % interval for its result is within the
model's tolerance (±25 %) and, here, is stopped as well (its result is known within the
interval). These runs are all pinned long before the default's halting windows (600 and 800
frames), so an irrelevant run shows itself by a forecast above the threshold, not by a halt.

    .venv/bin/python examples/python/time_series.py
"""

from __future__ import annotations

import numpy as np

import simforecast as sf

FRAMES = 1500
TAIL = 500
THRESHOLD = 12.0
CHUNK = 25


class Relaxation:
    """One run of the toy engine: `step(n)` returns its next n frames."""

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        self.level = float(np.exp(3.0 * p))
        self.tau = 150.0 * (1.0 + p)
        self.rng = rng
        self.t = 0
        self.noise = 0.0
        self.record: list = []

    def step(self, n: int) -> np.ndarray:
        out = np.empty(n)
        for i in range(n):
            self.noise = 0.95 * self.noise + 0.05 * self.level * self.rng.standard_normal()
            out[i] = self.level * (1.0 - np.exp(-self.t / self.tau)) + self.noise
            self.t += 1
        self.record.extend(out)
        return out


def campaign(n: int, rng: np.random.Generator) -> list:
    return [Relaxation(p, rng).step(FRAMES) for p in rng.uniform(0.0, 1.0, n)]


def main() -> None:
    rng = np.random.default_rng(7)
    runs = campaign(200, rng)
    model = sf.train(runs, THRESHOLD, frame_spacing=1, tail=TAIL, column="x")
    card = model.card()
    tolerance = model.tolerance
    assert tolerance is not None, "the default model forecasts within a tolerance"
    print(f"trained on {card['training']['traces']} runs ({card['training']['irrelevant']} "
          f"irrelevant); halts at {card['decisions']['halting_windows']} frames, forecasts "
          f"within ±{100 * tolerance:.0f} %")

    simulated = full = halted = wrong = forecast = covered = 0
    for k, p in enumerate(rng.uniform(0.0, 1.0, 30)):
        engine = Relaxation(p, rng)
        mon = model.monitor(frame_spacing=1)
        done = None
        while engine.t < FRAMES and done is None:
            for e in mon.push_many(engine.step(CHUNK)):
                if e.halt:
                    done = f"halted at frame {e.frame}"
                elif e.is_forecast:
                    done = (f"forecast at frame {e.frame}: mu in [{e.mu_low:.2f}, "
                            f"{e.mu_high:.2f}]")
        ran = engine.t
        # The truth, for the demonstration only: finish the run anyway.
        engine.step(FRAMES - engine.t)
        mu = float(np.mean(engine.record[-TAIL:]))
        truth = "irrelevant" if mu > THRESHOLD else "relevant"
        simulated += ran
        full += FRAMES
        last = mon.last_event
        if last is not None and last.halt:
            halted += 1
            wrong += truth == "relevant"
        elif last is not None and last.mu_low is not None and last.mu_high is not None:
            forecast += 1  # the forecast fields are None on an event that is no forecast
            covered += last.mu_low <= mu <= last.mu_high
        print(f"run {k:2d}: p = {p:.2f}, {done or 'ran to its end'}; mu = {mu:.2f} ({truth})")
    print(f"{halted} runs halted ({wrong} of them relevant), {forecast} forecast ({covered} "
          f"intervals cover mu); simulated {simulated} of {full} frames, compute saved "
          f"{full / simulated:.1f}x")
    assert halted + forecast > 0 and simulated < full, "the example shows decisions and savings"
    # 90 % intervals: most of them hold the run's result
    assert covered >= 0.8 * forecast, f"{covered} of {forecast} intervals cover mu"



if __name__ == "__main__":
    main()
