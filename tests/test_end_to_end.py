"""The whole chain on the quick scenario: data -> models -> bits -> channel -> metrics -> plots."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses: CI runs them, `-m "not slow"` skips

REPO = Path(__file__).resolve().parents[1]


def _run(args, tmp_path):
    env = {**os.environ, "SEMCOM_STORE": str(tmp_path / "store"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "semcom.app.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory, mnist_dir):
    tmp = tmp_path_factory.mktemp("quick")
    args = ["run", "scenarios/quick.toml", "--data", str(mnist_dir), "--results", str(tmp / "results")]
    first = _run(args, tmp)
    second = _run(args + ["--fresh"], tmp)
    again = _run(args, tmp)
    return tmp, first, second, again


def test_quick_scenario_writes_metrics_manifest_and_plots(quick_runs):
    tmp, first, _, _ = quick_runs
    assert first.returncode == 0, first.stderr[-2000:]
    runs = sorted((tmp / "results" / "quick").iterdir())
    assert len(runs) == 2  # --fresh made a second folder; the plain rerun reused the first
    run = next(r for r in runs if len(r.name) == len("run-") + 10)
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert {r["channel"] for r in rows} == {"clean", "BSC p=0.01", "BEC ε=0.1"}
    coded = [r for r in rows if r["codec"] == "tiny-mse-8"]
    assert all(r["bits_per_digit"] == "8.0" and r["payload_bits"] == "8" for r in coded)
    assert all(int(r["n_images"]) == 1000 for r in rows)
    clean = next(r for r in coded if r["channel"] == "clean")
    bec = next(r for r in coded if r["channel"] == "BEC ε=0.1")
    assert float(clean["bit_error_rate"]) == 0.0 and float(clean["symbol_erasure_rate"]) == 0.0
    assert 0.07 < float(bec["bit_erasure_rate"]) < 0.13
    assert 0 < float(clean["mse"]) < 0.2 and 0.1 < float(clean["accuracy"]) <= 1.0
    assert float(clean["entropy_joint_bits"]) <= 8.0 + 1e-9
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seeds"] == [0]
    assert set(manifest["models"]) == {"classifier", "tiny-mse-8"}
    assert manifest["data"]["checksums"]["test_images"]
    assert manifest["versions"]["torch"]
    for name in ("accuracy_by_channel.png", "mse_by_channel.png", "reconstructions.png"):
        assert (run / "plots" / name).stat().st_size > 5000
    per_class = list(csv.DictReader(open(run / "per_class.csv")))
    assert {"tp", "fp", "fn", "tn", "precision", "recall", "f1"} <= set(per_class[0])


def test_second_run_reuses_models_and_gives_identical_metrics(quick_runs):
    tmp, first, second, _ = quick_runs
    assert second.returncode == 0, second.stderr[-2000:]
    assert "no stored model" in first.stderr and "epoch 1/2" in first.stderr
    assert "no stored model" not in second.stderr and "epoch 1/" not in second.stderr
    assert second.stderr.count("using stored model") == 2
    runs = sorted((tmp / "results" / "quick").iterdir())
    a = [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(runs[0] / "metrics.csv"))]
    b = [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(runs[1] / "metrics.csv"))]
    assert a == b


def test_plot_command_redraws_from_saved_results(quick_runs, tmp_path):
    tmp, _, _, _ = quick_runs
    run = sorted((tmp / "results" / "quick").iterdir())[0]
    for p in (run / "plots").iterdir():
        p.unlink()
    res = _run(["plot", str(run), "--format", "svg"], tmp)
    assert res.returncode == 0, res.stderr
    assert (run / "plots" / "accuracy_by_channel.svg").exists()
    assert (run / "plots" / "reconstructions.svg").exists()
    assert (run / "plots" / "training_curves.svg").exists()  # from the run's training_histories.json
    assert set(json.loads((run / "training_histories.json").read_text())) == {"classifier", "tiny-mse-8"}


def test_plot_command_names_a_corrupt_histories_file(quick_runs, tmp_path):
    tmp, _, _, _ = quick_runs
    run = sorted((tmp / "results" / "quick").iterdir())[0]
    saved = (run / "training_histories.json").read_text()
    try:
        (run / "training_histories.json").write_text("[1, 2")
        res = _run(["plot", str(run)], tmp)
        assert res.returncode != 0
        assert "training_histories.json: unreadable" in res.stderr and "Traceback" not in res.stderr
        assert "accuracy_by_channel.png" in res.stdout  # the other figures were still drawn
    finally:
        (run / "training_histories.json").write_text(saved)


def test_rerun_of_a_finished_run_recomputes_nothing(quick_runs):
    tmp, _, _, again = quick_runs
    assert again.returncode == 0, again.stderr[-2000:]
    assert "3 of 3 points already computed" in again.stderr
    assert "evaluating" not in again.stderr  # nothing left to evaluate: no "evaluating 0 points"
