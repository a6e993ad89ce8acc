"""The Dask executor computes exactly what the local one does."""


import pytest

from semcom.app.runner import run_scenario
from semcom.app.scenario import load_scenario
from semcom.models.store import ModelStore

from helpers import metrics_rows, tiny_scenario

distributed = pytest.importorskip("distributed")

SCENARIO = tiny_scenario("dask", seeds=[0, 1], train_limit=400, test_limit=300, bits=[4, 6], levels=None, device=None,
                         bsc=[0.0, 0.05], bec=[0.1])


@pytest.mark.slow
def test_dask_local_cluster_matches_local_executor(tmp_path, mnist_dir):
    from semcom.app.executors import DaskExecutor

    path = tmp_path / "dask.toml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    store = ModelStore(tmp_path / "store", use_shipped=False)
    local = run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "local", store=store,
                         progress=False)
    remote = run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "dask", store=store,
                          progress=False, executor=DaskExecutor(n_workers=2))
    assert metrics_rows(local.run_dir) == metrics_rows(remote.run_dir)
    assert len(metrics_rows(remote.run_dir)) == 1 + 2 * 3 * 2
