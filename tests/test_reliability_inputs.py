"""Inputs that validation used to accept and training or writing then crashed on, or turned into garbage.

Each class of fault gets a clean one-line error naming the file (or path) and the key, exit
status 2 on the command line, and nothing computed before it is lost or half-written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from semcom.errors import ModelStoreError, ScenarioError, TrainingDivergedError
from semcom.app.runner import prepare_data, run_scenario
from semcom.app.scenario import load_scenario
from semcom.models.store import ModelStore

from helpers import run_cli, tiny_scenario

TINY = tiny_scenario("inputs-tiny")


def _parse(text: str, tmp_path: Path):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return load_scenario(path)


@pytest.mark.parametrize("change, key, expect", [
    ("[codecs.train]\nepochs = 1\n", "[codecs.train]\nepochs = 1\nlr = inf\n", "finite"),
    ("[classifier]\nepochs = 1\n", "[classifier]\nepochs = 1\nlr = inf\n", "finite"),
    ("[dataset]\n", "[dataset]\nval_fraction = 0\n", "validation split"),
    ('name = "inputs-tiny"', 'name = ".."', "not starting with '.'"),
    ("seeds = [0]", "seeds = [0, 0]", "distinct"),
    ("[codecs.train]\nepochs = 1\n", "[codecs.train]\nepochs = 1\nseed = -1\n", "integer >= 0"),
    ('name = "c"', 'name = "c"\ntrain_seeds = [1, 1]', "repeats a seed"),
    ('name = "c"', 'name = "c"\ntrain_seeds = [-2]', "integer >= 0"),
])
def test_values_that_used_to_pass_are_refused_at_load(tmp_path, change, key, expect):
    assert change in TINY
    with pytest.raises(ScenarioError, match=expect) as info:
        _parse(TINY.replace(change, key, 1), tmp_path)
    assert str(tmp_path / "s.toml") in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("top", ["[[channel]]\nkind = 'bsc'\n", "[links]\nbit_rate = 1\n"])
def test_unknown_top_level_key_lists_channels_and_link(tmp_path, top):
    with pytest.raises(ScenarioError) as info:
        _parse(TINY + top, tmp_path)
    msg = str(info.value)
    assert "unknown key" in msg and "channels" in msg and "link," in msg and "codecs" in msg


def test_limits_are_checked_against_the_loaded_dataset(tmp_path, mnist_dir):
    scenario = _parse(TINY.replace("train_limit = 300", "train_limit = 200000"), tmp_path)
    with pytest.raises(ScenarioError, match=r"dataset.train_limit: 200000, but mnist .* holds 60000 training images"):
        prepare_data(scenario, mnist_dir)
    scenario = _parse(TINY.replace("test_limit = 200", "test_limit = 10001"), tmp_path)
    with pytest.raises(ScenarioError, match="holds 10000 test images"):
        prepare_data(scenario, mnist_dir)
    scenario = _parse(TINY.replace("train_limit = 300", "train_limit = 1"), tmp_path)
    with pytest.raises(ScenarioError, match="both must be non-empty"):
        prepare_data(scenario, mnist_dir)


def test_dataset_path_that_is_a_file_says_so(tmp_path):
    from semcom.data import DatasetError, load_dataset

    f = tmp_path / "not-a-folder"
    f.write_text("x")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        load_dataset("mnist", path=f, download=False)


# ------------------------------------------------------------- results location

def _error_line(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and lines and lines[-1].startswith("error:"), res.stderr
    assert "Traceback" not in res.stderr
    return lines[-1]


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
@pytest.mark.slow
def test_unwritable_results_location_fails_before_any_work(tmp_path, mnist_dir, where):
    (tmp_path / "s.toml").write_text(TINY)
    if where == "under-a-file":
        (tmp_path / "plain").write_text("x")
        results = tmp_path / "plain" / "results"
    else:
        results = Path("/proc/semcom-results")
    res = run_cli("run", str(tmp_path / "s.toml"), "--data", str(mnist_dir), "--results", str(results), tmp=tmp_path)
    line = _error_line(res)
    assert str(results) in line and ("is a file" in line or "cannot write" in line)
    assert not (tmp_path / "store").exists()  # nothing was trained, not even the classifier


@pytest.mark.slow
def test_output_dir_set_to_a_file_is_one_line(tmp_path, mnist_dir):
    (tmp_path / "out").write_text("x")
    (tmp_path / "s.toml").write_text(TINY.replace("[output]\n", f'[output]\ndir = "{tmp_path / "out"}"\n'))
    res = run_cli("run", str(tmp_path / "s.toml"), "--data", str(mnist_dir), tmp=tmp_path)
    assert "is a file, not a folder" in _error_line(res)


# ------------------------------------------------------------- stores and training

def test_a_store_that_holds_every_model_is_read_without_locking(tmp_path, mnist_dir, monkeypatch):
    scenario = _parse(TINY, tmp_path)
    store = ModelStore(tmp_path / "store", use_shipped=False)
    run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "r1", store=store, progress=False)

    def no_lock(self, spec):
        raise AssertionError("a lookup took the training lock")

    monkeypatch.setattr(ModelStore, "lock", no_lock)
    result = run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "r2", store=store, progress=False)
    assert (result.run_dir / "metrics.csv").exists()


def test_a_diverging_codec_is_not_stored(tmp_path, mnist_dir, monkeypatch):
    import semcom.models.training.codec as codec_training

    real = codec_training.adversarial_step

    def nan_step(*args, **kwargs):
        out = real(*args, **kwargs)
        return {**out, "loss_gen": math.nan}

    monkeypatch.setattr(codec_training, "adversarial_step", nan_step)
    scenario = _parse(TINY, tmp_path)
    store = ModelStore(tmp_path / "store", use_shipped=False)
    with pytest.raises(TrainingDivergedError, match="diverged in epoch 1.*nothing was stored"):
        run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "r", store=store, progress=False)
    cards = [json.loads(p.read_text()) for p in (tmp_path / "store").glob("*.json")]
    assert [c["spec"]["kind"] for c in cards] == ["classifier"]  # the classifier, trained before, is kept


def test_a_chance_level_classifier_is_not_stored(tmp_path):
    from semcom.models.training.classifier import ClassifierTrainConfig, train_classifier

    x = torch.rand(1200, 1, 28, 28)
    y = torch.randint(0, 10, (1200,))  # labels unrelated to the images: nothing to learn
    with pytest.raises(TrainingDivergedError, match="chance level"):
        train_classifier(x[:600], y[:600], x[600:], y[600:], ClassifierTrainConfig(epochs=1, device="cpu"),
                         progress=False)


# ------------------------------------------------------------- model cards

@pytest.fixture()
def stored_run(tmp_path, mnist_dir):
    scenario = _parse(TINY, tmp_path)
    store = ModelStore(tmp_path / "store", use_shipped=False)
    run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "r", store=store, progress=False)
    codec_card = next(p for p in (tmp_path / "store").glob("*.json")
                      if json.loads(p.read_text())["spec"]["kind"] == "codec")
    return scenario, store, codec_card


@pytest.mark.parametrize("damage, expect", [
    (lambda c: {**c, "weights_sha256": 12345}, "'weights_sha256' is int"),
    (lambda c: json.dumps(c), "JSON str, expected an object"),
    (lambda c: {**c, "symbol_prior": [[0.5, 0.5]]}, "symbol_prior"),
    (lambda c: {**c, "symbol_prior": [[0.25, 0.25, 0.25, 0.25]] * len(c["symbol_prior"]) + [[1, 0]]}, "symbol_prior"),
    (lambda c: {k: v for k, v in c.items() if k != "symbol_prior"}, "lacks the symbol prior"),
    (lambda c: {**c, "symbol_prior": [[0.7, 0.1, 0.1, 0.1]] * len(c["symbol_prior"])}, "does not match its"),
])
def test_damaged_cards_are_one_store_error_naming_the_fix(stored_run, tmp_path, mnist_dir, damage, expect):
    scenario, store, card_path = stored_run
    card_path.write_text(json.dumps(damage(json.loads(card_path.read_text()))))
    with pytest.raises(ModelStoreError, match=expect) as info:
        run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "r3", store=store, progress=False)
    assert "delete" in str(info.value) and "retrain" in str(info.value)


@pytest.mark.slow
def test_card_errors_reach_the_command_line_as_one_line(stored_run, tmp_path, mnist_dir):
    scenario, store, card_path = stored_run
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "symbol_prior": [[0.5, 0.5]]}))
    res = run_cli("run", str(scenario.source), "--data", str(mnist_dir), "--store", str(store.root),
                  "--results", str(tmp_path / "r4"), tmp=tmp_path)
    assert "symbol_prior" in _error_line(res)


@pytest.mark.slow
def test_long_library_errors_are_one_line_with_details_behind_verbose(stored_run, tmp_path, mnist_dir):
    """A legacy pickle that torch refuses: its many-line refusal becomes one line, details on request."""
    import pickle

    scenario, store, card_path = stored_run
    card = json.loads(card_path.read_text())

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = card_path.parent / f"{card['key']}.pt"
    evil.write_bytes(pickle.dumps({"w": Evil()}))
    from semcom.models.store import file_sha256

    (card_path.parent / card["weights_file"]).unlink()
    card_path.write_text(json.dumps({**card, "weights_file": evil.name, "weights_sha256": file_sha256(evil)}))
    args = ("run", str(scenario.source), "--data", str(mnist_dir), "--store", str(store.root),
            "--results", str(tmp_path / "r5"))
    res = run_cli(*args, tmp=tmp_path)
    line = _error_line(res)
    assert "cannot be loaded safely" in line and "--verbose" in line
    assert "pwned" not in res.stdout and "caused by" not in res.stderr
    verbose = run_cli("--verbose", *args, tmp=tmp_path)
    assert verbose.returncode == 2 and "caused by" in verbose.stderr and len(verbose.stderr.splitlines()) > 2
