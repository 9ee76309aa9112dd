"""The package as installed: its stub describes every public name of the native module, the
typing marker is there, and the exceptions have the bases the documentation gives them."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import simforecast as sf
from simforecast import _simforecast

from conftest import ROOT


def stub() -> ast.Module:
    path = Path(_simforecast.__file__).with_name("_simforecast.pyi")
    assert path.exists(), f"{path} is not installed"
    return ast.parse(path.read_text())


def test_the_stub_names_every_public_member():
    tree = stub()
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in ("Event", "Model", "Monitor", "Pruner"):
        members = {n.name for n in classes[name].body if isinstance(n, ast.FunctionDef)}
        members |= {n.target.id for n in classes[name].body if isinstance(n, ast.AnnAssign)}
        public = {m for m in dir(getattr(sf, name)) if not m.startswith("_")}
        assert public <= members, f"{name}: not in the stub: {public - members}"
        stub_only = {m for m in members - public if not m.startswith("__")}
        assert not stub_only, f"{name}: stub only: {stub_only}"
    assert {"load_model", "train"} <= functions
    assert (Path(sf.__file__).parent / "py.typed").exists()


def test_every_public_object_is_documented():
    for name in sf.__all__:
        obj = getattr(sf, name)
        if inspect.isclass(obj) or callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name
    for cls in (sf.Model, sf.Monitor, sf.Pruner):
        for m in dir(cls):
            if not m.startswith("_"):
                assert getattr(cls, m).__doc__, f"{cls.__name__}.{m}"
    assert "threshold" in sf.train.__text_signature__


def test_exception_bases():
    assert issubclass(sf.NonFiniteError, sf.InvalidArgumentError)
    assert issubclass(sf.InvalidArgumentError, ValueError)
    assert issubclass(sf.ArgumentTypeError, TypeError)
    assert issubclass(sf.SimforecastIOError, OSError)
    for e in (sf.ModelFileError, sf.TraceFileError, sf.StateError, sf.NumericalError,
              sf.InvalidArgumentError, sf.ArgumentTypeError, sf.SimforecastIOError):
        assert issubclass(e, sf.SimforecastError)
    assert sf.__version__ == "0.2.0"


def test_stubtest_finds_the_stub_true_to_the_module():
    """mypy's stubtest imports the installed package and compares every name, signature and
    class with the stub."""
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "simforecast"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_examples_type_check_against_the_stub():
    examples = sorted((ROOT / "examples" / "python").glob("*.py"))
    assert len(examples) >= 3
    r = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports",
                        "--no-incremental", *map(str, examples)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
