"""examples/slurm under a real single-node Slurm: the job array's runs decide as local runs do.

The test starts its own cluster with tools/slurm-local.sh (munged, slurmctld, slurmd from
Debian's slurm-wlm and munge, as root, in a private directory), submits
examples/slurm/slurry-array.sbatch as a 4-task array, 2 at a time, on the slurry example's
in.nemd with fix forecast, and waits for it. Every task must complete, and each run's trace, fix
decisions and outcome (halted, forecast, ran to end) must be those of the same in.nemd run
executed locally without Slurm. The cluster is stopped in the fixture's teardown, also when the
test fails, and no daemon may outlive it. A cluster that cannot start is a failure, not a skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import BUILTIN_MARKER, ROOT, lammps, read_decisions, require_ok

SLURM_LOCAL = ROOT / "tools" / "slurm-local.sh"
EXAMPLE = ROOT / "examples" / "slurm"
SBATCH = EXAMPLE / "slurry-array.sbatch"
SLURRY = ROOT / "examples" / "slurry"

# Four short runs of the demo systems with the three outcomes the tests' model gives them:
# the dense slurry halted at 100 frames, the dilute one stopped at its forecast, and a dilute
# run too short for any decision (40 frames, before the first screening at 50).
RUNS = """\
# system rate [NAME=VALUE ...]
demo-dense.vars   0.01
demo-dilute.vars  0.03
demo-dense.vars   0.02
demo-dilute.vars  0.1   nframes=40
"""
EXPECTED = ["halted", "forecast", "halted", "ran_to_end"]
ARRAY = f"0-{len(EXPECTED) - 1}%2"
JOB_TIMEOUT = 300  # seconds for the whole array; the runs take a few seconds each


def _local(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SLURM_LOCAL), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A running single-node cluster; yields the environment for its client commands."""
    state = tmp_path_factory.mktemp("slurm")
    env = dict(os.environ, SLURM_LOCAL_DIR=str(state))
    t0 = time.monotonic()
    started = _local("start", env=env)
    if started.returncode != 0:
        _local("stop", env=env)
        pytest.fail(f"the local Slurm cluster did not start ({SLURM_LOCAL} start, exit "
                    f"{started.returncode}):\n{started.stdout}{started.stderr}", pytrace=False)
    print(f"slurm-local start: {time.monotonic() - t0:.1f} s")
    env["SLURM_CONF"] = str(state / "etc" / "slurm.conf")
    try:
        yield env
    finally:
        t0 = time.monotonic()
        stopped = _local("stop", env=env)
        print(f"slurm-local stop: {time.monotonic() - t0:.1f} s")
        status = _local("status", env=env)
        assert stopped.returncode == 0, f"stop failed:\n{stopped.stdout}{stopped.stderr}"
        assert "running (pid" not in status.stdout, f"daemons left behind:\n{status.stdout}"


def _result(path: Path) -> dict[str, str]:
    words = path.read_text().split()
    return dict(zip(words[0::2], words[1::2]))


def _tasks(scontrol_text: str) -> dict[str, dict[str, str]]:
    """ArrayTaskId -> fields, from `scontrol show job ARRAY_ID` (one block per task, or one per
    range of still pending tasks, such as 2-3%2)."""
    out = {}
    for block in scontrol_text.strip().split("\n\n"):
        fields = dict(re.findall(r"(\w+)=(\S*)", block))
        if "ArrayTaskId" in fields:
            out[fields["ArrayTaskId"]] = fields
    return out


FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                "BOOT_FAIL", "DEADLINE", "PREEMPTED"}


def _wait(job: str, env: dict, n: int, timeout: float) -> dict[int, dict[str, str]]:
    """The tasks of array JOB once all n are in a final state. Polled, because sbatch --wait
    polls at growing intervals (up to half a minute late here)."""
    deadline = time.monotonic() + timeout
    while True:
        show = subprocess.run(["scontrol", "show", "job", job], env=env, capture_output=True, text=True)
        tasks = _tasks(show.stdout)
        if (len(tasks) == n and all(t.isdigit() for t in tasks)
                and all(f["JobState"] in FINAL_STATES for f in tasks.values())):
            return {int(t): f for t, f in tasks.items()}
        if time.monotonic() > deadline:
            subprocess.run(["scancel", job], env=env)
            pytest.fail(f"job array {job} not finished after {timeout} s:\n{show.stdout}{show.stderr}",
                        pytrace=False)
        time.sleep(0.5)


