"""The model-free mode of fix forecast (`convergence` in place of the model file), in a real LAMMPS
(plugin and compiled-in):

  * exact replays of recorded campaign traces (replay/in.replay): the fix stops where
    `simforecast convergence --json` stops the same trace, on the same estimate, with any
    every/min/tolerance/drift; a real plateau is stopped within tolerance by `after stop` with an
    interval that covers the run's later mean; a drifting real run and a noisy synthetic one run
    on to their end; the default `after continue` only reports, and on a run whose own statistics
    converge early and wrongly (the slurry's slow drift) the run goes on to its end;
  * identical decisions serial and `mpiexec -n 2`, and across a restart file;
  * a live Lennard-Jones run whose temperature plateaus is ended by `after stop`;
  * every line and message says the stop is "converged by own statistics (not calibrated)".
"""

from __future__ import annotations

import json
import math
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ABSENT_AS_NUMBER, lammps, predict, require_ok, write_trace
from test_fix_forecast import campaign_frames, decision_lines, replay

# Runs of the wide campaign (data/nemd-wide-public), chosen with `simforecast convergence`:
PLATEAU_RUN = 102   # converges at frame 250 on its own statistics, mu inside the interval
DRIFTING_RUN = 18   # never converges: checked to its last frame (1790)
EARLY_RUN = 0       # converges at frame 250 at 0.93 while its later mean is 3.79

VERDICTS = {"converged", "too-few-blocks", "too-few-frames", "zero-mean", "too-wide", "drifting"}
OWN = "converged by own statistics (not calibrated)"


@dataclass
class Check:
    step: int
    frame: int
    kind: str        # check or nonfinite
    verdict: str
    mu: float
    mu_low: float
    mu_high: float
    level: float
    relative_half_width: float
    relative_drift: float
    start: int | None
    inefficiency: float
    flags: list[str]


def _value(word: str, line: str) -> float:
    assert not ABSENT_AS_NUMBER.fullmatch(word), f"absent value written as a number in {line!r}"
    return math.nan if word == "none" else float(word)


def read_checks(path: Path) -> list[Check]:
    """The decision file of the convergence mode: its header says what the mode is, then one line
    per check (or non-finite sample) in 13 columns."""
    text = path.read_text()
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert any("converged by own statistics, not calibrated" in h for h in header), header
    assert ("# step frame kind verdict mu mu_low mu_high level relative_half_width relative_drift "
            "start inefficiency flags") in header, header
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        w = line.split()
        assert len(w) == 13, f"malformed convergence line: {line!r}"
        assert w[2] in ("check", "nonfinite"), line
        assert w[2] == "nonfinite" or w[3] in VERDICTS, line
        out.append(Check(int(w[0]), int(w[1]), w[2], w[3], *(_value(x, line) for x in w[4:10]),
                         None if w[10] in ("none", "-") else int(w[10]), _value(w[11], line),
                         [] if w[12] == "-" else w[12].split(",")))
    return out


