"""The `tolerance` keyword of fix forecast with a model file, on the DEFAULT model (trained on the
wide campaign with no option): its regression stages forecast a run at the first window whose
90 % interval for mu is within the tolerance, and never wider.

  * exact replays of a recorded campaign run: at the model's own tolerance the fix forecasts and
    (`after stop`) ends the run where `simforecast predict` forecasts it, with an interval that
    covers the run's later mean; a looser tolerance ends it earlier, a tighter one that the run
    cannot reach lets it run on to its end;
  * identical decisions serial and `mpiexec -n 2`;
  * a live NEMD run under the test model (which certifies nothing tighter than ±100 % on its 200
    frames) runs on at `tolerance 0.5` where the model's own tolerance stops it.

Refused tolerances are in test_fix_forecast_errors.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import (THRESHOLD, check_messages, predict, predicted_decisions, read_decisions,
                      require_ok, write_trace)
from test_fix_forecast import (NRUN, RELEVANT_RUN, campaign_frames, decision_lines, nemd,
                               replay)

RUN = 186          # mu 5.68: the default model pins it within ±25 % at frame 850
FRAMES = 1000      # replayed frames: past that forecast, well short of the run's 1598


@pytest.fixture(scope="module")
def default_model(simforecast_bin, wide_data, tmp_path_factory) -> Path:
    """The default preset, as `simforecast train` makes it with no option (tolerance 0.25)."""
    out = tmp_path_factory.mktemp("default") / "default.sfm"
    cmd = [str(simforecast_bin), "train", str(wide_data / "traces"), "--threshold",
           str(THRESHOLD), "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0 or not out.exists():
        pytest.fail(f"training failed: {' '.join(cmd)}\n{res.stdout}\n{res.stderr}", pytrace=False)
    assert "within ±25% (tolerance 0.25)" in res.stdout, res.stdout
    return out


def later_mean(rows, tail=1000):
    values = [v for _, v in rows]
    return sum(values[-tail:]) / len(values[-tail:])


def half_width(d) -> float:
    mid = (d.mu_low + d.mu_high) / 2
    return (d.mu_high - d.mu_low) / 2 / abs(mid)


def stop_at(venv, plugin, model, workdir, frames, fcopts, np=1):
    """Replays `frames` with `fcopts`; the forecasts, the last REPLAY row, the run."""
    run = require_ok(replay(venv, plugin, model, workdir, frames, fcopts=fcopts, np=np))
    decisions = read_decisions(workdir / "decisions.txt")
    check_messages(run.log, decisions)
    return [d for d in decisions if d.forecast], run.lines("REPLAY")[-1], run


def test_default_model_stops_a_run_within_its_tolerance_like_predict(
        venv, plugin, default_model, wide_data, simforecast_bin, tmp_path):
    rows = campaign_frames(wide_data, RUN, tmp_path / "frames.txt", n=FRAMES)
    forecasts, last, run = stop_at(venv, plugin, default_model, tmp_path, tmp_path / "frames.txt",
                                   "after stop")
    (d,) = forecasts
    assert "stop" in d.flags and d.frame < FRAMES
    assert half_width(d) <= 0.25 and d.mu_low <= later_mean(read_all(wide_data)) <= d.mu_high
    # the fix decides as the CLI on the frames it saw, at the model's tolerance
    seen = rows[:d.frame]
    pred = predict(simforecast_bin, default_model, write_trace(tmp_path / "seen.dat", seen))
    (p,) = [e for e in predicted_decisions(pred) if e["forecast"]]
    assert (p["frame"], p["mu_low"], p["mu_high"]) == (d.frame, d.mu_low, d.mu_high)
    (pf,) = [e["forecast"] for e in pred["events"] if e.get("forecast")]
    assert pf["within_tolerance"] and pf["tolerance"] == 0.25 and pf["evidence"] == "Model"
    # the run ended there; the vector says what the estimate rests on and the tolerance in force
    assert int(last["step"]) == 10 * d.frame == int(run.lines("REPLAY_END")[0]["step"])
    assert float(last["stop"]) == 2 and float(last["state"]) == 3
    assert (float(last["evidence"]), float(last["within"]), float(last["tolerance"])) == (0, 1, 0.25)
    (message,) = [ln for ln in run.log.splitlines()
                  if ln.startswith(f"fix forecast fc step {d.step} ")]
    assert "within the tolerance 0.25 (evidence model)" in message, message
    assert "tolerance 0.25 (the model's)" in run.log.split("fix forecast fc step")[0]


def read_all(wide_data):
    from conftest import read_trace
    return read_trace(wide_data / "traces" / f"run_{RUN:04d}.dat")


def test_tolerance_decides_how_long_the_run_goes_on(venv, plugin, default_model, wide_data,
                                                    tmp_path):
    """Same run, same model: ±50 % is reached before ±25 %; ±5 % is never reached in the
    replayed frames, so `after stop` does not end the run, which goes on to its last frame."""
    campaign_frames(wide_data, RUN, tmp_path / "frames.txt", n=FRAMES)
    mu = later_mean(read_all(wide_data))
    stops = {}
    for t in (0.5, 0.25):
        wd = tmp_path / f"t{t}"
        forecasts, last, run = stop_at(venv, plugin, default_model, wd, tmp_path / "frames.txt",
                                       f"tolerance {t} after stop")
        (d,) = forecasts
        assert "stop" in d.flags and half_width(d) <= t and d.mu_low <= mu <= d.mu_high, (t, d)
        assert int(last["step"]) == d.step and float(last["stop"]) == 2
        assert (float(last["evidence"]), float(last["within"]), float(last["tolerance"])) == (0, 1, t)
        header = (wd / "decisions.txt").read_text().splitlines()[0]
        assert f"tolerance {t} (keyword tolerance)" in header, header
        stops[t] = d.frame
    assert stops[0.5] < stops[0.25] < FRAMES, stops

    wd = tmp_path / "t0.05"
    forecasts, last, run = stop_at(venv, plugin, default_model, wd, tmp_path / "frames.txt",
                                   "tolerance 0.05 after stop")
    assert forecasts == []
    assert int(run.lines("REPLAY_END")[0]["step"]) == 10 * FRAMES
    assert float(last["stop"]) == 0 and float(last["state"]) != 3
    assert (float(last["evidence"]), float(last["within"]), float(last["tolerance"])) == (-1, 0, 0.05)


def test_tolerance_two_ranks_decide_as_one(venv, plugin, default_model, wide_data, tmp_path):
    campaign_frames(wide_data, RUN, tmp_path / "frames.txt", n=FRAMES)
    opts = "tolerance 0.25 after stop"
    one = require_ok(replay(venv, plugin, default_model, tmp_path / "np1", tmp_path / "frames.txt",
                            fcopts=opts))
    two = require_ok(replay(venv, plugin, default_model, tmp_path / "np2", tmp_path / "frames.txt",
                            fcopts=opts, np=2))
    lines = decision_lines(tmp_path / "np1" / "decisions.txt")
    assert any(" forecast " in ln and ln.endswith(" stop") for ln in lines), lines
    assert lines == decision_lines(tmp_path / "np2" / "decisions.txt")
    assert one.lines("REPLAY") == two.lines("REPLAY")
    assert float(two.lines("REPLAY")[-1]["tolerance"]) == 0.25


def test_live_run_goes_on_at_a_tolerance_the_model_cannot_certify(venv, plugin, model, campaign,
                                                                   tmp_path):
    """The test model forecasts the relevant run at 100 frames within its own ±100 % and `after
    stop` ends it there (test_fix_forecast.py); at `tolerance 0.5` none of its windows (the last
    at 200 frames) is certified that narrow, so no forecast is made and the run goes on to its
    end, serial and on two ranks alike."""
    for np in (1, 2):
        wd = tmp_path / f"np{np}"
        run, decisions, trace = nemd(venv, plugin, model, campaign[RELEVANT_RUN], wd,
                                     fcopts="tolerance 0.5 after stop", np=np)
        assert not any(d.forecast for d in decisions), decisions
        assert any(d.screened for d in decisions)
        r1 = run.lines("FORECAST_RUN1")[0]
        assert int(r1["step"]) == NRUN and float(r1["stop"]) == 0
        assert float(r1["state"]) != 3 and float(r1["mu_minus_sigma"]) == 0
        assert (float(r1["evidence"]), float(r1["within"]), float(r1["tolerance"])) == (-1, 0, 0.5)
