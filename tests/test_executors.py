"""The Dask executor computes exactly what the local one does."""

import csv

import pytest

from semcom.runner import run_scenario
from semcom.scenario import load_scenario
from semcom.store import ModelStore

distributed = pytest.importorskip("distributed")

SCENARIO = """
name = "dask"
seeds = [0, 1]
[dataset]
train_limit = 400
test_limit = 300
[classifier]
epochs = 1
[[codecs]]
name = "c"
bits = [4, 6]
width = 8
[codecs.train]
epochs = 1
[[channels]]
kind = "bsc"
p = [0.0, 0.05]
[[channels]]
kind = "bec"
epsilon = [0.1]
[output]
plots = false
examples = 2
"""


def _rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def test_dask_local_cluster_matches_local_executor(tmp_path, mnist_dir):
    from semcom.executors import DaskExecutor

    path = tmp_path / "dask.toml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    store = ModelStore(tmp_path / "store", use_shipped=False)
    local = run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "local", store=store,
                         progress=False)
    remote = run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "dask", store=store,
                          progress=False, executor=DaskExecutor(n_workers=2))
    assert _rows(local.run_dir) == _rows(remote.run_dir)
    assert len(_rows(remote.run_dir)) == 1 + 2 * 3 * 2
