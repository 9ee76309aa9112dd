"""A real LAMMPS campaign from zero runs, learning as it goes (issue: campaign mode).

Phase A: `simforecast campaign init`, then examples/slurry/campaign.py runs 40 slurry NEMD runs of
a Latin-hypercube design, 2 at a time, each with fix forecast in campaign mode: a run loads the
directory's newest model (none at first: it only collects), is halted or stopped at a forecast
when that model says so unless the audit lets it run on, records itself, and retrains when due.
The campaign must end with published models (a first one and at least one retraining, made by
the fixes themselves), an audited would-be halt, runs the models stopped, and `campaign status`
reporting it all.

Phase B: the same next runs, locally (two tasks of examples/slurm/slurry-array.sbatch at a time,
without Slurm) and as a job array under the single-node Slurm of test_slurm.py, each in its own
copy of phase A's directory: a run decided by the same model must get the same decision, trace
and record under both engines.

The campaign's settings are chosen so that 40 short runs can show every part (the README's are
the defaults): μ over the last 300 frames of 600-700, a first model at 15 finished runs and one
every 10 more, half of the would-be stops audited, and halts on the evidence accumulated over
the forecasting windows at a target of 0.7, which a model trained on 15-40 runs can certify
where 0.95 would need hundreds of runs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BUILTIN_MARKER, ROOT
from test_slurm import SBATCH, SLURRY, _wait, slurm  # noqa: F401  (the cluster fixture)

CAMPAIGN_PY = ROOT / "examples" / "slurry" / "campaign.py"
THRESHOLD = 10.0   # near the median mu of the wide design: about half of the runs are irrelevant
INIT = ["--threshold", str(THRESHOLD), "--tail", "300", "--first-model-at", "15",
        "--retrain-every", "10", "--audit", "0.5", "--target-precision", "0.7",
        "--halting", "accumulated"]
N_RUNS = 40
DESIGN = ["--n-runs", str(N_RUNS), "--seed", "7", "--frames", "600", "700", "--neq", "1000", "1000"]
# Phase B: four runs of the demo systems, short (700 frames)
RUNS_B = """\
demo-dense.vars   0.01  nframes=700 neq=1000
demo-dilute.vars  0.03  nframes=700 neq=1000
demo-dense.vars   0.02  nframes=700 neq=1000
demo-dilute.vars  0.1   nframes=700 neq=1000
"""


def _cli(simforecast_bin: Path, *args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([str(simforecast_bin), *args], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"simforecast {' '.join(args)}: exit {res.returncode}\n{res.stdout}{res.stderr}"
    return res


def _status(simforecast_bin: Path, d: Path) -> dict:
    return json.loads(_cli(simforecast_bin, "campaign", "status", "--json", str(d)).stdout)


def _records(d: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((d / "runs").glob("*.json"))}


def _kind(rec: dict) -> str:
    o = rec["outcome"]
    return o if isinstance(o, str) else next(iter(o))


# One way in only: 40 runs are minutes, and the fix's campaign mode itself is tested both ways
# (test_campaign_fix.py).
pytestmark = pytest.mark.plugin_only


@pytest.fixture(scope="module")
def phase_a(venv, plugin, simforecast_bin, tmp_path_factory):
    """The 40-run campaign from zero (once per way of loading the fix)."""
    base = tmp_path_factory.mktemp("campaign_live")
    d, out = base / "dir", base / "out"
    _cli(simforecast_bin, "campaign", "init", str(d), *INIT)
    builtin = (venv / BUILTIN_MARKER).exists()
    cmd = [sys.executable, str(CAMPAIGN_PY), "--out", str(out), "--jobs", "2", *DESIGN,
           "--campaign", str(d), "--lmp", str(venv / "bin" / "lmp")]
    if not builtin:
        cmd += ["--plugin", str(plugin)]
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1500,
                         env={**os.environ, "SIMFORECAST_BIN": str(simforecast_bin)})
    wall = time.monotonic() - t0
    assert res.returncode == 0, f"campaign.py: exit {res.returncode}\n{res.stdout[-4000:]}{res.stderr[-4000:]}"
    print(f"phase A: {N_RUNS} runs, 2 at a time: {wall:.0f} s")
    return d, out, res.stdout + res.stderr


def test_campaign_from_zero_learns_acts_and_audits(phase_a, simforecast_bin):
    d, out, text = phase_a
    status = _status(simforecast_bin, d)
    records = _records(d)
    log = (d / "log").read_text()

    # every run recorded once, however it ended; nothing lost, no lock left behind
    assert status["runs"] == N_RUNS == len(records), (status, text[-2000:])
    assert not (d / "lock").exists() and not (d / "train.lock").exists(), log[-2000:]
    with open(out / "outcomes.csv") as f:
        outcomes = {f"run_{int(r['run_id']):04d}": r for r in csv.DictReader(f)}
    assert set(outcomes) == set(records), (sorted(outcomes), sorted(records))
    for rid, rec in records.items():
        assert outcomes[rid]["outcome"] == _kind(rec).lower(), (rid, outcomes[rid], rec)

    # models trained and published by the fixes themselves: a first one and a retraining, each
    # loaded by later runs
    models = status["models"]
    assert len(models) >= 2, (models, log[-3000:])
    assert [m["version"] for m in models] == list(range(1, len(models) + 1)), models
    for m in models:
        assert (d / "models" / f"model-{m['version']:04d}.sfm").is_file(), m
    used = {rec["model"] for rec in records.values() if rec["model"] is not None}
    assert used >= {1, 2}, (used, models)
    assert "published model-0001" in log and "published model-0002" in log, log[-3000:]

    # the models acted: runs stopped early (halted or at a forecast within the tolerance)
    stopped = [rid for rid, rec in records.items() if _kind(rec) != "Finished"]
    assert stopped, (status, log[-3000:])
    for rid in stopped:
        assert records[rid]["frames"] < records[rid]["declared_len"], records[rid]
    # a halt is reversible: its restart file is where the record says (campaign.py's stopped/)
    for rid, rec in records.items():
        if _kind(rec) == "Halted":
            assert rec.get("restart") and Path(rec["restart"]).is_file(), rec
            assert Path(rec["restart"]).parent == out / "stopped", rec

    # an audited halt: a would-be halt the audit let run to the end, judged against its mu
    audited_halts = [rid for rid, rec in records.items()
                     if rec["overridden"] and rec["overridden"][1] == "Audit"
                     and "Halt" in rec["overridden"][0]]
    assert audited_halts, ("no audited halt", status, log[-3000:])
    assert status["halting_precision"]["n"] >= len(audited_halts), status
    for rid in audited_halts:
        assert records[rid]["mu"] is not None and _kind(records[rid]) == "Finished", records[rid]

    # campaign status says all of it
    text_status = _cli(simforecast_bin, "campaign", "status", str(d)).stdout
    for word in ("finished", "halted", "forecast", "audited", "model-0001", "model-0002", "saved"):
        assert word in text_status, (word, text_status)
    assert 0.0 < status["saved_share"] < 1.0, status


def _local_task(env: dict, task: int) -> subprocess.Popen:
    return subprocess.Popen(["bash", str(SBATCH)], env={**env, "SLURM_ARRAY_TASK_ID": str(task)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_slurm_job_array_decides_as_local_runs(phase_a, slurm, venv, plugin,  # noqa: F811
                                               simforecast_bin, tmp_path):
    d, _, _ = phase_a
    builtin = (venv / BUILTIN_MARKER).exists()
    runs = tmp_path / "runs.txt"
    runs.write_text(RUNS_B)
    n = len(RUNS_B.splitlines())
    dirs = {way: tmp_path / f"campaign-{way}" for way in ("local", "slurm")}
    for target in dirs.values():
        shutil.copytree(d, target)
    base = {"RUNS": str(runs), "SLURRY": str(SLURRY), "LMP": str(venv / "bin" / "lmp"),
            "PLUGIN": "none" if builtin else str(plugin), "NAME": "next"}

    # locally, two tasks at a time
    env = {**os.environ, **base, "CAMPAIGN": str(dirs["local"]), "OUT": str(tmp_path / "out-local")}
    pending = list(range(n))
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = [_local_task(env, t) for t in batch]
        for t, p in zip(batch, procs):
            text, _ = p.communicate(timeout=600)
            assert p.returncode == 0, f"local task {t}: exit {p.returncode}\n{text[-3000:]}"

    # under Slurm, an array of the same tasks, two at a time
    env = {**slurm, **base, "CAMPAIGN": str(dirs["slurm"]), "OUT": str(tmp_path / "out-slurm")}
    sub = subprocess.run(["sbatch", "--parsable", f"--array=0-{n - 1}%2", "--chdir", str(tmp_path),
                          "--output", str(tmp_path / "slurm-%A_%a.out"), str(SBATCH)],
                         env=env, capture_output=True, text=True, timeout=60)
    assert sub.returncode == 0, f"sbatch: exit {sub.returncode}\n{sub.stdout}{sub.stderr}"
    tasks = _wait(sub.stdout.strip().split(";")[0], env, n, 900)
    logs = "".join(f"---- {p.name}\n{p.read_text()}" for p in sorted(tmp_path.glob("slurm-*.out")))
    for i, t in tasks.items():
        assert (t["JobState"], t["ExitCode"]) == ("COMPLETED", "0:0"), (i, t, logs[-3000:])

    local, under_slurm = _records(dirs["local"]), _records(dirs["slurm"])
    names = [f"next_{i:03d}" for i in range(n)]
    assert set(names) <= set(local) and set(names) <= set(under_slurm), (sorted(local), sorted(under_slurm))

    def model_hash(dd: Path, v):
        return None if v is None else hashlib.sha256(
            (dd / "models" / f"model-{v:04d}.sfm").read_bytes()).hexdigest()

    compared = 0
    for i, name in enumerate(names):
        a, b = local[name], under_slurm[name]
        if model_hash(dirs["local"], a["model"]) != model_hash(dirs["slurm"], b["model"]):
            continue   # a retraining in between, on runs that finished in another order
        compared += 1
        for key in ("outcome", "overridden", "frames", "declared_len", "mu"):
            assert a[key] == b[key], (name, key, a, b)
        traces = [dd / "runs" / f"{name}.trace" for dd in dirs.values()]
        assert traces[0].read_text() == traces[1].read_text(), name
        decisions = [(tmp_path / o / f"run_{i:03d}" / "decisions.txt").read_text().splitlines()
                     for o in ("out-local", "out-slurm")]
        strip = [[ln for ln in dd if not ln.startswith("#")] for dd in decisions]
        assert strip[0] == strip[1], name
    # phase A's newest model decides the first runs of both: at least two are compared
    assert compared >= 2, (compared, {nm: (local[nm]["model"], under_slurm[nm]["model"]) for nm in names})
