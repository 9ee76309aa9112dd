"""Reversible halts in campaign mode: a run the campaign's model halts writes its restart file
(fix keyword `restart FILE`, the input's `write_restart` after the halt), `simforecast campaign
status` lists it with that file, and a resume (`read_restart`, the same fix ID, run to the end)
finishes it: the finished record replaces the halted one, keeps the halt as resumed, and the
audited precision does not count it. Serial and under `mpiexec -n 2`.

The campaign is seeded through the CLI with the first 120 runs of the wide campaign (target
precision 0.7, so its first model certifies halts at 600 frames); the live run replays the frames
of a later wide run that this model halts at frame 600 (run_0246) on a one-atom system, one frame
per `run 10`, as test_campaign_fix.py does. The last test runs the slurry example itself
(examples/slurry/in.nemd, halted at frame 600 on the dense system at rate 0.02 by the same
campaign with the column renamed f_out, then examples/slurry/in.resume under two ranks).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BUILTIN_MARKER, ROOT, lammps, require_ok
from test_campaign_fix import audited, expect_error, record_of, status

SEED_RUNS = 120
HALTED_TRACE = "run_0246.dat"   # model-0001 of this campaign halts it at frame 600
HALT_FRAME = 600
LIVE_FRAMES = 1000
THRESHOLD = 33.1

SYSTEM = """\
plugin load     ${plugin}
units           lj
atom_style      atomic
"""

LOOP = """\
pair_style      zero 1.0
pair_coeff      * *
thermo          0
variable        frame file ${frames}
variable        eta equal v_frame
fix             fc all forecast 10 v_eta campaign ${camp} name ${name} restart ${restart}
# one frame a run: the runs are parts of one declared run of ${stop} steps
label           loop
run             10 start 0 stop ${stop} post no
if "$(f_fc[9]) > 0 || $(step) >= ${stop}" then "jump SELF done"
next            frame
jump            SELF loop
label           done
# a halted run leaves its restart file: a halt costs a resume, not a rerun
if "$(f_fc[9]) == 1" then "write_restart ${restart}"
print           "LIVE_END step $(step) model $(f_fc[23]) stop $(f_fc[9]) frames $(f_fc[2])"
"""

FIRST = SYSTEM + """\
region          box block 0 4 0 4 0 4
create_box      1 box
create_atoms    1 single 1 1 1
mass            1 1.0
""" + LOOP

RESUME = SYSTEM + """\
read_restart    ${restart}
""" + LOOP


def cli(simforecast_bin: Path, *args: str) -> str:
    res = subprocess.run([str(simforecast_bin), *args], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture(scope="module")
def seeded(simforecast_bin, wide_data, tmp_path_factory) -> Path:
    """A campaign of 120 finished wide runs whose first model halts; copied per test."""
    camp = tmp_path_factory.mktemp("seeded") / "camp"
    cli(simforecast_bin, "campaign", "init", str(camp), "--threshold", str(THRESHOLD),
        "--first-model-at", str(SEED_RUNS), "--retrain-every", "1000", "--target-precision", "0.7")
    traces = sorted((wide_data / "traces").glob("run_*.dat"))[:SEED_RUNS]
    assert HALTED_TRACE not in {t.name for t in traces}
    for t in traces:
        out = cli(simforecast_bin, "campaign", "record", str(camp), str(t))
    assert "published model-0001" in out
    return camp


@pytest.mark.parametrize("np", [1, 2])
def test_a_halted_run_resumes_from_its_restart_file_and_replaces_its_record(
        np, venv, plugin, simforecast_bin, wide_data, seeded, tmp_path):
    camp = tmp_path / "camp"
    subprocess.run(["cp", "-a", str(seeded), str(camp)], check=True)
    rows = [line.split() for line in (wide_data / "traces" / HALTED_TRACE).read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    values = [float(v) for _, v in rows[:LIVE_FRAMES]]
    mu = sum(values) / len(values)   # the campaign's tail (1000 frames) is the whole run
    (tmp_path / "frames.txt").write_text("".join(f"{v!r}\n" for v in values))
    (tmp_path / "after.txt").write_text("".join(f"{v!r}\n" for v in values[HALT_FRAME:]))
    (tmp_path / "in.first").write_text(FIRST)
    (tmp_path / "in.resume").write_text(RESUME)
    name = next(f"doomed_{k}" for k in range(100) if not audited(f"doomed_{k}"))
    restart = tmp_path / f"{name}.restart"
    common = {"plugin": plugin, "camp": camp, "name": name, "restart": restart,
              "stop": 10 * LIVE_FRAMES}
    before = status(simforecast_bin, camp)

    # 1. the model halts the run; the input writes its restart file
    run = require_ok(lammps(venv, tmp_path / "first", tmp_path / "in.first",
                            {**common, "frames": tmp_path / "frames.txt"}, np=np))
    (end,) = run.lines("LIVE_END")
    assert (int(end["step"]), float(end["stop"]), float(end["model"])) == (10 * HALT_FRAME, 1, 1)
    assert restart.is_file()
    rec = record_of(camp, name)
    assert rec["outcome"] == {"Halted": {"frame": HALT_FRAME}} and rec["restart"] == str(restart)
    s = status(simforecast_bin, camp)
    assert s["halted_runs"] == [{"run_id": name, "frame": HALT_FRAME, "restart": str(restart)}]
    text = cli(simforecast_bin, "campaign", "status", str(camp))
    assert f"  {name} at frame {HALT_FRAME}: restart {restart}" in text, text

    # the same name again without the restart file is refused, before anything runs
    again = lammps(venv, tmp_path / "again", tmp_path / "in.first",
                   {**common, "frames": tmp_path / "frames.txt", "restart": tmp_path / "x"}, np=np)
    expect_error(again, rf"run {name} is recorded as halted after {HALT_FRAME} frames in campaign "
                        r"'.*': resume it from the restart file")

    # 2. the resume: read_restart, the same fix, run to the end; it acts on nothing
    run = require_ok(lammps(venv, tmp_path / "resume", tmp_path / "in.resume",
                            {**common, "frames": tmp_path / "after.txt"}, np=np))
    assert f"run {name} is recorded as halted after {HALT_FRAME} frames: it resumes" in run.output
    (end,) = run.lines("LIVE_END")
    assert (int(end["step"]), float(end["stop"])) == (10 * LIVE_FRAMES, 0)
    assert int(float(end["frames"])) == LIVE_FRAMES
    assert not (tmp_path / "resume" / f"forecast-campaign-{name}.trace").exists()
    assert re.search(rf"recorded {name}: finished, {LIVE_FRAMES} frames; would halt at frame "
                     rf"{HALT_FRAME} \(resumed from its restart file: ran to the end\) \(model-0001\)"
                     r" — replacing its halted record", run.output), run.output[-3000:]

    # the finished record replaced the halted one: the whole trace, μ, the halt kept as resumed
    rec = record_of(camp, name)
    assert rec["outcome"] == "Finished" and rec["frames"] == LIVE_FRAMES
    assert rec["declared_len"] == LIVE_FRAMES and rec["model"] == 1 and "restart" not in rec
    assert rec["overridden"] == [{"Halt": {"frame": HALT_FRAME}}, "Resumed"]
    assert rec["mu"] == pytest.approx(mu, rel=1e-12)
    trace = [l.split() for l in (camp / "runs" / f"{name}.trace").read_text().splitlines()
             if not l.startswith("#")]
    assert [float(v) for _, v in trace] == values
    assert [int(s) for s, _ in trace] == [10 * (i + 1) for i in range(LIVE_FRAMES)]

    s = status(simforecast_bin, camp)
    assert (s["runs"], s["halted"], s["finished"]) == (SEED_RUNS + 1, 0, SEED_RUNS + 1)
    assert s["halted_runs"] == []
    relevant = int(mu <= THRESHOLD)
    assert (s["resumed"], s["resumed_relevant"], s["audited"]) == (1, relevant, 0)
    # not an audit draw: the audited precision is what it was
    assert s["halting_precision"] == before["halting_precision"]
    assert s["labelled"] == before["labelled"] + 1
    text = cli(simforecast_bin, "campaign", "status", str(camp))
    assert f"resumed halts: 1 ({relevant} turned out relevant" in text, text
    log = (camp / "log").read_text()
    assert len(re.findall(rf"recorded {name}: halted at frame {HALT_FRAME}", log)) == 1
    assert len(re.findall(rf"resumed {name}: finished", log)) == 1

    # a second resume of the finished run is refused (the same name is recorded)
    again = lammps(venv, tmp_path / "twice", tmp_path / "in.resume",
                   {**common, "frames": tmp_path / "after.txt"}, np=np)
    expect_error(again, rf"run '{name}' is already recorded in this campaign")


def test_a_campaign_restart_record_of_another_run_or_mode_is_refused(
        venv, plugin, simforecast_bin, seeded, tmp_path, wide_data):
    camp = tmp_path / "camp"
    subprocess.run(["cp", "-a", str(seeded), str(camp)], check=True)
    rows = [line.split() for line in (wide_data / "traces" / HALTED_TRACE).read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    (tmp_path / "frames.txt").write_text("".join(f"{float(v)!r}\n" for _, v in rows[:LIVE_FRAMES]))
    (tmp_path / "in.first").write_text(FIRST)
    name = next(f"doomed_{k}" for k in range(100) if not audited(f"doomed_{k}"))
    restart = tmp_path / "halt.restart"
    require_ok(lammps(venv, tmp_path / "first", tmp_path / "in.first", {
        "plugin": plugin, "camp": camp, "name": name, "restart": restart,
        "frames": tmp_path / "frames.txt", "stop": 10 * LIVE_FRAMES}))
    assert restart.is_file()
    other = next(f"doomed_{k}" for k in range(100, 200) if not audited(f"doomed_{k}"))
    cases = {
        "other name": (f"fix fc all forecast 10 v_eta campaign {camp} name {other}",
                       rf"the restart file holds campaign run {name}, but this fix names run "
                       rf"{other}"),
        "model mode": (f"fix fc all forecast 10 v_eta {camp / 'models' / 'model-0001.sfm'}",
                       r"holds the state of a fix forecast in campaign mode under this ID: define "
                       r"it with 'campaign DIR name RUNID'"),
    }
    for case, (fix, pattern) in cases.items():
        script = tmp_path / f"in.{case.replace(' ', '_')}"
        script.write_text(SYSTEM + f"read_restart {restart}\npair_style zero 1.0\npair_coeff * *\n"
                          "variable eta equal 1.0\n" + fix + "\nrun 10\n")
        expect_error(lammps(venv, tmp_path / case.replace(" ", "_"), script,
                            {"plugin": plugin}), pattern)
    # the reverse: a restart record of a fix with a model file, read by a campaign fix
    model_restart = tmp_path / "model.restart"
    script = tmp_path / "in.model_mode"
    script.write_text(FIRST.split("pair_style")[0] + "pair_style zero 1.0\npair_coeff * *\n"
                      "variable eta equal 1.0\n"
                      f"fix fc all forecast 10 v_eta {camp / 'models' / 'model-0001.sfm'}\n"
                      f"run 20\nwrite_restart {model_restart}\n")
    require_ok(lammps(venv, tmp_path / "model_mode", script, {"plugin": plugin}))
    script = tmp_path / "in.reverse"
    script.write_text(SYSTEM + f"read_restart {model_restart}\npair_style zero 1.0\n"
                      "pair_coeff * *\nvariable eta equal 1.0\n"
                      f"fix fc all forecast 10 v_eta campaign {camp} name {other}\nrun 10\n")
    expect_error(lammps(venv, tmp_path / "reverse", script, {"plugin": plugin}),
                 r"holds the state of a fix forecast with a model file under this ID, not of the "
                 r"campaign mode")
    # the halted record is untouched, and nothing else was recorded
    assert record_of(camp, name)["outcome"] == {"Halted": {"frame": HALT_FRAME}}
    assert not (camp / "runs" / f"{other}.json").exists()


# ------------------------------------------------------------- the slurry example, end to end

SLURRY = ROOT / "examples" / "slurry"


@pytest.fixture(scope="module")
def seeded_f_out(simforecast_bin, wide_data, tmp_path_factory) -> Path:
    """The same seeded campaign for in.nemd's input f_out (the wide traces' column renamed)."""
    base = tmp_path_factory.mktemp("seeded_f_out")
    camp = base / "camp"
    cli(simforecast_bin, "campaign", "init", str(camp), "--threshold", str(THRESHOLD),
        "--first-model-at", str(SEED_RUNS), "--retrain-every", "1000", "--target-precision", "0.7")
    for t in sorted((wide_data / "traces").glob("run_*.dat"))[:SEED_RUNS]:
        renamed = base / t.name
        renamed.write_text(t.read_text().replace("# TimeStep v_eta", "# TimeStep f_out", 1))
        out = cli(simforecast_bin, "campaign", "record", str(camp), str(renamed))
    assert "published model-0001" in out
    return camp


def test_the_slurry_example_resumes_a_halted_run(venv, plugin, simforecast_bin, seeded_f_out,
                                                 tmp_path):
    """examples/slurry: in.nemd halted by the campaign writes RUNID.restart; in.resume (under
    two ranks) finishes the run and replaces its record."""
    camp = tmp_path / "camp"
    subprocess.run(["cp", "-a", str(seeded_f_out), str(camp)], check=True)
    builtin = (venv / BUILTIN_MARKER).exists()
    common = {"plugin": "none" if builtin else plugin, "here": SLURRY,
              "system": SLURRY / "demo-dense.vars", "rate": 0.02, "nframes": LIVE_FRAMES,
              "campaign": camp, "name": "dense_1"}
    first = require_ok(lammps(venv, tmp_path / "first", SLURRY / "in.nemd", common))
    assert f"recorded dense_1: halted at frame {HALT_FRAME} (model-0001)" in first.output
    restart = tmp_path / "first" / "dense_1.restart"
    assert restart.is_file()
    s = status(simforecast_bin, camp)
    assert s["halted_runs"] == [{"run_id": "dense_1", "frame": HALT_FRAME, "restart": str(restart)}]
    halted_trace = (camp / "runs" / "dense_1.trace").read_text().splitlines()

    run = require_ok(lammps(venv, tmp_path / "resume", SLURRY / "in.resume",
                            {**common, "restart": restart}, np=2))
    assert f"resuming run dense_1 at step {10 * HALT_FRAME} of {10 * LIVE_FRAMES}" in run.output
    assert "replacing its halted record" in run.output
    rec = record_of(camp, "dense_1")
    assert rec["outcome"] == "Finished" and rec["frames"] == LIVE_FRAMES
    assert rec["declared_len"] == LIVE_FRAMES
    assert rec["overridden"] == [{"Halt": {"frame": HALT_FRAME}}, "Resumed"]
    trace = (camp / "runs" / "dense_1.trace").read_text().splitlines()
    # the frames up to the halt are kept as they were; the resumed ones follow at their steps
    assert trace[2:2 + HALT_FRAME] == halted_trace[2:]
    assert [int(l.split()[0]) for l in trace[2:]] == [10 * (i + 1) for i in range(LIVE_FRAMES)]
    s = status(simforecast_bin, camp)
    assert (s["halted"], s["resumed"], s["audited"]) == (0, 1, 0)
    assert s["resumed_relevant"] == int(rec["mu"] <= THRESHOLD)
