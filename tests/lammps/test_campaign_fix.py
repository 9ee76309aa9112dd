"""fix forecast in campaign mode (`campaign DIR name RUNID` in place of the model file), in real
LAMMPS runs: runs record themselves into a campaign directory made by `simforecast campaign init`,
a run retrains in-process and publishes the first model, and later runs load it; serial and
`mpiexec -n 2` runs are recorded once; a run that cannot be recorded leaves its trace behind;
bad input is a LAMMPS ERROR.

The system is the small Lennard-Jones NEMD example (examples/lj-fluid/in.nemd, 108 atoms,
100 frames: under a second a run); its density sets the viscosity on either side of the
campaign's threshold.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BUILTIN_MARKER, ROOT, TINY_LJ, lammps, require_ok

IN_NEMD = ROOT / "examples" / "lj-fluid" / "in.nemd"
FRAMES = 100
# run i: (density, seed); eta sits below 2.5 at rho <= 0.7 and above it at rho >= 0.9
RUNS = [(0.6, 1), (0.9, 2), (0.65, 3), (0.95, 4), (0.7, 5), (0.92, 6), (0.62, 7), (0.93, 8)]
FIRST_MODEL_AT = 6


def init(simforecast_bin: Path, d: Path, *extra: str) -> Path:
    cmd = [str(simforecast_bin), "campaign", "init", str(d), "--threshold", "2.5", "--tail", "40",
           "--first-model-at", str(FIRST_MODEL_AT), "--retrain-every", "100", *extra]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return d


def status(simforecast_bin: Path, d: Path) -> dict:
    res = subprocess.run([str(simforecast_bin), "campaign", "status", str(d), "--json"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def nemd(venv, plugin, workdir, camp, rho, seed, np=1):
    # in.nemd loads the plugin it is given (`if`, not a `plugin load` line the builtin way drops)
    builtin = (venv / BUILTIN_MARKER).exists()
    return lammps(venv, workdir, IN_NEMD, {
        "plugin": "none" if builtin else plugin, "campaign": camp, "cells": 3, "neq": 200, "nframes": FRAMES,
        "tail": 40, "rho": rho, "seed": seed}, np=np)


def campaign_lines(run, fix="fc"):
    return [l for l in run.output.splitlines() if l.startswith(f"fix forecast {fix}: campaign ")]


def record_of(d: Path, run_id: str) -> dict:
    return json.loads((d / "runs" / f"{run_id}.json").read_text())


def test_runs_record_themselves_and_a_run_publishes_the_model_later_runs_load(
        venv, plugin, simforecast_bin, tmp_path):
    camp = init(simforecast_bin, tmp_path / "camp")
    for i, (rho, seed) in enumerate(RUNS):
        # the last run under two ranks: only rank 0 touches DIR
        np = 2 if i == len(RUNS) - 1 else 1
        run = require_ok(nemd(venv, plugin, tmp_path / f"run{i}", camp, rho, seed, np=np))
        rid = f"run_{seed}"
        lines = campaign_lines(run)
        recorded = [l for l in lines if "recorded" in l]
        assert len(recorded) == 1, lines
        has_model = i >= FIRST_MODEL_AT
        by = "model-0001" if has_model else "no model yet"
        assert recorded[0].endswith(f"recorded {rid}: finished, {FRAMES} frames ({by})"), recorded
        if has_model:
            assert "the campaign's newest model, version 1" in run.output
        else:
            assert "the campaign has no model yet: this run only collects" in run.output
        # the global vector's element 23: the campaign's model version in use
        (m,) = re.findall(r"fix forecast: campaign model (\d+),", run.log)
        assert int(m) == (1 if has_model else 0)
        if i == FIRST_MODEL_AT - 1:
            # this run retrained in-process and published the first model
            assert any(re.search(r"published model-0001 trained on 6 finished runs", l)
                       for l in lines), lines
        rec = record_of(camp, rid)
        assert rec["outcome"] == "Finished" and rec["frames"] == FRAMES
        assert rec["declared_len"] == FRAMES and rec["model"] == (1 if has_model else None)
        assert (camp / "runs" / f"{rid}.trace").is_file()

    s = status(simforecast_bin, camp)
    assert (s["runs"], s["finished"], s["halted"], s["forecast"]) == (len(RUNS), len(RUNS), 0, 0)
    assert [m["version"] for m in s["models"]] == [1]
    assert s["models"][0]["labelled_runs"] == FIRST_MODEL_AT
    log = (camp / "log").read_text()
    # each run recorded exactly once, the two-rank one included, and the model published by
    # the process of a LAMMPS run (not by the CLI)
    for _, seed in RUNS:
        assert len(re.findall(rf"recorded run_{seed}:", log)) == 1, log
    assert log.count("published model-0001") == 1
    assert "pinned column f_out and one frame every 10 steps" in log

    # the same run name again is refused before the run starts
    again = nemd(venv, plugin, tmp_path / "again", camp, 0.6, RUNS[0][1])
    assert again.returncode != 0
    assert re.search(r"run 'run_1' is already recorded in this campaign", again.error()), again.error()


TINY = TINY_LJ + """\
{body}
run             200
print           "TINY_END step $(step)"
"""


def tiny(venv, plugin, workdir, body, np=1):
    script = workdir / "in.tiny"
    workdir.mkdir(parents=True, exist_ok=True)
    script.write_text(TINY.format(plugin=plugin, body=body))
    return lammps(venv, workdir, script, {}, np=np)


def expect_error(run, pattern):
    assert run.returncode != 0, f"LAMMPS should have failed:\n{run.text()[-2000:]}"
    err = run.error()
    assert err, f"no ERROR line in:\n{run.text()[-2000:]}"
    assert re.search(pattern, err, re.S), f"ERROR text {err!r} does not match {pattern!r}"
    assert "Segmentation fault" not in run.text() and "core dumped" not in run.text()
    return err


@pytest.mark.parametrize("np", [1, 2])
def test_bad_campaign_input_is_a_lammps_error(np, venv, plugin, simforecast_bin, tmp_path):
    camp = init(simforecast_bin, tmp_path / "camp", "--column", "v_t", "--frame-spacing", "10")
    other = init(simforecast_bin, tmp_path / "other", "--column", "v_eta")
    cases = {
        "missing": (f"fix fc all forecast 10 v_t campaign {tmp_path / 'nowhere'} name a",
                    r"Fix forecast fc campaign '.*nowhere' \(run a\): campaign directory "
                    r"'.*nowhere': no such directory"),
        "not a campaign": (f"fix fc all forecast 10 v_t campaign {tmp_path} name a",
                           r"is not a campaign directory \(no campaign.json\): run `simforecast "
                           r"campaign init` first"),
        "other frame spacing": (f"fix fc all forecast 20 v_t campaign {camp} name a",
                                r"was made for one frame every 10 steps vs every 20, not for this run"),
        "other column": (f"fix fc all forecast 10 v_t campaign {other} name a",
                         r"was made for column v_eta vs v_t, not for this run"),
        "no name": (f"fix fc all forecast 10 v_t campaign {camp}",
                    r"'campaign .*camp' needs 'name RUNID'"),
        "bad name": (f"fix fc all forecast 10 v_t campaign {camp} name ../x",
                     r"run id '\.\./x' is not usable as a file name"),
        "no directory": ("fix fc all forecast 10 v_t campaign", r"'campaign' needs the campaign directory"),
        "keyword of the model mode": (f"fix fc all forecast 10 v_t campaign {camp} name a after stop",
                                      r"keyword 'after' in campaign mode: the campaign decides"),
        "name without campaign": ("fix fc all forecast 10 v_t convergence name a",
                                  r"keyword 'name': it names the run in a campaign"),
    }
    for case, (body, pattern) in cases.items():
        expect_error(tiny(venv, plugin, tmp_path / case.replace(" ", "_"), body, np=np), pattern)
    # nothing was recorded by any of them
    assert not list((camp / "runs").iterdir())


def test_library_not_found_says_where_it_looked(venv, plugin, simforecast_bin, tmp_path,
                                                monkeypatch):
    camp = init(simforecast_bin, tmp_path / "camp")
    monkeypatch.setenv("SIMFORECAST_CAMPAIGN_LIBRARY", str(tmp_path / "nolib.so"))
    err = expect_error(tiny(venv, plugin, tmp_path / "run",
                            f"fix fc all forecast 10 v_t campaign {camp} name a"),
                       r"cannot load the campaign library libsimforecast_campaign.so")
    assert err
    # the lines after the first name each place looked and why it failed
    text = tiny_text = (tmp_path / "run" / "log.lammps").read_text()
    assert f"  {tmp_path / 'nolib.so'}: " in text and "(SIMFORECAST_CAMPAIGN_LIBRARY)" in tiny_text


@pytest.mark.plugin_only
def test_the_library_is_looked_for_next_to_the_plugin(venv, plugin, simforecast_bin, tmp_path):
    camp = init(simforecast_bin, tmp_path / "camp")
    alone = tmp_path / "plugins"
    alone.mkdir()
    (alone / "forecastplugin.so").write_bytes(plugin.read_bytes())
    script = tmp_path / "in.alone"
    script.write_text(TINY.format(plugin=alone / "forecastplugin.so",
                                  body=f"fix fc all forecast 10 v_t campaign {camp} name a"))
    run = lammps(venv, tmp_path / "alone", script, {})
    expect_error(run, r"cannot load the campaign library")
    assert f"  {alone / 'libsimforecast_campaign.so'}: cannot open shared object file" in run.text()
    # with the library beside it, the same plugin finds it
    (alone / "libsimforecast_campaign.so").write_bytes((plugin.parent / "libsimforecast_campaign.so").read_bytes())
    run = require_ok(lammps(venv, tmp_path / "beside", script, {}))
    assert "recorded a: finished, 20 frames (no model yet)" in run.output


def test_a_run_that_cannot_be_recorded_warns_and_leaves_its_trace(
        venv, plugin, simforecast_bin, tmp_path):
    camp = init(simforecast_bin, tmp_path / "camp")
    # the campaign's runs/ directory disappears after the fix opened the campaign: the record
    # fails at the end of the run, which still ends normally
    body = (f"fix fc all forecast 10 v_t campaign {camp} name lost_1\n"
            f"shell mv {camp / 'runs'} {camp / 'runs.away'}")
    run = require_ok(tiny(venv, plugin, tmp_path / "run", body))
    assert "TINY_END step 200" in run.log
    warning = re.search(r"WARNING: Fix forecast fc: run lost_1 could not be recorded in campaign "
                        r"'.*camp': (.*); its trace is saved in (\S+): record it later with "
                        r"`(simforecast campaign record .*)`", run.text())
    assert warning, run.text()[-3000:]
    saved = Path(warning.group(2))
    assert saved == tmp_path / "run" / "forecast-campaign-lost_1.trace" and saved.is_file()
    assert len([l for l in saved.read_text().splitlines() if not l.startswith("#")]) == 20
    # the command the warning gives records it once the directory is back
    (camp / "runs.away").rename(camp / "runs")
    args = warning.group(3).split()[1:]
    res = subprocess.run([str(simforecast_bin), *args, "--no-retrain"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    rec = record_of(camp, "lost_1")
    assert rec["outcome"] == "Finished" and rec["frames"] == 20 and rec["declared_len"] == 20


# ------------------------------------------------------------------ decisions: obey and audit

SEED_RUNS = 120        # finished wide-campaign runs recorded by the CLI before the live ones
FORECAST_RUN = 260     # the campaign's first model forecasts it within ±25 % at frame 150
LIVE_FRAMES = 400

REPLAY = """\
plugin load     ${plugin}
units           lj
atom_style      atomic
region          box block 0 4 0 4 0 4
create_box      1 box
create_atoms    1 single 1 1 1
mass            1 1.0
pair_style      zero 1.0
pair_coeff      * *
thermo          0
variable        frame file ${frames}
variable        eta equal v_frame
fix             fc all forecast 10 v_eta campaign ${camp} name ${name}
# one frame a run: the runs are parts of one declared run of ${stop} steps
label           loop
run             10 start 0 stop ${stop} post no
if "$(f_fc[9]) > 0" then "jump SELF done"
next            frame
jump            SELF loop
label           done
print           "LIVE_END step $(step) model $(f_fc[23]) stop $(f_fc[9])"
"""


def audited(name: str, fraction: float = 0.1) -> bool:
    """The campaign's audit draw (crates/campaign/src/audit.rs): SHA-256 of the run's name."""
    head = int.from_bytes(hashlib.sha256(f"simforecast-audit:{name}".encode()).digest()[:8], "big")
    return (head >> 11) / 2.0**53 < fraction


def test_the_campaign_decides_a_forecast_stop_and_its_audit_lets_a_run_finish(
        venv, plugin, simforecast_bin, wide_data, tmp_path):
    camp = tmp_path / "camp"
    res = subprocess.run([str(simforecast_bin), "campaign", "init", str(camp), "--threshold",
                          "33.1", "--first-model-at", str(SEED_RUNS), "--retrain-every", "1000"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    traces = sorted((wide_data / "traces").glob("run_*.dat"))
    assert f"run_{FORECAST_RUN:04d}.dat" not in {t.name for t in traces[:SEED_RUNS]}
    for t in traces[:SEED_RUNS]:
        res = subprocess.run([str(simforecast_bin), "campaign", "record", str(camp), str(t)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    assert "published model-0001" in res.stdout

    rows = [line.split() for line in (wide_data / "traces" / f"run_{FORECAST_RUN:04d}.dat")
            .read_text().splitlines() if line.strip() and not line.startswith("#")]
    frames = tmp_path / "frames.txt"
    frames.write_text("".join(f"{float(v)!r}\n" for _, v in rows[:LIVE_FRAMES]))
    script = tmp_path / "in.live"
    script.write_text(REPLAY)
    obey = next(f"live_{k}" for k in range(100) if not audited(f"live_{k}"))
    audit = next(f"live_{k}" for k in range(100) if audited(f"live_{k}"))
    results = {}
    # the obeyed one under two ranks: rank 0's verdict ends the run on both
    for name, np in ((obey, 2), (audit, 1)):
        run = require_ok(lammps(venv, tmp_path / name, script, {
            "plugin": plugin, "camp": camp, "name": name, "frames": frames,
            "stop": 10 * LIVE_FRAMES}, np=np))
        (end,) = run.lines("LIVE_END")
        results[name] = (run, end, record_of(camp, name))

    # not audited: the run ends at the model's forecast, recorded as such
    run, end, rec = results[obey]
    fc = rec["outcome"]["Forecast"]
    assert fc["frame"] == 150 and int(end["step"]) == 1500 and float(end["stop"]) == 2
    assert fc["lo"] <= fc["mu_hat"] <= fc["hi"] and (fc["hi"] - fc["lo"]) / (fc["hi"] + fc["lo"]) <= 0.25
    assert rec["frames"] == 150 and rec["declared_len"] == LIVE_FRAMES and rec["model"] == 1
    assert rec["overridden"] is None
    assert f"recorded {obey}: forecast at frame 150" in run.output

    # audited: the same decision, but the run goes on to its end and its record keeps it
    run, end, rec = results[audit]
    assert int(end["step"]) == 10 * LIVE_FRAMES and float(end["stop"]) == 0
    assert "the campaign's audit drew it" in run.output
    assert rec["outcome"] == "Finished" and rec["frames"] == LIVE_FRAMES
    decision, why = rec["overridden"]
    assert why == "Audit" and decision["Forecast"]["frame"] == 150
    assert decision["Forecast"]["lo"] == fc["lo"] and decision["Forecast"]["hi"] == fc["hi"]

    s = status(simforecast_bin, camp)
    assert (s["runs"], s["forecast"], s["audited"]) == (SEED_RUNS + 2, 1, 1)
