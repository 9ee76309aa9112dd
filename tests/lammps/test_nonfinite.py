"""Keyword nonfinite: what a NaN or infinite sample does, in a real LAMMPS, serial and on 2 ranks.

  * error (the default): an ERROR that names step, frame and value, and the two other settings;
  * stop: a warning, then the run ends on that step (as fix halt ends one) and the input script
    goes on: the next run runs in full, a new fix forecast follows a new trace;
  * continue: a warning, and the run goes on to its end with no decision after the bad frame.

After the bad frame the fix decides nothing more on that trace (it has a hole), also across a
restart file. Each case writes one `nonfinite` line to the decision file.

The samples come from a small Lennard-Jones system (its temperature, NaN on one step) or from
exact replays of a recorded campaign trace (replay/in.replay with -var badstep).
"""

from __future__ import annotations

import re

import pytest

from conftest import TINY_LJ, check_messages, lammps, read_decisions, require_ok
from test_fix_forecast import IRRELEVANT_RUN, campaign_frames, decision_lines, replay

SCRIPT = TINY_LJ + """\
variable        bad equal ternary(step=={bad},exp(1000)-exp(1000),v_t)
fix             fc all forecast 10 v_bad {model} file {fcfile} nonfinite {mode} {extra}
run             100
print           "NF_RUN1 step $(step) stop $(f_fc[9]) frames $(f_fc[2]) nonfinite $(f_fc[15])"
run             50
print           "NF_RUN2 step $(step) stop $(f_fc[9]) frames $(f_fc[2]) nonfinite $(f_fc[15])"
# the next trace of a campaign loop: a new fix forecast on a finite input
unfix           fc
fix             fc all forecast 10 v_t {model} file {fcfile} nonfinite {mode}
run             50
print           "NF_RUN3 step $(step) stop $(f_fc[9]) frames $(f_fc[2]) nonfinite $(f_fc[15])"
"""

BAD = 30   # step of the NaN sample: frame 3


def lj(venv, plugin, model, workdir, mode, np=1, extra=""):
    script = workdir / "in.nonfinite"
    script.write_text(SCRIPT.format(plugin=plugin, model=model, fcfile=workdir / "decisions.txt",
                                    mode=mode, bad=BAD, extra=extra))
    return lammps(venv, workdir, script, {}, np=np)


def numbers(row: dict) -> dict:
    return {k: int(float(v)) for k, v in row.items()}


def warnings(run, mode: str) -> list[str]:
    what = {"stop": "ending the run (nonfinite stop)", "continue": "the run goes on (nonfinite continue)"}[mode]
    return re.findall(rf"^WARNING: Fix forecast fc: input v_bad is not a finite number on step {BAD} "
                      rf"\(value -?nan, frame 3\): {re.escape(what)}; this fix decides nothing "
                      rf"more on this trace", run.output, re.M)


def nonfinite_line(decisions, mode: str):
    bad = [d for d in decisions if d.nonfinite]
    assert len(bad) == 1, decisions
    d = bad[0]
    assert (d.step, d.frame, d.stage, d.verdict, d.flags) == (BAD, 3, None, "-", [mode])
    return d


@pytest.mark.parametrize("np", [1, 2])
def test_nonfinite_stop_ends_the_run_and_the_script_goes_on(venv, plugin, model, tmp_path, np):
    run = require_ok(lj(venv, plugin, model, tmp_path, "stop", np=np))
    assert len(warnings(run, "stop")) == 1, run.output[-3000:]   # once, from rank 0
    assert "ERROR" not in run.text()
    # the run ended on the bad step; element 9 says why (3: a non-finite sample, not a halt)
    assert numbers(run.lines("NF_RUN1")[0]) == {"step": BAD, "stop": 3, "frames": 2, "nonfinite": BAD}
    # the next command ran: the following run runs in full, the fix samples nothing more
    assert numbers(run.lines("NF_RUN2")[0]) == {"step": BAD + 50, "stop": 3, "frames": 2, "nonfinite": BAD}
    # a new fix forecast follows its new trace from the start
    assert numbers(run.lines("NF_RUN3")[0]) == {"step": BAD + 100, "stop": 0, "frames": 5, "nonfinite": -1}
    decisions = read_decisions(tmp_path / "decisions.txt")
    nonfinite_line(decisions, "stop")
    headers = [ln for ln in (tmp_path / "decisions.txt").read_text().splitlines() if ln.startswith("# fix")]
    assert len(headers) == 2 and all("nonfinite stop" in h for h in headers), headers


@pytest.mark.parametrize("np", [1, 2])
def test_nonfinite_continue_runs_to_the_end(venv, plugin, model, tmp_path, np):
    # the warning is not a decision message: 'message no' does not silence it
    run = require_ok(lj(venv, plugin, model, tmp_path, "continue", np=np, extra="message no"))
    assert len(warnings(run, "continue")) == 1, run.output[-3000:]
    assert numbers(run.lines("NF_RUN1")[0]) == {"step": 100, "stop": 0, "frames": 2, "nonfinite": BAD}
    assert numbers(run.lines("NF_RUN2")[0]) == {"step": 150, "stop": 0, "frames": 2, "nonfinite": BAD}
    assert numbers(run.lines("NF_RUN3")[0]) == {"step": 200, "stop": 0, "frames": 5, "nonfinite": -1}
    nonfinite_line(read_decisions(tmp_path / "decisions.txt"), "continue")


