"""The Python monitor against `simforecast predict --json` on every held-out trace of both
shipped campaigns, with the default and the eager preset: the same events, to 1e-12."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import simforecast as sf

from conftest import cli_json

TOL = 1e-12
SCREEN = ("vote", "score", "cut")
FORECAST = ("mu_minus_sigma", "mu_plus_sigma", "mu_hat", "mu_low", "mu_high", "level")


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


def assert_same(py: sf.Event, js: dict, where: str) -> None:
    assert py.frame == js["frame"], where
    assert py.halt == js["halt"], where
    s, f = js["screen"], js["forecast"]
    if s is None:
        assert py.verdict is None and py.screen_stage is None, where
    else:
        assert py.verdict == s["verdict"].lower(), where
        assert py.screen_stage == s["stage"], where
        assert py.advisory == s["advisory"], where
        for k in SCREEN:
            assert close(getattr(py, k), s[k]), f"{where}: {k} {getattr(py, k)} != {s[k]}"
    if f is None:
        assert not py.is_forecast and all(getattr(py, k) is None for k in FORECAST), where
        assert py.confident is None and py.within_tolerance is None, where
        assert py.tolerance is None and py.evidence is None, where
    else:
        assert py.forecast_stage == f["stage"], where
        assert py.confident == f["confident"], where
        assert py.within_tolerance == f["within_tolerance"], where
        assert py.tolerance == f["tolerance"] and py.evidence == f["evidence"].lower(), where
        for k in FORECAST:
            assert close(getattr(py, k), f[k]), f"{where}: {k} {getattr(py, k)} != {f[k]}"
    ood = bool(s and s["ood"]) or bool(f and f["ood"])
    assert py.ood == ood, where


@pytest.mark.parametrize("preset", ["default", "eager"])
def test_monitor_gives_the_events_of_predict_on_held_out_traces(campaign, preset):
    path = campaign.cli_model("--preset", preset)
    model = sf.load_model(path)
    halts = forecasts = 0
    for i, trace in enumerate(campaign.held_out):
        values = campaign.values(trace)
        want = cli_json("predict", "--model", path, trace)
        assert want["frames"] == len(values)
        where = f"{campaign.name} {trace.name} ({preset})"
        if i % 2 == 0:
            # frame by frame, as a simulation pushes them
            mon = model.monitor(frame_spacing=10)
            got = [e for e in (mon.push(v) for v in values) if e is not None]
        else:
            mon = model.monitor()
            got = mon.push_many(values)
        assert mon.frames == len(values)
        assert len(got) == len(want["events"]), where
        for g, w in zip(got, want["events"]):
            assert_same(g, w, f"{where} frame {w['frame']}")
        assert got == model.replay(values), where
        halt = next((e.frame for e in got if e.halt), None)
        assert halt == want["halt_frame"], where
        forecast = next((e.frame for e in got if e.is_forecast), None)
        assert forecast == want["forecast_frame"], where
        halts += halt is not None
        forecasts += forecast is not None
    # The comparison covered decisions of every kind. Halts need a certified risk budget: eager
    # trained on half the wide campaign has one; on half of nemd-public (1 wrong of 5 out-of-fold
    # halts) it never halts.
    assert forecasts > len(campaign.held_out) // 2
    if preset == "eager" and campaign.name == "nemd-wide-public":
        assert halts > 0


def test_state_saved_midway_resumes_to_the_same_events(wide):
    model = sf.load_model(wide.cli_model("--preset", "eager"))
    for trace in wide.held_out[:20]:
        values = wide.values(trace)
        whole = model.monitor().push_many(values)
        first = model.monitor()
        before = first.push_many(values[:120])
        second = model.monitor()
        second.load_state(first.save_state())
        assert (second.frames, second.state) == (first.frames, first.state)
        assert before + second.push_many(values[120:]) == whole, trace.name
        # A pickled monitor (another process) resumes alike.
        moved = pickle.loads(pickle.dumps(first))
        assert (moved.frames, moved.state, moved.model) == (120, first.state, model)
        assert before + moved.push_many(values[120:]) == whole, trace.name
        second.reset()
        assert (second.frames, second.state, second.last_event) == (0, "collecting", None)
        assert second.push_many(values) == whole


def test_monitor_reports_its_state(wide):
    model = sf.load_model(wide.cli_model("--preset", "eager"))
    mon = model.monitor()
    assert (mon.state, mon.frames, mon.finished, mon.last_event) == ("collecting", 0, False, None)
    values = wide.values(wide.held_out[0])
    events = mon.push_many(values[: model.max_window])
    assert mon.finished and mon.frames == model.max_window
    assert mon.last_event == events[-1]
    assert mon.state in ("forecast_ready", "screened_irrelevant", "screened_relevant")
    assert mon.model == model
    d = events[0].to_dict()
    assert d["frame"] == events[0].frame and set(d) >= {"verdict", "halt", "mu_low", "cut"}
    assert repr(events[0]).startswith("Event(frame=")


def test_tolerance_is_the_models_unless_set(wide):
    """Monitor.tolerance: the model's (0.25 for the default), settable within the range the
    model was calibrated for, refused outside it (the monitor unchanged), kept by reset and by
    pickling; a forecast says the tolerance it met."""
    model = sf.load_model(wide.cli_model())
    assert model.tolerance == 0.25 and model.tolerance_range == (0.05, 1.0)
    mon = model.monitor()
    assert mon.tolerance == 0.25
    mon.tolerance = 0.5
    assert mon.tolerance == 0.5
    for bad in (0.0, -0.1, 1.5, 0.01, math.nan, math.inf):
        with pytest.raises(sf.InvalidArgumentError, match="tolerance"):
            mon.tolerance = bad
        assert mon.tolerance == 0.5
    mon.reset()
    assert mon.tolerance == 0.5
    assert pickle.loads(pickle.dumps(mon)).tolerance == 0.5
    mon.tolerance = None
    assert mon.tolerance == 0.25 and pickle.loads(pickle.dumps(mon)).tolerance == 0.25
    with pytest.raises(ValueError, match="outside the range"):
        sf.Monitor(model, tolerance=2.0)
    assert sf.Monitor(model, tolerance=0.1).tolerance == 0.1

    # A looser tolerance forecasts more runs, each within the tolerance it states.
    counts = {}
    for t in (0.1, 0.5):
        n = 0
        for trace in wide.held_out:
            values = wide.values(trace)
            events = model.monitor(tolerance=t).push_many(values)
            assert events == model.replay(values, tolerance=t)
            for e in events:
                if e.is_forecast:
                    n += 1
                    half = (e.mu_high - e.mu_low) / (e.mu_high + e.mu_low)
                    assert e.tolerance == t and e.within_tolerance and e.confident
                    assert e.evidence == "model" and half <= t * (1 + 1e-12)
        counts[t] = n
    assert counts[0.5] > counts[0.1], counts
