"""Same scenario, same data, models trained from scratch twice: bit-identical results.

Two fresh stores force both runs to train the classifier and the codec; everything
downstream (weights, metrics, per-class tables, example reconstructions) must agree
bit for bit, and the manifest must say what is needed to reproduce the run.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from semcom.app.runner import run_scenario
from semcom.app.scenario import load_scenario
from semcom.models.store import ModelStore, file_sha256

from helpers import tiny_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses: CI runs them, `-m "not slow"` skips

SCENARIO = tiny_scenario("determinism", seeds=[0, 3], train_limit=200, test_limit=100,
                         classifier="batch_size = 64", codec_train="batch_size = 32", bsc=[0.0, 0.05], bec=[0.2],
                         receiver='erasure_policy = "mode"', examples=3)

COMMAND = "semcom run determinism.toml --fresh"
FILE_OF_ROLE = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
                "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def _table(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = [{k: v for k, v in r.items() if k != "seconds"} for r in reader]
        return [c for c in reader.fieldnames if c != "seconds"], rows


def _weights_path(store: ModelStore, entry: dict) -> Path:
    """Where a manifest's model entry must be: <key>.<first 12 hex of its weights' SHA-256>.safetensors,
    the file its card <key>.json names."""
    path = store.root / f"{entry['key']}.{entry['weights_sha256'][:12]}.safetensors"
    card = json.loads((store.root / f"{entry['key']}.json").read_text())
    assert card["weights_file"] == path.name
    return path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, mnist_dir):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # gentle on a shared machine; both runs use the same setting
    tmp = tmp_path_factory.mktemp("determinism")
    path = tmp / "determinism.toml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    runs = []
    for name in ("store-a", "store-b"):
        store = ModelStore(tmp / name, use_shipped=False)
        result = run_scenario(scenario, data_path=mnist_dir, results_root=tmp / "results", store=store,
                              fresh=True, progress=False, command=COMMAND)
        runs.append((store, result.run_dir))
    torch.set_num_threads(threads)
    return runs


def test_fresh_runs_get_separate_folders(two_runs):
    (_, a), (_, b) = two_runs
    assert a != b and a.parent == b.parent


def test_retrained_models_have_identical_weights(two_runs):
    (store_a, dir_a), (store_b, dir_b) = two_runs
    man_a = json.loads((dir_a / "manifest.json").read_text())
    man_b = json.loads((dir_b / "manifest.json").read_text())
    assert set(man_a["models"]) == set(man_b["models"]) == {"classifier", "c"}
    for name in man_a["models"]:
        ma, mb = man_a["models"][name], man_b["models"][name]
        assert ma["key"] == mb["key"]
        # both stores really trained (fresh stores), and got the same bytes
        wa, wb = _weights_path(store_a, ma), _weights_path(store_b, mb)
        assert wa.exists() and wb.exists()
        sa = torch.load(wa, weights_only=True)
        sb = torch.load(wb, weights_only=True)
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), f"{name}: {k} differs between two trainings"
        assert ma["weights_sha256"] == file_sha256(wa) and mb["weights_sha256"] == file_sha256(wb)


def test_identical_weights_get_identical_weight_hashes(two_runs):
    (store_a, dir_a), (store_b, dir_b) = two_runs
    man_a = json.loads((dir_a / "manifest.json").read_text())
    man_b = json.loads((dir_b / "manifest.json").read_text())
    for name in man_a["models"]:
        ma, mb = man_a["models"][name], man_b["models"][name]
        assert ma["weights_sha256"] == mb["weights_sha256"], name
        # same hash -> same content-named file, byte for byte
        wa, wb = _weights_path(store_a, ma), _weights_path(store_b, mb)
        assert wa.name == wb.name and wa.read_bytes() == wb.read_bytes(), name


def test_metrics_are_bit_identical_except_timing(two_runs):
    (_, a), (_, b) = two_runs
    for table in ("metrics.csv", "per_class.csv"):
        cols_a, rows_a = _table(a / table)
        cols_b, rows_b = _table(b / table)
        assert cols_a == cols_b
        assert rows_a == rows_b, table  # compared as text: float repr, so bit for bit
    _, rows = _table(a / "metrics.csv")
    assert len(rows) == 1 + 3 * 2  # original + (3 channel settings x 2 seeds)
    ids = [(r["codec"], r["channel"], r["seed"]) for r in rows]
    assert len(set(ids)) == len(ids)
    with np.load(a / "examples.npz") as ea, np.load(b / "examples.npz") as eb:
        assert sorted(ea.files) == sorted(eb.files)
        for k in ea.files:
            assert np.array_equal(ea[k], eb[k]), k


def test_manifest_records_what_reproduces_the_run(two_runs, mnist_dir):
    (store, run_dir), _ = two_runs
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["seeds"] == [0, 3]
    assert m["command"] == COMMAND
    assert m["run_id"] == run_dir.name
    assert m["scenario_sha256"] == hashlib.sha256((run_dir.parents[2] / "determinism.toml").read_bytes()).hexdigest()
    assert m["scenario"]["seeds"] == [0, 3] and m["scenario"]["dataset"]["train_limit"] == 200
    # data: the checksum of every file that was read
    checksums = m["data"]["checksums"]
    assert set(checksums) == set(FILE_OF_ROLE)
    for role, stem in FILE_OF_ROLE.items():
        on_disk = next(p for p in mnist_dir.iterdir() if p.name.startswith(stem))
        assert checksums[role] == file_sha256(on_disk), role
    assert m["data"]["n_train"] + m["data"]["n_val"] == 200 and m["data"]["n_test"] == 100
    assert m["data"]["training_identity"]["n_images"] == 200
    # models: key and weights hash, matching the store's files and cards
    for name, entry in m["models"].items():
        card = json.loads((store.root / f"{entry['key']}.json").read_text())
        weights = _weights_path(store, entry)
        assert card["weights_file"] == weights.name, name
        assert entry["weights_sha256"] == card["weights_sha256"] == file_sha256(weights), name
    # versions of everything that changes numbers
    v = m["versions"]
    assert v["semcom"] and v["torch"] == torch.__version__ and v["numpy"] == np.__version__
    assert v["python"] and "channels" in v and "git_commit" in v
    assert m["points"] == {"total": 6, "computed_now": 6, "resumed": 0}
    for f in ("metrics.csv", "per_class.csv", "summary.md", "examples.npz", "journal.jsonl", "manifest.json"):
        assert f in m["files"] and (run_dir / f).exists(), f