def cli_convergence(simforecast_bin, trace: Path, *args) -> dict:
    """`simforecast convergence --json` on one trace: where (and on what) its own statistics stop
    it."""
    res = subprocess.run([str(simforecast_bin), "convergence", "--json", *args, str(trace)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"simforecast convergence failed: {res.stderr}", pytrace=False)
    (run,) = json.loads(res.stdout)["runs_at_min_frames"]
    return run


def later_mean(rows) -> float:
    """The run's result: the mean of its last 1000 frames."""
    tail = [v for _, v in rows[-1000:]]
    return sum(tail) / len(tail)


def conv_replay(venv, plugin, workdir, frames, opts="", **kw):
    return replay(venv, plugin, "convergence", workdir, frames, fcopts=opts or "message yes", **kw)


def check_against_cli(checks: list[Check], cli: dict, every: int, min_frames: int = 0):
    """The fix checked at every multiple of `every` from `min_frames` up to the CLI's stop, and its
    converged check is the CLI's stop, number for number (17 significant digits: exact)."""
    stop = cli["stop_frame"]
    made = [c for c in checks if c.kind == "check"]
    last = stop if stop is not None else made[-1].frame
    assert [c.frame for c in made] == [f for f in range(every, last + 1, every) if f >= min_frames]
    assert all(c.step == 10 * c.frame for c in made)
    converged = [c for c in made if c.verdict == "converged"]
    if stop is None:
        assert not converged, converged
        return None
    (c,) = converged
    assert c.frame == stop and c is made[-1]
    e = cli["estimate"]
    assert (c.mu, c.level, c.relative_half_width, c.relative_drift, c.inefficiency) == \
        (e["mean"], e["level"], e["relative_half_width"], e["relative_drift"], e["inefficiency"])
    assert (c.mu_low, c.mu_high) == (e["mean"] - e["half_width"], e["mean"] + e["half_width"])
    assert c.start == e["start"] + 1   # the first frame after equilibration, 1-based
    assert {"own-statistics", "not-calibrated"} <= set(c.flags)
    return c


def test_plateau_is_stopped_within_tolerance_like_the_cli(venv, plugin, wide_data, simforecast_bin,
                                                         tmp_path):
    rows = campaign_frames(wide_data, PLATEAU_RUN, tmp_path / "frames.txt")
    cli = cli_convergence(simforecast_bin, wide_data / "traces" / f"run_{PLATEAU_RUN:04d}.dat")
    run = require_ok(conv_replay(venv, plugin, tmp_path, tmp_path / "frames.txt",
                                 "after stop message yes"))
    checks = read_checks(tmp_path / "decisions.txt")
    c = check_against_cli(checks, cli, 50)
    assert c is not None and "stop" in c.flags
    # within tolerance, and the run's later mean (which the fix never saw) is in the interval
    assert c.relative_half_width <= 0.25
    mu = later_mean(rows)
    assert c.mu_low <= mu <= c.mu_high, (c, mu)
    # the run ended at that check, and the vector says so and carries the estimate
    last = run.lines("REPLAY")[-1]
    assert int(last["step"]) == 10 * c.frame == int(run.lines("REPLAY_END")[0]["step"])
    assert float(last["stop"]) == 2 and float(last["state"]) == 3
    assert float(last["frames"]) == c.frame
    assert float(last["own_mu"]) == c.mu
    assert (float(last["own_mu_low"]), float(last["own_mu_high"])) == (c.mu_low, c.mu_high)
    assert (float(last["mu_low"]), float(last["mu_high"])) == (c.mu_low, c.mu_high)
    assert float(last["own_step"]) == c.step == float(last["decision_step"])
    # own statistics (SF_EVIDENCE_OWN_STATISTICS), within the tolerance in force (the default)
    assert float(last["evidence"]) == 1 and float(last["within"]) == 1
    assert float(last["tolerance"]) == 0.25
    # no model, no screening: those elements say so
    assert (float(last["vote"]), float(last["verdict"]), float(last["stage"])) == (-1, -1, -1)
    assert (float(last["mu_minus_sigma"]), float(last["mu_plus_sigma"])) == (0, 0)
    # one message, at the converged check, that says what it is and what the fix does
    messages = [ln for ln in run.log.splitlines() if ln.startswith("fix forecast fc step ")]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"fix forecast fc step {c.step} frame {c.frame}: {OWN}: ")
    assert messages[0].endswith("-> ending the run (after stop: the estimate is written)")
    assert "not calibrated" in run.log.split("fix forecast fc step")[0]   # said at the fix command


