"""The Python monitor and the C ABI (`libsimforecast.so`, loaded with ctypes) give the same
events for the same frames: every held-out trace of both shipped campaigns, to 1e-12."""

from __future__ import annotations

import ctypes
import math
from pathlib import Path

import pytest

import simforecast as sf
from conftest import ROOT

LIB = ROOT / "target" / "release" / "libsimforecast.so"
SF_OK = 0
SF_EVENT_SCREEN, SF_EVENT_FORECAST = 1, 2
VERDICTS = {0: "relevant", 1: "irrelevant", 2: "unsure"}


class SfEvent(ctypes.Structure):
    # The layout of `sf_event` in include/simforecast.h.
    _fields_ = [
        ("flags", ctypes.c_uint32), ("stage", ctypes.c_uint32), ("frame", ctypes.c_uint64),
        ("verdict", ctypes.c_int32), ("halt", ctypes.c_int32), ("advisory", ctypes.c_int32),
        ("ood", ctypes.c_int32), ("vote", ctypes.c_double), ("score", ctypes.c_double),
        ("cut", ctypes.c_double), ("mu_minus_sigma", ctypes.c_double),
        ("mu_plus_sigma", ctypes.c_double), ("mu_low", ctypes.c_double),
        ("mu_high", ctypes.c_double), ("level", ctypes.c_double), ("confident", ctypes.c_int32),
        ("within_tolerance", ctypes.c_int32), ("evidence", ctypes.c_int32),
        ("tolerance", ctypes.c_double),
    ]
EVIDENCE = {0: "model", 1: "own_statistics"}


@pytest.fixture(scope="module")
def lib():
    if not LIB.exists():
        pytest.fail(f"{LIB} is not built: cargo build --release -p simforecast", pytrace=False)
    lib = ctypes.CDLL(str(LIB))
    lib.sf_abi_version.restype = ctypes.c_int
    lib.sf_model_load.restype = ctypes.c_void_p
    lib.sf_model_load.argtypes = [ctypes.c_char_p]
    lib.sf_monitor_new.restype = ctypes.c_void_p
    lib.sf_monitor_new.argtypes = [ctypes.c_void_p]
    lib.sf_monitor_push.restype = ctypes.c_int
    lib.sf_monitor_push.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.POINTER(SfEvent)]
    lib.sf_monitor_free.argtypes = [ctypes.c_void_p]
    lib.sf_monitor_set_tolerance.restype = ctypes.c_int
    lib.sf_monitor_set_tolerance.argtypes = [ctypes.c_void_p, ctypes.c_double]
    lib.sf_model_free.argtypes = [ctypes.c_void_p]
    lib.sf_last_error.restype = ctypes.c_char_p
    return lib


def close(a, b) -> bool:
    """Equal to 1e-12 (relative), with the C ABI's NaN standing for Python's None."""
    if b is None:
        return a is None or math.isnan(a)
    return a is not None and abs(a - b) <= 1e-12 * max(1.0, abs(b))


def c_events(lib, model_path: Path, values, tolerance=None):
    model = lib.sf_model_load(str(model_path).encode())
    assert model, lib.sf_last_error().decode()
    mon = lib.sf_monitor_new(model)
    if tolerance is not None:
        assert lib.sf_monitor_set_tolerance(mon, tolerance) == SF_OK, lib.sf_last_error()
    out, ev = [], SfEvent()
    try:
        for v in values:
            assert lib.sf_monitor_push(mon, float(v), ctypes.byref(ev)) == SF_OK
            if ev.flags:
                out.append(SfEvent.from_buffer_copy(ev))
    finally:
        lib.sf_monitor_free(mon)
        lib.sf_model_free(model)
    return out


@pytest.mark.parametrize("tolerance", [None, 0.5])
def test_python_monitor_equals_the_c_abi_on_held_out_traces(lib, campaign, tolerance):
    """At the model's tolerance and at one set on both monitors."""
    assert lib.sf_abi_version() == 4
    path = campaign.cli_model()
    model = sf.load_model(path)
    compared = 0
    for trace in campaign.held_out:
        values = campaign.values(trace)
        py = model.monitor(tolerance=tolerance).push_many(values)
        c = c_events(lib, path, values, tolerance)
        assert len(py) == len(c), trace.name
        for p, e in zip(py, c):
            assert p.frame == e.frame and p.halt == bool(e.halt) and p.ood == bool(e.ood)
            if e.flags & SF_EVENT_SCREEN:
                assert p.verdict == VERDICTS[e.verdict] and p.advisory == bool(e.advisory)
                assert close(p.vote, e.vote) and close(p.score, e.score), trace.name
                assert close(p.cut, None if math.isnan(e.cut) else e.cut), trace.name
            if e.flags & SF_EVENT_FORECAST:
                assert p.is_forecast and p.confident == bool(e.confident)
                assert p.within_tolerance == bool(e.within_tolerance)
                assert p.evidence == EVIDENCE[e.evidence] == "model"
                assert p.tolerance == e.tolerance == (tolerance or model.tolerance)
                for f in ("mu_minus_sigma", "mu_plus_sigma", "mu_low", "mu_high", "level"):
                    assert close(getattr(p, f), getattr(e, f)), (trace.name, f)
            else:
                assert not p.is_forecast
            compared += 1
    assert compared > len(campaign.held_out)