@pytest.mark.parametrize("np", [1, 2])
def test_nonfinite_error_is_an_error(venv, plugin, model, tmp_path, np):
    run = lj(venv, plugin, model, tmp_path, "error", np=np)
    assert run.returncode != 0
    assert re.search(rf"Fix forecast fc: input v_bad is not a finite number on step {BAD} \(value "
                     r"-?nan, frame 3\)\. The model needs a finite sample every 10 steps: .* use "
                     r"'nonfinite stop' or 'nonfinite continue' to let the input script go on",
                     run.error()), run.error()
    assert not run.lines("NF_RUN1"), "the script must not go on"
    nonfinite_line(read_decisions(tmp_path / "decisions.txt"), "error")


# ------------------------------------------------------------------ on a recorded trace

FRAMES = 300
BAD_FRAME = 75   # between the screening decisions at frames 50 and 100


@pytest.fixture(scope="module")
def recorded(venv, plugin, model, wide_data, tmp_path_factory):
    """The campaign's most irrelevant run replayed under action advise, without a bad sample: the
    decisions a nonfinite run must agree with before the bad frame."""
    wd = tmp_path_factory.mktemp("nonfinite-ref")
    campaign_frames(wide_data, IRRELEVANT_RUN, wd / "frames.txt", n=FRAMES)
    run = require_ok(replay(venv, plugin, model, wd, wd / "frames.txt", fcopts="action advise"))
    decisions = read_decisions(wd / "decisions.txt")
    assert any(d.frame < BAD_FRAME for d in decisions) and any(d.frame > BAD_FRAME for d in decisions), \
        f"the reference must decide before and after frame {BAD_FRAME}: {decisions}"
    return wd, run, decisions


def check_no_decision_after_bad_frame(path, ref_path):
    """Before the bad frame the decisions are the reference's, line for line; then one nonfinite
    line, and nothing after it."""
    bad_step = 10 * BAD_FRAME
    lines = decision_lines(path)
    ref = [ln for ln in decision_lines(ref_path) if int(ln.split()[0]) < bad_step]
    assert lines[:-1] == ref
    assert lines[-1].split()[:4] == [str(bad_step), str(BAD_FRAME), "-", "nonfinite"], lines[-1]


@pytest.mark.parametrize("np", [1, 2])
def test_nonfinite_continue_no_decision_after_the_bad_frame(recorded, venv, plugin, model, tmp_path, np):
    ref_dir, _, _ = recorded
    run = require_ok(replay(venv, plugin, model, tmp_path, ref_dir / "frames.txt",
                            fcopts="action advise nonfinite continue", badstep=10 * BAD_FRAME, np=np))
    check_no_decision_after_bad_frame(tmp_path / "decisions.txt", ref_dir / "decisions.txt")
    decisions = read_decisions(tmp_path / "decisions.txt")
    assert decisions[-1].flags == ["continue"]
    check_messages(run.log, decisions)
    last = run.lines("REPLAY")[-1]
    # the run went through every frame; the fix kept its last decision and counted no frame after
    assert int(last["step"]) == 10 * FRAMES
    assert float(last["frames"]) == BAD_FRAME - 1 and float(last["nonfinite"]) == 10 * BAD_FRAME
    assert float(last["stop"]) == 0.0


def test_nonfinite_stop_ends_a_replay_loop(recorded, venv, plugin, model, tmp_path):
    ref_dir, _, _ = recorded
    run = require_ok(replay(venv, plugin, model, tmp_path, ref_dir / "frames.txt",
                            fcopts="action advise nonfinite stop", badstep=10 * BAD_FRAME))
    check_no_decision_after_bad_frame(tmp_path / "decisions.txt", ref_dir / "decisions.txt")
    last = run.lines("REPLAY")[-1]
    assert int(last["step"]) == 10 * BAD_FRAME and float(last["stop"]) == 3.0
    assert int(run.lines("REPLAY_END")[0]["step"]) == 10 * BAD_FRAME


def test_nonfinite_continue_survives_a_restart(recorded, venv, plugin, model, tmp_path):
    """The hole is part of the trace: a run continued from a restart file written after the bad
    frame decides nothing, where the uninterrupted reference still decides."""
    ref_dir, ref_run, _ = recorded
    rows = (ref_dir / "frames.txt").read_text().splitlines(keepends=True)
    split = 90   # after the bad frame, before the reference's next decision (frame 100)
    (tmp_path / "head.txt").write_text("".join(rows[:split]))
    (tmp_path / "tail.txt").write_text("".join(rows[split:]))
    fc = tmp_path / "decisions.txt"
    opts = "action advise nonfinite continue"
    require_ok(replay(venv, plugin, model, tmp_path / "head", tmp_path / "head.txt", fcopts=opts,
                      fcfile=fc, restart_out=tmp_path / "r.restart", badstep=10 * BAD_FRAME))
    cont = require_ok(replay(venv, plugin, model, tmp_path / "tail", tmp_path / "tail.txt",
                             fcopts=opts, fcfile=fc, restart_in=tmp_path / "r.restart"))
    assert "Resetting global fix info from restart file" in cont.log
    check_no_decision_after_bad_frame(fc, ref_dir / "decisions.txt")
    assert any(int(ln.split()[0]) > 10 * split for ln in decision_lines(ref_dir / "decisions.txt"))
    last = cont.lines("REPLAY")[-1]
    assert int(last["step"]) == 10 * FRAMES
    assert float(last["nonfinite"]) == 10 * BAD_FRAME and float(last["frames"]) == BAD_FRAME - 1