@pytest.mark.parametrize("run_id", [DRIFTING_RUN])
def test_drifting_run_runs_to_its_end(venv, plugin, wide_data, simforecast_bin, tmp_path, run_id):
    rows = campaign_frames(wide_data, run_id, tmp_path / "frames.txt")
    cli = cli_convergence(simforecast_bin, wide_data / "traces" / f"run_{run_id:04d}.dat")
    assert cli["stop_frame"] is None
    run = require_ok(conv_replay(venv, plugin, tmp_path, tmp_path / "frames.txt", "after stop"))
    checks = read_checks(tmp_path / "decisions.txt")
    check_against_cli(checks, cli, 50)
    assert checks[-1].frame == len(rows) // 50 * 50
    assert {c.verdict for c in checks} <= {"too-wide", "drifting"}
    assert all(c.flags == [] for c in checks)
    last = run.lines("REPLAY")[-1]
    assert int(last["step"]) == 10 * len(rows)
    assert float(last["stop"]) == 0 and float(last["state"]) == 0
    assert float(last["evidence"]) == 1 and float(last["within"]) == 0
    assert float(last["own_mu"]) == checks[-1].mu and float(last["own_step"]) == checks[-1].step
    # the forecast interval of elements 7 and 8 is only given once converged
    assert (float(last["mu_low"]), float(last["mu_high"])) == (0, 0)
    assert OWN not in run.log


def test_noisy_synthetic_run_runs_to_its_end(venv, plugin, tmp_path):
    """White noise of sd 10 around 1: its mean cannot be pinned within ±25 % in 600 frames
    (1.645 · 10 / sqrt(600) = 0.67 > 0.25)."""
    rng = random.Random(7)
    values = [1.0 + rng.gauss(0.0, 10.0) for _ in range(600)]
    (tmp_path / "frames.txt").write_text("".join(f"{v!r}\n" for v in values))
    run = require_ok(conv_replay(venv, plugin, tmp_path, tmp_path / "frames.txt", "after stop"))
    checks = read_checks(tmp_path / "decisions.txt")
    assert [c.frame for c in checks] == list(range(50, 601, 50))
    assert {c.verdict for c in checks} <= {"too-wide", "zero-mean", "drifting"}
    assert "too-wide" in {c.verdict for c in checks}
    assert all(c.relative_half_width > 0.25 for c in checks if c.verdict == "too-wide")
    last = run.lines("REPLAY")[-1]
    assert int(last["step"]) == 6000 and float(last["stop"]) == 0 and float(last["within"]) == 0


def test_default_only_reports_an_early_stop_and_the_run_goes_on(venv, plugin, wide_data,
                                                                simforecast_bin, tmp_path):
    """The slurry drifts for hundreds of frames: own statistics converge at frame 250 far from the
    run's later mean. Under the default `after continue` the fix reports it, says it is not
    calibrated, checks nothing more, and the run goes on to its end."""
    rows = campaign_frames(wide_data, EARLY_RUN, tmp_path / "frames.txt")
    cli = cli_convergence(simforecast_bin, wide_data / "traces" / f"run_{EARLY_RUN:04d}.dat")
    run = require_ok(conv_replay(venv, plugin, tmp_path, tmp_path / "frames.txt"))
    checks = read_checks(tmp_path / "decisions.txt")
    c = check_against_cli(checks, cli, 50)
    assert c is not None and "stop" not in c.flags and checks[-1] is c
    mu = later_mean(rows)
    assert not (c.mu_low <= mu <= c.mu_high), "this run is the example of a wrong early stop"
    last = run.lines("REPLAY")[-1]
    assert int(last["step"]) == 10 * len(rows) and float(last["frames"]) == len(rows)
    assert float(last["stop"]) == 0 and float(last["state"]) == 3 and float(last["within"]) == 1
    assert float(last["own_mu"]) == c.mu and float(last["own_step"]) == c.step
    (message,) = [ln for ln in run.log.splitlines() if ln.startswith("fix forecast fc step ")]
    assert OWN in message and message.endswith("-> the run goes on (after continue)")


