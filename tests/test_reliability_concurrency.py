"""Two ``semcom run`` processes at once, on one scenario, one results folder, one model store.

Either the second waits (models: the store lock; it then reuses what the first trained)
or it stops with the one-line "another semcom process is writing this run" error; the
results folder ends complete and uncorrupted, each model is trained once, and no sweep
point is journaled twice. With ``--fresh`` both runs go ahead, each in its own folder.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from semcom.models.store import ModelStore, file_sha256

from helpers import REPO, cli_env, semcom_command, tiny_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses: CI runs them, `-m "not slow"` skips

SCENARIO = tiny_scenario("race", seeds=[0, 1, 2, 3], bsc=[0.0, 0.02, 0.05, 0.1], bec=[0.1, 0.3])
N_POINTS = 1 * 6 * 4
LOCKED = "another semcom process is writing this run"


def _start(args: list[str], tmp: Path) -> subprocess.Popen:
    return subprocess.Popen(semcom_command(*args), cwd=REPO, env=cli_env(tmp, OMP_NUM_THREADS="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _both(args: list[str], tmp: Path) -> list[subprocess.CompletedProcess]:
    procs = [_start(args, tmp) for _ in range(2)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _check_complete(run_dir: Path) -> list[dict]:
    """A finished, uncorrupted run folder; returns its metrics rows (without timing)."""
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]
    ids = [(r["codec"], r["channel"], r["seed"]) for r in rows]
    assert len(ids) == len(set(ids)) == 1 + N_POINTS, ids
    assert all(r["accuracy"] not in ("", None) for r in rows)
    journal = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    points = [e["point_id"] for e in journal]
    assert len(points) == len(set(points)) == N_POINTS  # no point computed (and journaled) twice
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for name in manifest["files"]:
        assert (run_dir / name).is_file(), name
    with open(run_dir / "per_class.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 10 * (1 + N_POINTS)
    with np.load(run_dir / "examples.npz") as z:
        assert "original" in z.files and all(z[k].shape[1:] == (784,) for k in z.files if "#" not in k)
        assert all(z[k].ndim == 1 for k in z.files if k.endswith("#pred"))  # the labels shown on the tiles
    assert not [p.name for p in run_dir.rglob("*.tmp")]
    return rows


@pytest.fixture(scope="module")
def tmp(tmp_path_factory, mnist_dir):
    tmp = tmp_path_factory.mktemp("race")
    (tmp / "race.toml").write_text(SCENARIO)
    return tmp


@pytest.fixture(scope="module")
def same_folder(tmp, mnist_dir):
    """Two plain runs started together: same scenario, same --results, empty model store."""
    return _both(["run", str(tmp / "race.toml"), "--data", str(mnist_dir), "--results", str(tmp / "results")], tmp)


def test_simultaneous_runs_one_finishes_other_waits_or_refuses(same_folder):
    codes = sorted(r.returncode for r in same_folder)
    print("exit codes of the two simultaneous runs:", codes)
    assert codes in ([0, 0], [0, 2]), [r.stderr[-2000:] for r in same_folder]
    for r in same_folder:
        assert "Traceback" not in r.stderr, r.stderr[-3000:]
        if r.returncode == 2:
            lines = r.stderr.strip().splitlines()
            errors = [ln for ln in lines if ln.startswith("error:")]
            assert errors == [lines[-1]] and LOCKED in errors[0], r.stderr[-3000:]
        else:
            assert "results: " in r.stdout


def test_simultaneous_runs_leave_one_complete_folder(tmp, same_folder):
    runs = list((tmp / "results" / "race").iterdir())
    assert len(runs) == 1, runs  # same scenario, same data -> one run folder
    _check_complete(runs[0])


def test_simultaneous_runs_train_each_model_once(tmp, same_folder):
    stderr = "".join(r.stderr for r in same_folder)
    assert stderr.count("classifier: no stored model") == 1, stderr[-3000:]
    assert stderr.count("codec c: no stored model") == 1, stderr[-3000:]
    store = ModelStore(tmp / "store", use_shipped=False)
    cards = sorted((tmp / "store").glob("*.json"))
    assert len(cards) == 2
    weights_files = []
    for card_path in cards:
        card = json.loads(card_path.read_text())
        assert card_path.name == f"{card['key']}.json"
        assert card["weights_file"] == f"{card['key']}.{card['weights_sha256'][:12]}.safetensors"
        assert card["weights_sha256"] == file_sha256(card_path.parent / card["weights_file"])
        assert store.load_state(card["spec"]) is not None
        weights_files.append(card["weights_file"])
    # each model saved once: exactly the two weights files the cards name, nothing else
    assert sorted(p.name for p in (tmp / "store").glob("*.safetensors")) == sorted(weights_files)


def test_two_fresh_runs_at_once_write_separate_complete_folders(tmp, same_folder, mnist_dir):
    before = set((tmp / "results" / "race").iterdir())
    results = _both(["run", str(tmp / "race.toml"), "--data", str(mnist_dir), "--results", str(tmp / "results"),
                     "--fresh", "--quiet"], tmp)
    for r in results:
        assert r.returncode == 0, r.stderr[-3000:]
        assert "no stored model" not in r.stderr  # models come from the store now
    new = sorted(set((tmp / "results" / "race").iterdir()) - before)
    assert len(new) == 2, new
    reported = {Path(line.removeprefix("results: ")) for r in results for line in r.stdout.splitlines()
                if line.startswith("results: ")}
    assert reported == set(new)
    rows = [_check_complete(d) for d in new]
    assert rows[0] == rows[1]  # same models, same seeds: same numbers
    assert rows[0] == _check_complete(next(iter(before)))


def test_run_refused_while_another_process_holds_the_run(tmp, same_folder, mnist_dir):
    """The refusal path made certain: this process holds the run's journal lock."""
    from semcom.app.journal import Journal

    run_dir = next(d for d in (tmp / "results" / "race").iterdir() if len(d.name) == len("run-") + 10)
    journal_before = (run_dir / "journal.jsonl").read_bytes()
    metrics_before = (run_dir / "metrics.csv").read_bytes()
    with Journal(run_dir / "journal.jsonl"):
        proc = _start(["run", str(tmp / "race.toml"), "--data", str(mnist_dir), "--results", str(tmp / "results"),
                       "--quiet"], tmp)
        stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 2, stderr[-3000:]
    lines = stderr.strip().splitlines()
    assert [ln for ln in lines if ln.startswith("error:")] == [lines[-1]], stderr
    assert lines[-1] == f"error: {run_dir}: {LOCKED}; wait for it or pass --fresh for a separate run folder"
    assert "Traceback" not in stderr and stdout == ""
    # the refused process changed nothing
    assert (run_dir / "journal.jsonl").read_bytes() == journal_before
    assert (run_dir / "metrics.csv").read_bytes() == metrics_before
