"""Every bad input to fix forecast is a LAMMPS ERROR that says what and why (never a crash or a
hang), checked on a small Lennard-Jones system; restart mismatches on the replay script."""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import TINY_LJ, lammps, read_decisions, require_ok

TINY = TINY_LJ + """\
{body}
run             100
print           "TINY_END step $(step)"
"""


def tiny(venv, plugin, workdir, body, np=1):
    script = workdir / "in.tiny"
    script.write_text(TINY.format(plugin=plugin, body=body))
    return lammps(venv, workdir, script, {}, np=np)


def expect_error(run, pattern):
    assert run.returncode != 0, f"LAMMPS should have failed:\n{run.text()[-2000:]}"
    err = run.error()
    assert err, f"no ERROR line in:\n{run.text()[-2000:]}"
    assert re.search(pattern, err), f"ERROR text {err!r} does not match {pattern!r}"
    assert "Segmentation fault" not in run.text() and "core dumped" not in run.text()
    return err


CASES = {
    "too few arguments": (
        "fix fc all forecast 10 v_t",
        r"Illegal fix forecast command: expected 'fix ID group-ID forecast N input model-file "
        r"\[keyword value \.\.\.\]', 'fix ID group-ID forecast N input campaign DIR name RUNID "
        r"\[keyword value \.\.\.\]' or 'fix ID group-ID forecast N input convergence "
        r"\[keyword value \.\.\.\]', got 5 argument"),
    "N not a number": ("fix fc all forecast ten v_t {model}", r"Expected integer parameter instead of 'ten'"),
    "N zero": ("fix fc all forecast 0 v_t {model}", r"Illegal fix forecast N = 0: N .* must be positive"),
    "bad input kind": ("fix fc all forecast 10 x_t {model}", r"Illegal fix forecast input 'x_t': unknown kind of input"),
    "bad index": ("fix fc all forecast 10 c_thermo_press[x] {model}", r"Illegal fix forecast input 'c_thermo_press\[x\]': the index must be an integer"),
    "missing variable": ("fix fc all forecast 10 v_nope {model}", r"Variable name nope for fix forecast fc does not exist"),
    "atom-style variable": (
        "variable a atom x\nfix fc all forecast 10 v_a {model}",
        r"Fix forecast fc variable a is not equal-style: the input must be a global scalar"),
    "missing compute": ("fix fc all forecast 10 c_nope {model}", r"Compute ID nope for fix forecast fc does not exist"),
    "per-atom compute": (
        "compute ke all ke/atom\nfix fc all forecast 10 c_ke {model}",
        r"Fix forecast fc: compute ke does not calculate a global scalar"),
    "compute index out of range": (
        "fix fc all forecast 10 c_thermo_press[7] {model}",
        r"Fix forecast fc: compute thermo_press vector has 6 elements, index 7 is out of range"),
    "missing fix": ("fix fc all forecast 10 f_nope {model}", r"Fix ID nope for fix forecast fc does not exist"),
    "fix at incompatible times": (
        "fix avg all ave/time 5 4 20 v_t\nfix fc all forecast 10 f_avg {model}",
        r"Fix forecast fc: fix avg is not computed at compatible times: N = 10 must be a multiple "
        r"of its output interval 20"),
    "fix defined after": (
        "fix fc all forecast 10 f_avg {model}\nfix avg all ave/time 2 5 10 v_t",
        r"Fix ID avg for fix forecast fc does not exist"),
    "keyword without value": ("fix fc all forecast 10 v_t {model} action", r"keyword 'action' needs a value"),
    "unknown keyword": (
        "fix fc all forecast 10 v_t {model} evry 3",
        r"Illegal fix forecast keyword 'evry': expected action, tolerance, after, nonfinite, "
        r"file, message or check"),
    "convergence keyword with a model": (
        "fix fc all forecast 10 v_t {model} every 3",
        r"Illegal fix forecast keyword 'every' with a model file: every, min and drift are "
        r"keywords of the model-free mode \('convergence' in place of the model file\)"),
    "drift with a model": (
        "fix fc all forecast 10 v_t {model} drift 0.1",
        r"Illegal fix forecast keyword 'drift' with a model file"),
    # the model's tolerance: a positive relative half-width within the range it was calibrated for
    "tolerance 0": (
        "fix fc all forecast 10 v_t {model} tolerance 0",
        r"Illegal fix forecast tolerance 0: a positive relative half-width of the 90 % interval "
        r"for mu is expected \(0\.25 = mu within \+-25 %\)"),
    "tolerance negative": (
        "fix fc all forecast 10 v_t {model} tolerance -0.25",
        r"Illegal fix forecast tolerance -0\.25: a positive relative half-width"),
    "tolerance not a number": (
        "fix fc all forecast 10 v_t {model} tolerance tight",
        r"Expected floating point parameter instead of 'tight'"),
    "tolerance above the model's range": (
        "fix fc all forecast 10 v_t {model} tolerance 1.5",
        r"Fix forecast fc: tolerance 1\.5 refused by model '.*': invalid argument: tolerance 1\.5 "
        r"is outside the range the model was calibrated for \(0\.05\.\.=1\)\. Give a relative "
        r"half-width from 0\.05 to 1 \(0\.25 = mu within \+-25 % at 90 %\), or leave the keyword "
        r"out for the model's own"),
    "tolerance below the model's range": (
        "fix fc all forecast 10 v_t {model} tolerance 0.01",
        r"Fix forecast fc: tolerance 0\.01 refused by model '.*': .*outside the range the model "
        r"was calibrated for \(0\.05\.\.=1\)"),
    "tolerance without value": ("fix fc all forecast 10 v_t {model} tolerance", r"keyword 'tolerance' needs a value"),
    "bad action": ("fix fc all forecast 10 v_t {model} action stop", r"Illegal fix forecast action 'stop': expected halt or advise"),
    "bad after": ("fix fc all forecast 10 v_t {model} after halt", r"Illegal fix forecast after 'halt': expected continue or stop"),
    "bad nonfinite": (
        "fix fc all forecast 10 v_t {model} nonfinite hard",
        r"Illegal fix forecast nonfinite 'hard': expected error, stop or continue"),
    "nonfinite without value": ("fix fc all forecast 10 v_t {model} nonfinite", r"keyword 'nonfinite' needs a value"),
    "bad message": ("fix fc all forecast 10 v_t {model} message maybe", r"Expected boolean parameter instead of 'maybe'"),
    "unwritable file": (
        "fix fc all forecast 10 v_t {model} file /nonexistent/dir/decisions.txt",
        r"Fix forecast fc cannot open file '/nonexistent/dir/decisions.txt': No such file"),
    "frame spacing mismatch": (
        "fix fc all forecast 20 v_t {model}",
        r"Fix forecast fc: N = 20 steps per frame, but model '.*' was trained on frames 10 steps "
        r"apart\. Set N to 10 .*or add 'check no'"),
    "NaN sample": (
        "variable bad equal ternary(step>=30,exp(1000)-exp(1000),1.0)\n"
        "fix fc all forecast 10 v_bad {model}",
        r"Fix forecast fc: input v_bad is not a finite number on step 30 \(value -?nan, frame 3\)\. "
        r".*use 'nonfinite stop' or 'nonfinite continue' to let the input script go on"),
    # the model-free mode ('convergence' in place of the model file)
    "convergence: every 0": (
        "fix fc all forecast 10 v_t convergence every 0",
        r"Illegal fix forecast every 0: expected a positive number of frames between checks"),
    "convergence: every not a number": (
        "fix fc all forecast 10 v_t convergence every often",
        r"Expected integer parameter instead of 'often'"),
    "convergence: min negative": (
        "fix fc all forecast 10 v_t convergence min -5",
        r"Illegal fix forecast min -5: expected 0 or more frames before the first check"),
    "convergence: tolerance 0": (
        "fix fc all forecast 10 v_t convergence tolerance 0",
        r"Illegal fix forecast fc convergence settings \(every 50, min 0, tolerance 0, drift 0\.125, "
        r"level 0\.9\): invalid argument: tolerance must be a positive relative half-width "
        r"\(0\.25 = ±25 %\), got 0"),
    "convergence: tolerance not a number": (
        "fix fc all forecast 10 v_t convergence tolerance tight",
        r"Expected floating point parameter instead of 'tight'"),
    "convergence: drift negative": (
        "fix fc all forecast 10 v_t convergence drift -0.1",
        r"Illegal fix forecast fc convergence settings \(.*drift -0\.1.*\): invalid argument: drift "
        r"tolerance must be a positive fraction of the mean, got -0\.1"),
    "convergence: action": (
        "fix fc all forecast 10 v_t convergence action halt",
        r"Illegal fix forecast keyword 'action' in convergence mode: it applies to a model file"),
    "convergence: check": (
        "fix fc all forecast 10 v_t convergence check no",
        r"Illegal fix forecast keyword 'check' in convergence mode: it applies to a model file"),
    "convergence: unknown keyword": (
        "fix fc all forecast 10 v_t convergence level 0.95",
        r"Illegal fix forecast keyword 'level': expected every, min, tolerance, drift, after, "
        r"nonfinite, file or message \(convergence mode\)"),
    "convergence: bad after": (
        "fix fc all forecast 10 v_t convergence after halt",
        r"Illegal fix forecast after 'halt': expected continue or stop"),
    "convergence: keyword without value": (
        "fix fc all forecast 10 v_t convergence tolerance",
        r"keyword 'tolerance' needs a value"),
    "convergence: NaN sample": (
        "variable bad equal ternary(step>=30,exp(1000)-exp(1000),1.0)\n"
        "fix fc all forecast 10 v_bad convergence",
        r"Fix forecast fc: input v_bad is not a finite number on step 30 \(value -?nan, frame 3\)\. "
        r"The convergence estimator needs a finite sample every 10 steps"),
    "infinite sample": (
        "variable bad equal ternary(step>=50,exp(1000),1.0)\nfix fc all forecast 10 v_bad {model}",
        r"Fix forecast fc: input v_bad is not a finite number on step 50 \(value inf, frame 5\)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_lammps_error(case, venv, plugin, model, tmp_path):
    body, pattern = CASES[case]
    expect_error(tiny(venv, plugin, tmp_path, body.format(model=model)), pattern)


def test_fix_defined_after_its_input_fix_is_an_error(venv, plugin, model, tmp_path):
    # the input fix exists at the fix command but is redefined later: checked at init
    body = ("fix avg all ave/time 2 5 10 v_t\nfix fc all forecast 10 f_avg {model}\n"
            "unfix avg\nfix avg all ave/time 2 5 10 v_t").format(model=model)
    expect_error(tiny(venv, plugin, tmp_path, body),
                 r"Fix forecast fc reads fix avg, which is defined after it and updates at the end "
                 r"of a step: define fix avg before fix forecast fc")


def test_nan_sample_under_two_ranks(venv, plugin, model, tmp_path):
    body = ("variable bad equal ternary(step>=30,exp(1000)-exp(1000),1.0)\n"
            "fix fc all forecast 10 v_bad {model}").format(model=model)
    expect_error(tiny(venv, plugin, tmp_path, body, np=2),
                 r"input v_bad is not a finite number on step 30")


def test_out_of_range_tolerance_under_two_ranks(venv, plugin, model, tmp_path):
    """The monitor (rank 0) refuses it; every rank stops with the same error, none hangs."""
    run = tiny(venv, plugin, tmp_path, f"fix fc all forecast 10 v_t {model} tolerance 2", np=2)
    expect_error(run, r"Fix forecast fc: tolerance 2 refused by model .*\(0\.05\.\.=1\)")


def test_spacing_check_off_runs(venv, plugin, model, tmp_path):
    run = require_ok(tiny(venv, plugin, tmp_path, f"fix fc all forecast 20 v_t {model} check no "
                                                  f"file {tmp_path / 'd.txt'}"))
    assert run.lines("TINY_END")[0]["step"] == "100"
    header = (tmp_path / "d.txt").read_text().splitlines()[0]
    assert header.startswith("# fix forecast fc: model ") and "N 20" in header


def test_message_no_keeps_the_log_quiet(venv, plugin, model, wide_data, tmp_path):
    from test_fix_forecast import campaign_frames, replay
    campaign_frames(wide_data, 142, tmp_path / "frames.txt", n=300)
    run = require_ok(replay(venv, plugin, model, tmp_path, tmp_path / "frames.txt",
                            fcopts="message no"))
    assert read_decisions(tmp_path / "decisions.txt"), "decisions are still written to the file"
    assert "fix forecast fc step" not in run.log


DAMAGE = {
    # name: (how to damage the bytes of a real model, what the library says)
    "missing": (None, r"cannot read model file"),
    "truncated": (lambda b: b[: len(b) // 2], r"is truncated: \d+ bytes, \d+ expected"),
    "flipped bytes": (lambda b: b[:len(b) // 2] + bytes(x ^ 0xFF for x in b[len(b) // 2:len(b) // 2 + 16])
                      + b[len(b) // 2 + 16:], r"is corrupted: checksum"),
    "not a model": (lambda b: b"# Time-averaged data for fix out\n# TimeStep v_eta\n10 1.0\n",
                    r"is not a simforecast model file"),
    # the format version is the u32 after the 8-byte magic
    "newer format version": (lambda b: b[:8] + (int.from_bytes(b[8:12], "little") + 1).to_bytes(4, "little") + b[12:],
                             r"has format version \d+, newer than the \d+ this simforecast .* reads: upgrade"),
    "older format version": (lambda b: b[:8] + (0).to_bytes(4, "little") + b[12:],
                             r"has format version 0, which this simforecast no longer reads .*retrain"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_bad_model_file(damage, venv, plugin, model, tmp_path):
    how, reason = DAMAGE[damage]
    bad = tmp_path / "bad.sfm"
    if how is not None:
        bad.write_bytes(how(model.read_bytes()))
    err = expect_error(tiny(venv, plugin, tmp_path, f"fix fc all forecast 10 v_t {bad}"),
                       r"Fix forecast fc cannot load (its model: .*bad\.sfm|model file '.*bad\.sfm': )")
    assert re.search(reason, err), err


def test_restart_with_another_model_is_an_error(venv, plugin, model, simforecast_bin, wide_data,
                                                tmp_path):
    from conftest import THRESHOLD, TRAIN_OPTIONS
    from test_fix_forecast import campaign_frames, replay
    other = tmp_path / "other.sfm"
    subprocess.run([str(simforecast_bin), "train", str(wide_data / "traces"), "--threshold",
                    str(THRESHOLD * 0.5), *TRAIN_OPTIONS, "-o", str(other)],
                   check=True, capture_output=True)
    campaign_frames(wide_data, 186, tmp_path / "frames.txt", n=30)
    require_ok(replay(venv, plugin, model, tmp_path / "a", tmp_path / "frames.txt",
                      restart_out=tmp_path / "r.restart"))
    run = replay(venv, plugin, other, tmp_path / "b", tmp_path / "frames.txt",
                 restart_in=tmp_path / "r.restart")
    expect_error(run, r"Fix forecast fc cannot restore the monitor state from the restart file "
                      r"with model '.*other\.sfm': .*different model.*Use the model file the run "
                      r"was started with")


def test_restart_with_other_N_is_an_error(venv, plugin, model, wide_data, tmp_path):
    from test_fix_forecast import campaign_frames, replay
    campaign_frames(wide_data, 186, tmp_path / "frames.txt", n=30)
    require_ok(replay(venv, plugin, model, tmp_path / "a", tmp_path / "frames.txt",
                      restart_out=tmp_path / "r.restart"))
    run = replay(venv, plugin, model, tmp_path / "b", tmp_path / "frames.txt",
                 restart_in=tmp_path / "r.restart", fcopts="check no", N=20)
    expect_error(run, r"Fix forecast fc: N = 20 but the restart file was written with N = 10")


@pytest.mark.plugin_only
def test_plugin_autoloads_from_lammps_plugin_path(venv, plugin, model, tmp_path, monkeypatch):
    """The file name ends in plugin.so, so LAMMPS_PLUGIN_PATH auto-loading picks it up."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / plugin.name).symlink_to(plugin)
    script = tmp_path / "in.auto"
    script.write_text(TINY.replace("plugin load     {plugin}\n", "").format(
        body=f"fix fc all forecast 10 v_t {model} file {tmp_path / 'd.txt'}"))
    monkeypatch.setenv("LAMMPS_PLUGIN_PATH", str(plugins))
    run = require_ok(lammps(venv, tmp_path, script, {}))
    assert f"Loaded 1 plugins from {plugins}" in run.text()
    assert "fix forecast fc: model" in run.text()
    assert run.lines("TINY_END")[0]["step"] == "100"


@pytest.mark.parametrize("written, read", [("convergence", "model"), ("model", "convergence")])
def test_restart_with_the_other_mode_is_an_error(written, read, venv, plugin, model, wide_data,
                                                 tmp_path):
    from test_fix_forecast import campaign_frames, replay
    campaign_frames(wide_data, 186, tmp_path / "frames.txt", n=60)
    mode = {"convergence": "convergence", "model": model}
    require_ok(replay(venv, plugin, mode[written], tmp_path / "a", tmp_path / "frames.txt",
                      restart_out=tmp_path / "r.restart"))
    run = replay(venv, plugin, mode[read], tmp_path / "b", tmp_path / "frames.txt",
                 restart_in=tmp_path / "r.restart")
    if written == "convergence":
        expect_error(run, r"Fix forecast fc: the restart file holds the state of a fix forecast in "
                          r"convergence mode under this ID: define it with 'convergence'")
    else:
        expect_error(run, r"Fix forecast fc: the restart file holds the state of a fix forecast "
                          r"with a model file under this ID, not of the convergence mode")