def test_keywords_decide_as_the_cli_options(venv, plugin, wide_data, simforecast_bin, tmp_path):
    """every, min, tolerance and drift are `simforecast convergence`'s --every, --min-frames,
    --tolerance and --drift: the same trace stops at the same frame on the same estimate."""
    rows = campaign_frames(wide_data, 222, tmp_path / "frames.txt")
    cli = cli_convergence(simforecast_bin, wide_data / "traces" / "run_0222.dat", "--every", "25",
                          "--min-frames", "300", "--tolerance", "0.1", "--drift", "0.2")
    assert cli["stop_frame"] is not None and cli["stop_frame"] > 300
    run = require_ok(conv_replay(venv, plugin, tmp_path, tmp_path / "frames.txt",
                                 "every 25 min 300 tolerance 0.1 drift 0.2 after stop"))
    checks = read_checks(tmp_path / "decisions.txt")
    c = check_against_cli(checks, cli, 25, min_frames=300)
    assert c.relative_half_width <= 0.1 and c.relative_drift <= 0.2
    assert int(run.lines("REPLAY_END")[0]["step"]) == 10 * c.frame < 10 * len(rows)
    assert float(run.lines("REPLAY")[-1]["tolerance"]) == 0.1
    header = (tmp_path / "decisions.txt").read_text().splitlines()[0]
    assert "every 25, min 300, tolerance 0.1, drift 0.2, level 0.9, after stop" in header


def test_two_ranks_decide_as_one(venv, plugin, wide_data, tmp_path):
    campaign_frames(wide_data, EARLY_RUN, tmp_path / "frames.txt", n=600)
    one = require_ok(conv_replay(venv, plugin, tmp_path / "np1", tmp_path / "frames.txt"))
    two = require_ok(conv_replay(venv, plugin, tmp_path / "np2", tmp_path / "frames.txt", np=2))
    lines = decision_lines(tmp_path / "np1" / "decisions.txt")
    assert lines and any(" converged " in ln for ln in lines)
    assert lines == decision_lines(tmp_path / "np2" / "decisions.txt")
    assert one.lines("REPLAY") == two.lines("REPLAY")


def test_restart_split_decides_like_uninterrupted(venv, plugin, wide_data, tmp_path):
    """Split at frame 120 (between checks, before the estimator's first pairing at 256 and the
    converged check at 250), continued from the restart file: the same checks, the same vector."""
    rows = campaign_frames(wide_data, EARLY_RUN, tmp_path / "all.txt", n=600)
    split = 120
    (tmp_path / "head.txt").write_text("".join(f"{v!r}\n" for _, v in rows[:split]))
    (tmp_path / "tail.txt").write_text("".join(f"{v!r}\n" for _, v in rows[split:]))
    ref = require_ok(conv_replay(venv, plugin, tmp_path / "whole", tmp_path / "all.txt"))
    part = tmp_path / "part"
    fc = part / "decisions.txt"
    require_ok(conv_replay(venv, plugin, part, tmp_path / "head.txt", fcfile=fc,
                           restart_out=tmp_path / "r.restart"))
    cont = require_ok(conv_replay(venv, plugin, part / "cont", tmp_path / "tail.txt", fcfile=fc,
                                  restart_in=tmp_path / "r.restart"))
    assert "Resetting global fix info from restart file" in cont.log
    assert decision_lines(fc) == decision_lines(tmp_path / "whole" / "decisions.txt")
    assert cont.lines("REPLAY")[-1] == ref.lines("REPLAY")[-1]


def test_nonfinite_sample_in_convergence_mode(venv, plugin, wide_data, tmp_path):
    campaign_frames(wide_data, DRIFTING_RUN, tmp_path / "frames.txt", n=300)
    run = require_ok(conv_replay(venv, plugin, tmp_path, tmp_path / "frames.txt",
                                 "nonfinite stop", badstep=1230))
    checks = read_checks(tmp_path / "decisions.txt")
    assert [c.frame for c in checks if c.kind == "check"] == [50, 100]
    bad = checks[-1]
    assert (bad.kind, bad.step, bad.frame, bad.verdict, bad.flags) == \
        ("nonfinite", 1230, 123, "-", ["stop"])
    last = run.lines("REPLAY")[-1]
    assert float(last["stop"]) == 3 and float(last["nonfinite"]) == 1230
    assert "The convergence estimator needs a finite sample" not in run.text()   # not an error


