"""The pruner (report / should_stop) and the Optuna adapter stop a run at the frame where the
monitor, and so `simforecast predict`, halts it."""

from __future__ import annotations

import pytest

import simforecast as sf

from conftest import cli_json


@pytest.fixture(scope="module")
def eager(wide):
    path = wide.cli_model("--preset", "eager")
    return path, sf.load_model(path)


@pytest.fixture(scope="module")
def halted_and_not(wide, eager):
    """Held-out traces the eager model halts (with predict's halt frame) and some it does not."""
    path, _ = eager
    halted, kept = [], []
    for trace in wide.held_out:
        frame = cli_json("predict", "--model", path, trace)["halt_frame"]
        (halted if frame is not None else kept).append((trace, frame))
    assert halted and kept
    return halted, kept[:10]


def drive(pruner: sf.Pruner, values, step0: int, stride: int) -> int:
    """Reports values until the pruner says stop; returns the frames simulated."""
    for i, v in enumerate(values):
        pruner.report(step0 + i * stride, float(v))
        if pruner.should_stop():
            return i + 1
    return len(values)


def test_pruner_stops_at_the_halt_frame_of_predict(wide, eager, halted_and_not):
    _, model = eager
    halted, kept = halted_and_not
    for trace, frame in halted:
        p = sf.Pruner(model, unit="step")
        assert drive(p, wide.values(trace), 10, 10) == frame == p.halt_frame, trace.name
        assert p.state == "screened_irrelevant" and p.last_step == 10 * frame
    forecasts = 0
    for trace, _ in kept:
        values = wide.values(trace)
        p = sf.Pruner(model)
        assert drive(p, values, 0, 1) == len(values) and p.halt_frame is None
        # With stop_on_forecast the run stops at its forecast instead.
        q = sf.Pruner(model, stop_on_forecast=True)
        n = drive(q, values, 0, 1)
        forecast = next((e for e in model.replay(values) if e.is_forecast), None)
        assert q.forecast == forecast, trace.name
        assert n == (forecast.frame if forecast else len(values)), trace.name
        forecasts += forecast is not None
    assert forecasts > 0


def test_reports_out_of_turn_are_refused(eager):
    _, model = eager
    p = sf.Pruner(model, unit="step")
    assert (p.unit, p.stop_on_forecast, p.last_step) == ("step", False, None)
    p.report(10, 1.0)
    with pytest.raises(sf.InvalidArgumentError, match="report at step 25 out of turn: the last "
                       "report was at step 10, the next one is 20 .the model's frame spacing is "
                       "10 steps"):
        p.report(25, 1.0)
    with pytest.raises(sf.InvalidArgumentError, match="next one is 20"):
        p.report(10, 1.0)
    with pytest.raises(sf.NonFiniteError):
        p.report(20, float("nan"))
    assert p.frames == 1 and p.last_step == 10
    p.report(20, 1.0)
    with pytest.raises(sf.InvalidArgumentError, match="unit is 'frame' or 'step', got 'epoch'"):
        sf.Pruner(model, unit="epoch")


def test_optuna_prunes_the_trials_the_model_halts(wide, eager, halted_and_not):
    import optuna  # installed by make python-test (crates/python/requirements-test.txt)
    from simforecast.optuna import SimforecastPruner

    path, model = eager
    halted, kept = halted_and_not
    runs = halted[:6] + kept[:6]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = SimforecastPruner(str(path))
    study = optuna.create_study(pruner=pruner)
    frames_run = {}

    def objective(trial):
        trace, _ = runs[trial.suggest_int("run", 0, len(runs) - 1)]
        values = wide.values(trace)
        for step, v in enumerate(values):
            trial.report(float(v), step)
            frames_run[trial.number] = step + 1
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(values[-1000:].mean())

    for i in range(len(runs)):
        study.enqueue_trial({"run": i})
    study.optimize(objective, n_trials=len(runs))
    for t in study.trials:
        _, halt = runs[t.params["run"]]
        if halt is None:
            assert t.state == optuna.trial.TrialState.COMPLETE
        else:
            assert t.state == optuna.trial.TrialState.PRUNED
            assert frames_run[t.number] == halt
            assert pruner.pruner(t.number).halt_frame == halt
    assert pruner.model == model
