"""`semcom train --status`: each model stored, training now, checkpointed or missing, and nothing trained."""

import fcntl
import re

import pytest
import torch

from helpers import run_cli, tiny_scenario
from semcom.app.scenario import load_scenario
from semcom.app.status import MISSING, PARTIAL, STORED, TRAINING, model_status, status_markdown
from semcom.models.store import ModelStore, spec_key
from semcom.models.zoo import TrainingData, classifier_spec, codec_spec

DATA = TrainingData(None, None, None, None, {"dataset": "mnist", "n_images": 300, "images_sha256": "fixed",
                                             "val_fraction": 0.2, "split_seed": 0})


@pytest.fixture
def scenario(tmp_path):
    text = tiny_scenario("status", bits=[4, 6]).replace('name = "c"', 'name = "c"\ntrain_seeds = [0, 1]')
    path = tmp_path / "status.toml"
    path.write_text(text)
    return load_scenario(path)


def test_each_state_is_told_apart(scenario, tmp_path):
    store = ModelStore(tmp_path / "store", use_shipped=False)
    clf = classifier_spec(scenario.classifier, DATA)
    store.save(clf, {"w": torch.zeros(2)}, {"metrics": {"val_accuracy": 0.5}})
    specs = {c.name: codec_spec(c, DATA, spec_key(clf)) for c in scenario.codec_list}
    names = list(specs)
    assert len(names) == 4
    stored, partial, training, missing = names
    store.save(specs[stored], {"w": torch.zeros(2)}, {"metrics": {"val_accuracy": 0.25, "val_mse": 0.04}})
    store.checkpoint_path(specs[partial]).parent.mkdir(parents=True)
    torch.save({"epoch": 1, "history": {}}, store.checkpoint_path(specs[partial]))
    store.checkpoint_path(specs[training]).write_bytes(b"not a checkpoint")  # unreadable: no progress, no error
    (store.root / "locks").mkdir()
    with open(store.root / "locks" / f"{spec_key(specs[training])}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a training process holds it (store.lock)
        rows = model_status(scenario, DATA, store)
    assert [r.name for r in rows] == ["classifier", *names]
    assert [r.state for r in rows] == [STORED, STORED, PARTIAL, TRAINING, MISSING]
    by = {r.name: r for r in rows}
    assert by[stored].val_mse == 0.04 and by[stored].progress == "1/1"
    assert by[partial].epochs_done == 1 and by[training].epochs_done is None and by[missing].progress == "0/1"
    assert all(r.key == spec_key(specs[r.name]) for r in rows[1:])
    # the lock was only looked at: once released, the model is missing again, not "training now"
    assert model_status(scenario, DATA, store, only=[training])[1].state == MISSING
    # asking leaves no lock file behind for models never trained in this store
    assert sorted(p.name for p in (store.root / "locks").iterdir()) == [f"{spec_key(specs[training])}.lock"]
    text = status_markdown(rows)
    assert "| 25.00% | 0.0400 |" in text and text.endswith("2 stored, 1 training now, 1 checkpoint, 1 missing (of 5 models)")


def test_cli_status_trains_nothing_and_names_unknown_codecs(tmp_path, mnist_dir):
    path = tmp_path / "status.toml"
    path.write_text(tiny_scenario("status"))
    store = tmp_path / "store"
    out = run_cli("train", str(path), "--data", str(mnist_dir), "--store", str(store), "--status", tmp=tmp_path)
    assert out.returncode == 0, out.stderr
    assert re.search(r"\| c \| [0-9a-f]{16} \| missing \| 0/1 \|", out.stdout)
    assert not list(store.glob("*.safetensors"))  # nothing was trained
    bad = run_cli("train", str(path), "--data", str(mnist_dir), "--store", str(store), "--status", "--only", "nope",
                  tmp=tmp_path)
    assert bad.returncode != 0 and "no codec named nope" in bad.stderr
