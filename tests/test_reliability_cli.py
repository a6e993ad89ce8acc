"""The command line under bad input: a broken scenario, a corrupted model, a truncated data file.

Each is a user's problem, not a bug: ``semcom`` must say what is wrong in one line
``error: ...`` on stderr, exit with status 2, print no traceback (unless ``--debug``),
and never paper over a bad model file by retraining or loading it.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from semcom.app.runner import run_scenario
from semcom.app.scenario import load_scenario
from semcom.models.store import ModelStore, file_sha256

from helpers import run_cli, tiny_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses: CI runs them, `-m "not slow"` skips

TINY = tiny_scenario("cli-tiny")

BROKEN = TINY.replace("[classifier]\n", "[classifier]\nepochz = 3\n")


def error_line(res: subprocess.CompletedProcess) -> str:
    """The single 'error:' line, checked to be the last line of stderr and the only one."""
    lines = res.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    return errors[0]


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


def test_broken_scenario_run_is_one_line_exit_2(tmp):
    path = tmp / "broken.toml"
    path.write_text(BROKEN)
    res = run_cli("run", str(path), "--results", str(tmp / "results"), tmp=tmp)
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.endswith("\n"), res.stderr  # exactly one line
    assert res.stderr.startswith(f"error: {path}: classifier.epochz: unknown key"), res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert not (tmp / "results").exists()  # nothing was started


def test_debug_flag_shows_the_traceback(tmp):
    path = tmp / "broken.toml"
    path.write_text(BROKEN)
    res = run_cli("--debug", "check", str(path), tmp=tmp)
    assert res.returncode != 0
    assert "Traceback (most recent call last)" in res.stderr, res.stderr
    assert "ScenarioError" in res.stderr and "classifier.epochz: unknown key" in res.stderr
    assert not res.stderr.startswith("error:")


# ----------------------------------------------------------------- corrupted model file

@pytest.fixture(scope="module")
def trained(tmp, mnist_dir):
    """Tiny classifier + codec trained into tmp/store (the CLI then finds them through SEMCOM_STORE)."""
    path = tmp / "tiny.toml"
    path.write_text(TINY)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_scenario(load_scenario(path), data_path=mnist_dir, results_root=tmp / "trained",
                     store=ModelStore(tmp / "store", use_shipped=False), progress=False)
    finally:
        torch.set_num_threads(threads)
    cards = {json.loads(p.read_text())["spec"]["kind"]: p for p in (tmp / "store").glob("*.json")}
    assert set(cards) == {"classifier", "codec"}
    return path, cards


def test_corrupted_model_file_is_refused_not_retrained(tmp, trained, mnist_dir):
    scenario, cards = trained
    card_path = cards["codec"]
    card = json.loads(card_path.read_text())
    weights = card_path.parent / card["weights_file"]
    assert weights.name == f"{card['key']}.{card['weights_sha256'][:12]}.safetensors"
    store_files = sorted(p.name for p in (tmp / "store").iterdir() if p.is_file())
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    weights.write_bytes(bytes(data))
    card_before = card_path.read_bytes()

    res = run_cli("run", str(scenario), "--data", str(mnist_dir), "--results", str(tmp / "again"), "--quiet",
                 tmp=tmp)
    assert res.returncode == 2, res.stderr[-3000:]
    line = error_line(res)
    assert "does not match its card" in line and str(weights) in line, line
    # no retraining, no silent repair: the bad file and its card are left for the user to see
    assert weights.read_bytes() == bytes(data) and card_path.read_bytes() == card_before
    assert file_sha256(weights) != json.loads(card_before)["weights_sha256"]
    assert sorted(p.name for p in (tmp / "store").iterdir() if p.is_file()) == store_files  # no new weights file
    assert "epoch" not in res.stderr and "no stored model" not in res.stderr
    assert not list((tmp / "store").glob("checkpoints/*.ckpt"))
    assert not (tmp / "again").exists() or not list((tmp / "again").rglob("metrics.csv"))


# ----------------------------------------------------------------- truncated data file

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


def _data_copy(tmp: Path, mnist_dir: Path, name: str, bad_name: str, bad_bytes: bytes) -> Path:
    """A data folder: the MNIST files (linked), one of them replaced by ``bad_bytes``."""
    folder = tmp / name
    folder.mkdir()
    for f in FILES:
        if not bad_name.startswith(f.removesuffix(".gz")):
            os.symlink(mnist_dir / f, folder / f)
    (folder / bad_name).write_bytes(bad_bytes)
    return folder / bad_name


def semcom_in_process(*args: str, tmp: Path, monkeypatch) -> subprocess.CompletedProcess:
    """The same command group, run in this process (saves a torch import per call)."""
    from click.testing import CliRunner

    from semcom.app.cli import main

    monkeypatch.setenv("SEMCOM_STORE", str(tmp / "store"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp / "cache"))
    monkeypatch.delenv("SEMCOM_DATA", raising=False)
    out = CliRunner().invoke(main, list(args), prog_name="semcom")
    if out.exception is not None and not isinstance(out.exception, SystemExit):
        raise out.exception  # an unexpected exception is a failure, with its traceback
    return subprocess.CompletedProcess(args, out.exit_code, out.stdout, out.stderr)


@pytest.mark.parametrize("compressed", [False, True], ids=["raw-idx", "gzip"])
def test_truncated_data_file_is_one_line_naming_the_file(tmp, mnist_dir, compressed, monkeypatch):
    scenario = tmp / "tiny.toml"
    scenario.write_text(TINY)
    if compressed:  # a download cut short: the gzip stream ends early
        blob = (mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes()
        bad = _data_copy(tmp, mnist_dir, "data-gz", "t10k-images-idx3-ubyte.gz", blob[: len(blob) * 2 // 3])
    else:  # an uncompressed IDX file whose data stops half way
        raw = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
        bad = _data_copy(tmp, mnist_dir, "data-raw", "t10k-labels-idx1-ubyte", raw[: len(raw) // 2])
    results = tmp / f"r-{bad.name}"
    res = semcom_in_process("run", str(scenario), "--data", str(bad.parent), "--results", str(results), "--quiet",
                            tmp=tmp, monkeypatch=monkeypatch)
    assert res.returncode == 2, res.stderr[-3000:]
    line = error_line(res)
    assert str(bad) in line and "truncated" in line, line
    assert not results.exists()