LJ_FLUID = """
plugin load     ${plugin}
units           lj
atom_style      atomic
lattice         fcc 0.8442
region          box block 0 5 0 5 0 5
create_box      1 box
create_atoms    1 box
mass            1 1.0
velocity        all create 1.6 4928459 loop geom
pair_style      lj/cut 2.5
pair_coeff      1 1 1.0 1.0 2.5
fix             nve all nve
thermo          0
variable        t equal temp
fix             fc all forecast 2 v_t convergence file ${fcfile} after stop
run             20000
print           "LJ_RUN step $(step) stop $(f_fc[9]) state $(f_fc[1]) mu $(f_fc[16]:%.17g) low $(f_fc[17]:%.17g) high $(f_fc[18]:%.17g) evidence $(f_fc[20]) within $(f_fc[21])"
run             100
print           "LJ_NEXT step $(step)"
"""


def test_live_lennard_jones_plateau_is_stopped(venv, plugin, tmp_path):
    """A real simulation: an fcc lattice melts and its temperature settles within a few hundred
    steps; the fix stops the run at its first converged check and the next run proceeds."""
    script = tmp_path / "in.lj"
    script.write_text(LJ_FLUID)
    fcfile = tmp_path / "decisions.txt"
    run = require_ok(lammps(venv, tmp_path, script, {"plugin": plugin, "fcfile": fcfile}))
    checks = read_checks(fcfile)
    c = checks[-1]
    assert c.verdict == "converged" and "stop" in c.flags
    assert all(x.verdict != "converged" for x in checks[:-1])
    (r,) = run.lines("LJ_RUN")
    assert int(r["step"]) == c.step < 20000 and float(r["stop"]) == 2
    assert float(r["mu"]) == c.mu and float(r["within"]) == 1 and float(r["evidence"]) == 1
    assert c.relative_half_width <= 0.25 and c.start is not None and c.start > 1
    # the melted fluid's temperature is far below the initial 1.6 (the lattice took the energy)
    assert 0.5 < c.mu < 1.2, c
    assert int(run.lines("LJ_NEXT")[0]["step"]) == c.step + 100


def test_model_mode_vector_says_its_evidence(venv, plugin, model, wide_data, simforecast_bin,
                                             tmp_path):
    """With a model file, element 20 says the estimate rests on the model (SF_EVIDENCE_MODEL = 0;
    -1 before) once it has forecast, element 21 whether that forecast met the tolerance in force
    (predict's `within_tolerance`), element 22 that tolerance (the model's: 1.0 for the test model)
    from the start, and the own-statistics elements 16 to 19 stay empty."""
    rows = campaign_frames(wide_data, 186, tmp_path / "frames.txt", n=400)
    run = require_ok(replay(venv, plugin, model, tmp_path, tmp_path / "frames.txt",
                            fcopts="action advise"))
    pred = predict(simforecast_bin, model, write_trace(tmp_path / "trace.dat", rows))
    forecast = [e for e in pred["events"] if e.get("forecast")]
    assert forecast, pred["events"]
    for row in run.lines("REPLAY"):
        step = int(row["step"])
        assert (float(row["own_mu"]), float(row["own_mu_low"]), float(row["own_mu_high"]),
                float(row["own_step"])) == (0, 0, 0, -1)
        made = [e["forecast"] for e in forecast if e["step"] <= step]
        assert float(row["tolerance"]) == 1.0, row
        if not made:
            assert (float(row["evidence"]), float(row["within"])) == (-1, 0), row
        else:
            assert made[-1]["evidence"] == "Model" and made[-1]["tolerance"] == 1.0, made[-1]
            assert float(row["evidence"]) == 0, row
            assert float(row["within"]) == float(made[-1]["within_tolerance"]) == 1, row
