"""Training and evaluation from Python against the command line on the same traces: the same
model card (all but the time it was made), the same decisions, the same held-out metrics."""

from __future__ import annotations

import math
import pickle
import threading
import time

import numpy as np
import pytest

import simforecast as sf

from conftest import cli_json, run_cli


def without_created(card: dict) -> dict:
    card = dict(card)
    assert card.pop("created").endswith("Z")
    return card


def assert_close_tree(a, b, where="") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_close_tree(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close_tree(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_train_from_arrays_equals_the_cli(campaign):
    cli = sf.load_model(campaign.cli_model())
    arrays = [campaign.values(p) for p in campaign.train]
    names = [p.stem for p in campaign.train]
    model = sf.train(arrays, campaign.threshold, frame_spacing=10, column="v_eta", names=names)
    assert without_created(model.card()) == without_created(cli.card())
    # The card names the training set by a hash of its names and values: the same traces.
    assert model.card()["training"]["sha256"] == cli.card()["training"]["sha256"]
    for trace in campaign.held_out:
        values = campaign.values(trace)
        assert model.replay(values) == cli.replay(values), trace.name


def test_train_from_paths_with_options_equals_the_cli(wide):
    options = ["--preset", "eager", "--k-grid", "3,5,7", "--folds", "4", "--seed", "3",
               "--screen-score", "vote", "--forecast-by", "0"]
    cli = sf.load_model(wide.cli_model(*options))
    model = sf.train([str(p) for p in wide.train], 33.1, preset="eager", k_grid=[3, 5, 7],
                     folds=4, seed=3, screen_score="vote", forecast_by=0, units="eps tau")
    card = without_created(model.card())
    assert card.pop("input")["units"] == "eps tau"
    want = without_created(cli.card())
    want.pop("input")
    assert card == want
    assert card["training"]["cv_folds"] == 4 and card["training"]["seed"] == 3
    assert {s["k"] for s in card["stages"]} <= {3, 5, 7}


def test_a_directory_and_a_glob_train_the_cli_model(wide, tmp_path):
    traces_dir = wide.train[0].parent
    cli_path = tmp_path / "all.sfm"
    run_cli("train", traces_dir, "--threshold", 33.1, "--preset", "eager", "-o", cli_path)
    by_dir = sf.train(traces_dir, 33.1, preset="eager")
    by_glob = sf.train(str(traces_dir / "run_*.dat"), 33.1, preset="eager")
    want = without_created(sf.load_model(cli_path).card())
    assert without_created(by_dir.card()) == want
    assert without_created(by_glob.card()) == want


def test_card_text_is_what_inspect_prints(wide):
    path = wide.cli_model("--preset", "eager")
    model = sf.load_model(path)
    printed = run_cli("inspect", path)
    assert printed == f"model file {path}\n{model.card_text()}\n"
    assert str(model) == model.card_text()
    assert model.card() == cli_json("inspect", path)
    assert model.frame_spacing == 10 and model.column == "v_eta"
    assert model.max_window == max(model.windows) == model.card()["stages"][-1]["window"]
    assert (model.threshold, model.below, model.tail, model.preset) == (33.1, False, 1000, "eager")


def test_evaluate_equals_the_cli(campaign):
    path = campaign.cli_model()
    model = sf.load_model(path)
    want = cli_json("evaluate", "--model", path, *campaign.held_out)
    assert_close_tree(model.evaluate(campaign.held_out), want)
    arrays = [campaign.values(p) for p in campaign.held_out]
    names = [p.stem for p in campaign.held_out]
    metrics, outcomes = model.evaluate(arrays, frame_spacing=10, names=names, per_trace=True)
    assert_close_tree(metrics, want)
    assert [o["name"] for o in outcomes] == names
    assert sum(o["halt_frame"] is not None for o in outcomes) == want["halts"]
    wider = cli_json("evaluate", "--model", path, "--bank-at", "0.5", *campaign.held_out)
    assert_close_tree(model.evaluate(campaign.held_out, bank_at=0.5), wider)
    assert wider["bank_at"] == 0.5 and wider["honest"] != want["honest"]


def test_save_load_bytes_and_pickle_keep_the_model(wide, tmp_path):
    model = sf.train(wide.train[:80], 33.1, preset="paper")
    path = tmp_path / "m.sfm"
    model.save(path)
    assert sf.load_model(path) == model
    assert sf.Model.from_bytes(path.read_bytes()) == model
    assert model.to_bytes() == path.read_bytes()
    assert pickle.loads(pickle.dumps(model)) == model
    assert run_cli("inspect", path).endswith(model.card_text() + "\n")


def test_training_releases_the_gil(wide):
    """A Python thread keeps running while another trains (on the whole campaign, seconds)."""
    arrays = [wide.values(p) for p in wide.train + wide.held_out]
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)

    t = threading.Thread(target=ticker)
    t.start()
    start = time.perf_counter()
    sf.train(arrays, 33.1, frame_spacing=10)
    seconds = time.perf_counter() - start
    done.set()
    t.join()
    gaps = np.diff([x for x in ticks if x >= start])
    assert seconds > 0.2, "training too short to tell"
    # With the GIL held the ticker would stop for the whole training.
    assert gaps.max() < min(0.25, seconds / 2), (gaps.max(), seconds)


def test_short_traces_drop_the_preset_windows_with_a_warning(wide):
    arrays = [wide.values(p)[:700] for p in wide.train[:60]]
    with pytest.warns(sf.SimforecastWarning, match="the shortest trace has 700 frames"):
        model = sf.train(arrays, 33.1, frame_spacing=10, tail=300)
    assert model.max_window < 700 and model.tail == 300
