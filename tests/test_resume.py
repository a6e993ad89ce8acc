"""Interrupted sweeps resume: no point computed twice, none lost, same final results."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from semcom import evaluation
from semcom.app.manifest import keep_provenance
from semcom.app.runner import run_scenario
from semcom.app.scenario import load_scenario
from semcom.models.store import ModelStore

from helpers import REPO, metrics_rows, tiny_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses: CI runs them, `-m "not slow"` skips

SCENARIO = tiny_scenario("resume", seeds=[0, 1, 2, 3, 4], train_limit=600, test_limit=500, bits=6, device=None,
                         bsc=[0.0, 0.01, 0.02, 0.05, 0.1, 0.2], bec=[0.05, 0.1, 0.3, 0.5])


@pytest.fixture()
def setup(tmp_path, mnist_dir):
    path = tmp_path / "resume.toml"
    path.write_text(SCENARIO)
    store = ModelStore(tmp_path / "store", use_shipped=False)
    return load_scenario(path), store, tmp_path


def test_interrupted_sweep_resumes_to_identical_results(setup, mnist_dir, monkeypatch):
    scenario, store, tmp = setup
    reference = run_scenario(scenario, data_path=mnist_dir, results_root=tmp / "ref", store=store, progress=False)

    calls = {"n": 0}
    original_run = evaluation.CodecBench.run

    def flaky(self, point, n_examples=0):
        calls["n"] += 1
        if calls["n"] == 13:
            raise KeyboardInterrupt
        return original_run(self, point, n_examples)

    monkeypatch.setattr(evaluation.CodecBench, "run", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario, data_path=mnist_dir, results_root=tmp / "cut", store=store, progress=False)
    run_dir = next((tmp / "cut" / "resume").iterdir())
    journal = (run_dir / "journal.jsonl").read_text().splitlines()
    assert len(journal) == 12 and not (run_dir / "metrics.csv").exists()

    monkeypatch.setattr(evaluation.CodecBench, "run", original_run)
    counted = {"n": 0}

    def counting(self, point, n_examples=0):
        counted["n"] += 1
        return original_run(self, point, n_examples)

    monkeypatch.setattr(evaluation.CodecBench, "run", counting)
    resumed = run_scenario(scenario, data_path=mnist_dir, results_root=tmp / "cut", store=store, progress=False)
    assert counted["n"] == 50 - 12  # only the missing points were computed
    assert resumed.run_dir == run_dir
    assert metrics_rows(resumed.run_dir) == metrics_rows(reference.run_dir)
    ids = [r["codec"] + r["channel"] + r["seed"] for r in metrics_rows(resumed.run_dir)]
    assert len(ids) == len(set(ids)) == 51  # 50 points + the original-images row
    # wall-clock times live in timings.csv: the result tables are byte-identical, so `cmp` checks a resume
    for name in ("metrics.csv", "per_class.csv"):
        assert (resumed.run_dir / name).read_bytes() == (reference.run_dir / name).read_bytes()
    assert "seconds" not in (resumed.run_dir / "metrics.csv").read_text().splitlines()[0]
    assert (resumed.run_dir / "timings.csv").read_text().splitlines()[0] == "codec,channel,seed,seconds"
    manifest = json.loads((resumed.run_dir / "manifest.json").read_text())
    assert manifest["points"] == {"total": 50, "computed_now": 38, "resumed": 12}


def test_rerun_of_a_finished_run_changes_no_byte(tmp_path, mnist_dir):
    """Rerunning a finished (e.g. committed) run redraws it from the journal: every file keeps its
    bytes, figures included, and the manifest still describes the invocation that computed the points."""
    text = tiny_scenario("again", bsc=[0.0, 0.05], test_limit=100).replace(
        "plots = false", 'plots = true\nformats = ["png", "pdf", "svg"]')
    path = tmp_path / "again.toml"
    path.write_text(text)
    scenario, store = load_scenario(path), ModelStore(tmp_path / "store", use_shipped=False)
    first = run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "r", store=store, progress=False,
                         command="first")
    files = {p.relative_to(first.run_dir): p.read_bytes() for p in first.run_dir.rglob("*") if p.is_file()}
    assert {p.suffix for p in files} >= {".png", ".pdf", ".svg", ".json", ".csv"}
    again = run_scenario(scenario, data_path=mnist_dir, results_root=tmp_path / "r", store=store, progress=False,
                         command="second")
    assert again.run_dir == first.run_dir
    changed = [str(p) for p, data in files.items() if (first.run_dir / p).read_bytes() != data]
    assert changed == []
    manifest = json.loads((first.run_dir / "manifest.json").read_text())
    assert manifest["command"] == "first" and manifest["points"]["computed_now"] == 2


def test_manifest_keeps_the_computing_invocation_only_on_a_resume_that_computes_nothing():
    previous = {"run_id": "run-a", "command": "old", "started": "t0", "seconds": 9.0,
                "points": {"total": 2, "computed_now": 2, "resumed": 0}, "versions": {"git_commit": "aaa"}}
    new = {"run_id": "run-a", "command": "new", "started": "t1", "seconds": 1.0,
           "points": {"total": 2, "computed_now": 0, "resumed": 2}, "versions": {"git_commit": "bbb"},
           "files": ["x"]}
    kept = keep_provenance(new, previous, n_computed=0)
    assert kept == {**previous, "files": ["x"]}
    assert keep_provenance(new, previous, n_computed=1) == new  # computed something: this invocation
    assert keep_provenance(new, {**previous, "run_id": "run-b"}, n_computed=0) == new  # another run's
    assert keep_provenance(new, None, n_computed=0) == new
    assert keep_provenance(new, {"run_id": "run-a"}, n_computed=0) == new  # incomplete: nothing borrowed


def test_kill_9_mid_sweep_then_rerun_matches(setup, mnist_dir):
    scenario, store, tmp = setup
    reference = run_scenario(scenario, data_path=mnist_dir, results_root=tmp / "ref", store=store, progress=False)
    env = {**os.environ, "SEMCOM_STORE": str(tmp / "store")}
    cmd = [sys.executable, "-m", "semcom.app.cli", "run", str(scenario.source), "--data", str(mnist_dir),
           "--results", str(tmp / "killed"), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = tmp / "killed" / "resume" / reference.run_dir.name / "journal.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if journal.exists() and len(journal.read_bytes().splitlines()) >= 3:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(journal.read_bytes().splitlines())
    assert 0 < done_before < 50, "the kill should land mid-sweep"
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert metrics_rows(journal.parent) == metrics_rows(reference.run_dir)


def test_concurrent_writer_is_refused(setup, mnist_dir):
    from semcom.app.journal import Journal, RunLockedError

    _, _, tmp = setup
    with Journal(tmp / "run" / "journal.jsonl"):
        with pytest.raises(RunLockedError, match="another semcom process"):
            with Journal(tmp / "run" / "journal.jsonl"):
                pass


def test_torn_journal_line_is_dropped(tmp_path):
    from semcom.app.journal import Journal

    path = tmp_path / "journal.jsonl"
    path.write_text('{"point_id": "a", "row": {}}\n{"point_id": "b", "ro')
    with Journal(path) as j:
        assert list(j.completed()) == ["a"]
        j.append({"point_id": "c", "row": {}})
        assert list(j.completed()) == ["a", "c"]
