"""Decisions a user can trust, in a real LAMMPS (plugin and compiled-in): a stage that did not
reach its halting-precision target never halts, and a trace unlike the training set is refused.

  * a model whose halting stage cannot reach its target (default options on the first 200 frames,
    asking for more true out-of-fold halts than the 250 shipped traces hold, so training writes
    the stage as advisory) watches the campaign's worst run with `action halt`: it reports its
    irrelevant verdicts as advisory and never stops the run;
  * a trace nothing like the training traces (a constant far above every training viscosity)
    is flagged out of distribution at every stage: no halt, no forecast, f_ID[10] = 1.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import THRESHOLD, check_messages, lammps, read_decisions, require_ok
from test_fix_forecast import IRRELEVANT_RUN, NRUN, nemd


@pytest.fixture(scope="module")
def default_model(simforecast_bin, wide_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("default-model") / "default.sfm"
    cmd = [str(simforecast_bin), "train", str(wide_data / "traces"), "--threshold", str(THRESHOLD),
           "--screen-windows", "50,100,150,200", "--forecast-windows", "100,150,200",
           "--halt-windows", "200", "--min-halts", "1000", "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    # training says so plainly: no stage of this model may halt
    assert "advisory" in res.stdout
    assert "halts at" not in res.stdout, res.stdout
    return out


def test_advisory_stages_never_halt(venv, plugin, default_model, campaign, tmp_path):
    run, decisions, _ = nemd(venv, plugin, default_model, campaign[IRRELEVANT_RUN], tmp_path,
                             fcopts="action halt message yes")
    screens = [d for d in decisions if d.screened]
    assert screens, decisions
    assert all("halt" not in d.flags for d in decisions), decisions
    # the model does see the run as irrelevant, and says it cannot act on it
    irrelevant = [d for d in screens if d.verdict == "irrelevant"]
    assert irrelevant, f"expected an (advisory) irrelevant verdict on run {IRRELEVANT_RUN}: {screens}"
    assert all("advisory" in d.flags for d in irrelevant)
    messages = {int(m["step"]): m for m in check_messages(run.log, decisions)}
    for d in irrelevant:
        assert messages[d.step]["does"] == "the run goes on (an advisory verdict never halts)"
    # the run went on to its end
    r1 = run.lines("FORECAST_RUN1")[0]
    assert int(r1["step"]) == NRUN and float(r1["stop"]) == 0.0


OOD_INPUT = """
plugin load     ${plugin}
units           lj
atom_style      atomic
lattice         fcc 0.8442
region          box block 0 3 0 3 0 3
create_box      1 box
create_atoms    1 box
mass            1 1.0
velocity        all create 1.0 4928459
pair_style      lj/cut 2.5
pair_coeff      1 1 1.0 1.0 2.5
fix             nve all nve
# a "viscosity" far above anything in the training campaign (its mu tops out near 150)
variable        bogus equal 5000.0+0.01*step
fix             fc all forecast 10 v_bogus ${model} file ${fcfile} action halt after stop
run             2500
print           "OOD_RUN step $(step) state $(f_fc[1]) ood $(f_fc[10]) stop $(f_fc[9]) frames $(f_fc[2])"
"""


def test_out_of_distribution_trace_is_refused(venv, plugin, model, tmp_path):
    script = tmp_path / "in.ood"
    script.write_text(OOD_INPUT)
    fcfile = tmp_path / "decisions.txt"
    run = require_ok(lammps(venv, tmp_path, script, {"plugin": plugin, "model": model,
                                                      "fcfile": fcfile}))
    decisions = read_decisions(fcfile)
    assert decisions, run.log
    assert all("ood" in d.flags for d in decisions), decisions
    assert all("halt" not in d.flags and not d.forecast for d in decisions), decisions
    assert all(d.verdict == "unsure" for d in decisions if d.screened), decisions
    for m in check_messages(run.log, decisions):
        assert "the trace is outside the training distribution" in m["decided"]
        assert m["does"] == ("the run goes on (the model does not act on a trace outside its "
                             "training distribution)")
    r = run.lines("OOD_RUN")[0]
    # never halted, never forecast, ran to its end, and the vector says why
    assert int(r["step"]) == 2500 and float(r["stop"]) == 0.0
    assert float(r["ood"]) == 1.0 and float(r["state"]) == 0.0