def _most_at_once(tasks) -> int:
    """The most tasks running at one time, from their StartTime and EndTime (whole seconds,
    truncated, so a task started when another ended does not overlap it)."""
    spans = [(datetime.fromisoformat(t["StartTime"]), datetime.fromisoformat(t["EndTime"]))
             for t in tasks]
    return max(sum(1 for s, e in spans if s <= start and (start < e or s == start))
               for start, _ in spans)


def test_shipped_run_list():
    """examples/slurm/runs.txt: one valid run per line, and the script's default --array covers
    exactly its lines."""
    lines = [ln for ln in (EXAMPLE / "runs.txt").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    for ln in lines:
        system, rate, *settings = ln.split()
        assert (SLURRY / system).is_file(), ln
        assert float(rate) > 0, ln
        assert all(re.fullmatch(r"\w+=\S+", kv) for kv in settings), ln
    array = re.search(r"^#SBATCH --array=0-(\d+)%\d+$", SBATCH.read_text(), re.M)
    assert array and int(array[1]) == len(lines) - 1, (array, len(lines))


def test_job_array_decides_as_local_runs(slurm, venv, plugin, model, tmp_path):
    builtin = (venv / BUILTIN_MARKER).exists()
    plugin_var = "none" if builtin else str(plugin)
    runs = tmp_path / "runs.txt"
    runs.write_text(RUNS)
    out = tmp_path / "out"
    env = dict(slurm, MODEL=str(model), RUNS=str(runs), OUT=str(out), SLURRY=str(SLURRY),
               LMP=str(venv / "bin" / "lmp"), PLUGIN=plugin_var)

    t0 = time.monotonic()
    sub = subprocess.run(
        ["sbatch", "--parsable", f"--array={ARRAY}", "--chdir", str(tmp_path),
         "--output", str(tmp_path / "slurm-%A_%a.out"), str(SBATCH)],
        env=env, capture_output=True, text=True, timeout=60)
    assert sub.returncode == 0, f"sbatch: exit {sub.returncode}\n{sub.stdout}{sub.stderr}"
    job = sub.stdout.strip().split(";")[0]
    tasks = _wait(job, env, len(EXPECTED), JOB_TIMEOUT)
    slurm_wall = time.monotonic() - t0

    # every array task ran under Slurm and completed, at most 2 at a time
    logs = "".join(f"---- {p.name}\n{p.read_text()}" for p in sorted(tmp_path.glob("slurm-*.out")))
    for i, t in tasks.items():
        assert (t["JobState"], t["ExitCode"]) == ("COMPLETED", "0:0"), (i, t, logs)
        assert t["ArrayJobId"] == job and t["ArrayTaskThrottle"] == "2", (i, t)
    assert _most_at_once(tasks.values()) <= 2, {i: (t["StartTime"], t["EndTime"]) for i, t in tasks.items()}

    t0 = time.monotonic()
    for i, expected in enumerate(EXPECTED):
        run_dir = out / f"run_{i:03d}"
        got = _result(run_dir / "result.txt")
        assert got["job"] == tasks[i]["JobId"], got   # written inside that Slurm job
        assert got["outcome"] == expected, (i, got, (run_dir / "decisions.txt").read_text())

        # the same run of in.nemd, locally and without Slurm
        system, rate, *settings = RUNS.splitlines()[i + 1].split()
        variables = {"here": SLURRY, "system": SLURRY / system, "rate": rate, "plugin": plugin_var,
                     "model": model, "action": "halt", "after": "stop",
                     "trace": "trace.dat", "decisions": "decisions.txt"}
        variables.update(kv.split("=", 1) for kv in settings)
        local = require_ok(lammps(venv, tmp_path / f"local_{i}", SLURRY / "in.nemd", variables))

        steps = re.search(r"^NEMD run: rate .*, (\d+) of (\d+) steps", local.log, re.M)
        assert steps and got["steps"] == f"{steps[1]}_of_{steps[2]}", (i, got, steps)
        assert (local.workdir / "decisions.txt").read_text() == (run_dir / "decisions.txt").read_text(), i
        assert (local.workdir / "trace.dat").read_text() == (run_dir / "trace.dat").read_text(), i
        decisions = read_decisions(run_dir / "decisions.txt")
        flags = {f for d in decisions for f in d.flags}
        assert ("halt" in flags) == (expected == "halted"), (i, flags)
        assert ("stop" in flags) == (expected == "forecast"), (i, flags)
    local_wall = time.monotonic() - t0
    print(f"job array {ARRAY} under Slurm: {slurm_wall:.1f} s; the same runs locally, one after "
          f"another: {local_wall:.1f} s")
