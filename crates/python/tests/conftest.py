"""Fixtures of the Python package's tests: the shipped campaigns split into training traces
(even positions) and held-out traces (odd positions), models trained on them by the
`simforecast` command line, and a runner for that command.

Everything is real: the installed `simforecast` package (make python-test builds and installs
it) and the CLI of this checkout (SIMFORECAST_BIN, default <repo>/target/release/simforecast).
A missing piece is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
CLI = Path(os.environ.get("SIMFORECAST_BIN", ROOT / "target" / "release" / "simforecast"))

# name -> threshold (each campaign's README)
CAMPAIGNS = {"nemd-public": 10.5, "nemd-wide-public": 33.1}


def run_cli(*args: str) -> str:
    if not CLI.exists():
        pytest.fail(f"the simforecast CLI is not built ({CLI}): cargo build --release -p "
                    "simforecast-cli, or set SIMFORECAST_BIN", pytrace=False)
    r = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"simforecast {' '.join(map(str, args))} failed:\n{r.stderr}")
    return r.stdout


def cli_json(*args: str):
    return json.loads(run_cli(*args, "--json"))


def read_trace(path: Path) -> np.ndarray:
    """The values of a `fix ave/time` file (second column)."""
    return np.loadtxt(path, comments="#", usecols=1, dtype=np.float64)


@dataclass
class Campaign:
    name: str
    threshold: float
    train: List[Path]
    held_out: List[Path]
    tmp: Path
    _arrays: Dict[Path, np.ndarray]

    def values(self, path: Path) -> np.ndarray:
        if path not in self._arrays:
            self._arrays[path] = read_trace(path)
        return self._arrays[path]

    def cli_model(self, *options: str) -> Path:
        """A model trained by the CLI on the training traces (cached per options)."""
        tag = "_".join(o.strip("-").replace(",", "-") for o in options) or "default"
        out = self.tmp / f"{self.name}-{tag}.sfm"
        if not out.exists():
            run_cli("train", *self.train, "--threshold", self.threshold, *options, "-o", out)
        return out


@pytest.fixture(scope="session", params=sorted(CAMPAIGNS))
def campaign(request, tmp_path_factory) -> Campaign:
    name = request.param
    traces = sorted((ROOT / "data" / name / "traces").glob("*.dat"))
    assert len(traces) > 200, f"shipped campaign {name} missing in {ROOT / 'data'}"
    return Campaign(name, CAMPAIGNS[name], traces[0::2], traces[1::2],
                    tmp_path_factory.mktemp(name), {})


@pytest.fixture(scope="session")
def wide(tmp_path_factory) -> Campaign:
    traces = sorted((ROOT / "data" / "nemd-wide-public" / "traces").glob("*.dat"))
    return Campaign("nemd-wide-public", 33.1, traces[0::2], traces[1::2],
                    tmp_path_factory.mktemp("wide"), {})
