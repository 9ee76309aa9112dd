"""Bad input raises a SimforecastError subclass carrying the library's message (and the
builtin exception Python code expects); the monitor is unchanged after a refused push."""

from __future__ import annotations

import numpy as np
import pytest

import simforecast as sf


@pytest.fixture(scope="module")
def model(wide):
    return sf.load_model(wide.cli_model("--preset", "eager"))


@pytest.fixture(scope="module")
def values(wide):
    return wide.values(wide.held_out[0])


def test_corrupt_truncated_foreign_and_missing_model_files(model, tmp_path):
    good = model.to_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    cases = {
        "flipped.sfm": (bytes(flipped), "is corrupted: checksum"),
        "truncated.sfm": (good[: len(good) // 3], "is truncated"),
        "foreign.sfm": (b"not a model at all, just text\n" * 4, "is not a simforecast model file"),
        "empty.sfm": (b"", "is truncated"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(sf.ModelFileError, match=message) as e:
            sf.load_model(path)
        assert str(path) in str(e.value) and isinstance(e.value, sf.SimforecastError)
    with pytest.raises(sf.ModelFileError, match="cannot read model file"):
        sf.load_model(tmp_path / "absent.sfm")
    with pytest.raises(sf.ModelFileError, match="corrupted"):
        sf.Model.from_bytes(bytes(flipped))


def test_non_finite_samples_name_the_frame_and_change_nothing(model, values):
    mon = model.monitor()
    mon.push_many(values[:30])
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(sf.NonFiniteError, match="at frame 30") as e:
            mon.push(bad)
        assert e.value.frame == 30 and isinstance(e.value, ValueError)
    spoiled = values[30:200].copy()
    spoiled[57] = np.nan
    with pytest.raises(ValueError, match=r"at frame 87 \(values\[57\]\); nothing was pushed") as e:
        mon.push_many(spoiled)
    assert isinstance(e.value, sf.NonFiniteError) and e.value.frame == 87
    assert mon.frames == 30 and mon.state == "collecting"
    # Unchanged: the rest gives what an undisturbed monitor gives.
    rest = mon.push_many(values[30:])
    assert rest == model.monitor().push_many(values)


def test_wrong_dtypes_and_shapes_are_type_errors(model, values):
    mon = model.monitor()
    for bad, what in [
        (values.astype(np.float32), "1-D array of float32"),
        (np.arange(300), "1-D array of int64"),
        (values.reshape(2, -1), "2-D array of float64"),
        (list(values), "got list"),
        ("1.0 2.0", "got str"),
    ]:
        with pytest.raises(sf.ArgumentTypeError, match="must be a 1-D NumPy array of float64") as e:
            mon.push_many(bad)
        assert what in str(e.value) and isinstance(e.value, TypeError)
    assert mon.frames == 0
    with pytest.raises(TypeError):
        mon.push("1.0")
    # A strided view is a 1-D float64 array too, and an empty one pushes nothing.
    assert mon.push_many(values[::2][:10]) == [] and mon.frames == 10
    assert mon.push_many(np.array([], dtype=np.float64)) == [] and mon.frames == 10


def test_wrong_frame_spacing(model, values, wide):
    with pytest.raises(sf.InvalidArgumentError, match="one frame every 20 steps, the model was "
                       "trained on one every 10"):
        model.monitor(frame_spacing=20)
    with pytest.raises(sf.InvalidArgumentError, match="must be a positive number of steps"):
        model.monitor(frame_spacing=0)
    with pytest.raises(sf.InvalidArgumentError, match="one frame every 5 steps"):
        model.evaluate([values], frame_spacing=5)
    with pytest.raises(sf.InvalidArgumentError, match="frame_spacing is required with arrays"):
        model.evaluate([values])
    with pytest.raises(sf.InvalidArgumentError, match="frame_spacing is required with arrays"):
        sf.train([values] * 3, 33.1)
    with pytest.raises(sf.InvalidArgumentError, match="one frame every 10 steps, the model was "
                       "trained on one every 20"):
        sf.train([wide.values(p) for p in wide.train[:60]], 33.1, frame_spacing=20, column="v_eta",
                 preset="paper").evaluate(wide.held_out[:2])


def test_bad_training_input(values, wide):
    arrays = [wide.values(p) for p in wide.train[:40]]
    with pytest.raises(sf.InvalidArgumentError, match="the list is empty"):
        sf.train([], 33.1)
    with pytest.raises(sf.InvalidArgumentError, match=r"trace 1 \('trace_1'\) has 0 frames"):
        sf.train([values, np.array([], dtype=np.float64)], 33.1, frame_spacing=10)
    spoiled = [a.copy() for a in arrays]
    spoiled[3][12] = np.inf
    with pytest.raises(sf.NonFiniteError, match=r"trace 3 \('trace_3'\) has the non-finite value "
                       "inf at frame 12") as e:
        sf.train(spoiled, 33.1, frame_spacing=10)
    assert e.value.frame == 12
    with pytest.raises(sf.ArgumentTypeError, match="trace 2 must be a 1-D NumPy array of float64, "
                       "got a 1-D array of int64"):
        sf.train(arrays[:2] + [np.arange(2000)], 33.1, frame_spacing=10)
    with pytest.raises(sf.ArgumentTypeError, match="not a mix"):
        sf.train([arrays[0], str(wide.train[0])], 33.1, frame_spacing=10)
    with pytest.raises(sf.ArgumentTypeError, match="got int"):
        sf.train(3, 33.1)
    with pytest.raises(sf.InvalidArgumentError, match="threshold must be finite"):
        sf.train(arrays, float("nan"), frame_spacing=10)
    with pytest.raises(sf.InvalidArgumentError, match="tail must be at least 2 frames"):
        sf.train(arrays, 33.1, frame_spacing=10, tail=-5)
    with pytest.raises(sf.InvalidArgumentError, match="unknown preset 'fast'"):
        sf.train(arrays, 33.1, frame_spacing=10, preset="fast")
    with pytest.raises(sf.InvalidArgumentError, match=r"screen_windows \(up to 3000\)"):
        sf.train(arrays, 33.1, frame_spacing=10, screen_windows=[100, 3000])
    with pytest.raises(sf.InvalidArgumentError, match="names for 40 traces"):
        sf.train(arrays, 33.1, frame_spacing=10, names=["a"])
    with pytest.raises(sf.TraceFileError, match="matches nothing"):
        sf.train("/nonexistent/traces/*.dat", 33.1)


def test_unknown_and_mistyped_options_are_type_errors(wide):
    arrays = [wide.values(p) for p in wide.train[:40]]
    with pytest.raises(TypeError, match="unexpected keyword argument 'k'; the training options "
                       "are: screen_windows, .*, seed") as e:
        sf.train(arrays, 33.1, frame_spacing=10, k=5)
    assert isinstance(e.value, sf.SimforecastError)
    assert set(sf.TRAINING_OPTIONS) == {n for n in str(e.value).split(": ")[-1].split(", ")}
    with pytest.raises(TypeError, match="option k_grid takes a list of positive ints, got a list"):
        sf.train(arrays, 33.1, frame_spacing=10, k_grid=[3, 4.5])
    with pytest.raises(TypeError, match="option level takes a number, got str"):
        sf.train(arrays, 33.1, frame_spacing=10, level="high")
    with pytest.raises(TypeError, match="option folds takes a positive int, got bool"):
        sf.train(arrays, 33.1, frame_spacing=10, folds=True)
    with pytest.raises(sf.InvalidArgumentError, match="option folds must be at least 1, got 0"):
        sf.train(arrays, 33.1, frame_spacing=10, folds=0)


def test_monitor_state_of_another_model_or_corrupted(model, values, wide):
    mon = model.monitor()
    mon.push_many(values[:40])
    state = mon.save_state()
    other = sf.train(wide.train[:60], 33.1, preset="paper").monitor()
    with pytest.raises(sf.StateError, match="saved with a different model"):
        other.load_state(state)
    with pytest.raises(sf.StateError, match="not a simforecast monitor state"):
        mon.load_state(b"garbage")
    with pytest.raises(sf.StateError, match="corrupted"):
        mon.load_state(state[:14])
    assert mon.frames == 40


def test_io_errors_are_oserrors(model, tmp_path):
    with pytest.raises(sf.SimforecastIOError) as e:
        model.save(tmp_path / "no" / "such" / "dir" / "m.sfm")
    assert isinstance(e.value, OSError)
