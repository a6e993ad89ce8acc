"""The model store under stress: wrong files, failed writes, concurrent writers.

A store entry is two files: the weights ``<key>.<h>.safetensors`` (``h`` = the first 12 hex digits
of their SHA-256) and the card ``<key>.json``, which names that file in ``weights_file``
and is written last (the commit). Whatever happens (a file copied under another key, a
crash or a full disk mid-save, two processes saving at once) a lookup must give either a
verified model made for exactly the requested spec, nothing (retrain), or a clear
ModelStoreError; never the wrong weights.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from semcom.models import store as store_mod
from semcom.errors import ModelStoreError
from semcom.models.store import ModelStore, file_sha256, spec_key

REPO = Path(__file__).resolve().parents[1]

DATA = {"dataset": "mnist", "n_images": 300, "images_sha256": "9f" * 32, "val_fraction": 0.2, "split_seed": 0}
SPEC = {"kind": "codec", "family": "learned", "objective": "mse",
        "arch": {"dim": 4, "levels": 4, "width": 8, "quantizer": "ste", "sigma": None},
        "train": {"epochs": 1, "seed": 0}, "data": DATA}


def _variant(**arch) -> dict:
    return {**SPEC, "arch": {**SPEC["arch"], **arch}}


OTHER_SPECS = {
    "dim": _variant(dim=6),
    "levels": _variant(levels=8),
    "dataset": {**SPEC, "data": {**DATA, "dataset": "fashion-mnist"}},
    "data-content": {**SPEC, "data": {**DATA, "images_sha256": "a0" * 32}},
    "objective": {**SPEC, "objective": "deep_feature"},
}


def _state(seed: int = 0) -> dict:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Linear(4, 2)).state_dict()


def _leftovers(root: Path) -> list[str]:
    """Files in the store that are not a finished entry (temporary files of a save)."""
    return sorted(p.name for p in root.iterdir() if p.is_file() and not p.name.endswith((".safetensors", ".json")))


def _hidden(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def _weights_name(card: dict) -> str:
    """The content-named weights file of an entry: <key>.<first 12 hex of its SHA-256>.safetensors."""
    return f"{card['key']}.{card['weights_sha256'][:12]}.safetensors"


def _assert_consistent(store: ModelStore, spec: dict) -> tuple[dict, dict]:
    loaded = store.load_state(spec)
    assert loaded is not None
    state, card = loaded
    weights = store.root / _weights_name(card)
    assert card["spec"] == spec and card["key"] == spec_key(spec)
    assert card["weights_file"] == weights.name and store.find(spec).weights == weights
    assert card["weights_sha256"] == file_sha256(weights)
    return state, card


# -------------------------------------------------------------- a model for another spec

@pytest.mark.parametrize("what", sorted(OTHER_SPECS))
def test_entry_copied_under_another_specs_key_is_refused(tmp_path, what):
    other = OTHER_SPECS[what]
    store = ModelStore(tmp_path, use_shipped=False)
    saved = store.save(SPEC, _state(), {"metrics": {"val_mse": 0.1}})
    key = spec_key(other)
    assert key != saved.key
    # both files copied under the other key's names (the card verbatim)
    shutil.copy(saved.weights, tmp_path / f"{key}.{saved.card['weights_sha256'][:12]}.safetensors")
    shutil.copy(tmp_path / f"{saved.key}.json", tmp_path / f"{key}.json")
    assert store.find(other) is not None  # the copy is found ...
    with pytest.raises(ModelStoreError, match="another model") as info:  # ... and refused
        store.load_state(other)
    # the error names the offending card, <other key>.json
    assert str(tmp_path / f"{key}.json") in str(info.value) and "\n" not in str(info.value)
    _assert_consistent(store, SPEC)  # the genuine entry is untouched


def test_card_rewritten_to_claim_another_spec_is_refused_by_the_weights_hash(tmp_path):
    """Copying weights of spec A over those of spec B, keeping B's card, is a hash mismatch."""
    store = ModelStore(tmp_path, use_shipped=False)
    a = store.save(SPEC, _state(0), {})
    b = store.save(OTHER_SPECS["dim"], _state(1), {})
    shutil.copy(a.weights, b.weights)
    with pytest.raises(ModelStoreError, match="does not match its card"):
        store.load_state(OTHER_SPECS["dim"])


def test_shipped_weights_for_another_spec_are_refused(tmp_path, monkeypatch):
    """The same check applies to the weights shipped in the package."""
    shipped = tmp_path / "shipped"
    saved = ModelStore(shipped, use_shipped=False).save(SPEC, _state(), {})
    other = OTHER_SPECS["levels"]
    shutil.copy(saved.weights, shipped / f"{spec_key(other)}.{saved.card['weights_sha256'][:12]}.safetensors")
    shutil.copy(shipped / f"{saved.key}.json", shipped / f"{spec_key(other)}.json")
    monkeypatch.setattr(store_mod, "shipped_root", lambda: shipped)
    store = ModelStore(tmp_path / "user")
    with pytest.raises(ModelStoreError, match="another model"):
        store.load_state(other)
    state, card = store.load_state(SPEC)  # the genuine shipped model still loads
    assert torch.equal(state["0.weight"], _state()["0.weight"])


# ----------------------------------------------------------------- failures mid-save

class DiskFull(OSError):
    pass


def _serializer_that_dies(exc: BaseException):
    """The weights serializer, failing part way (after doing its work)."""
    real = store_mod.safetensors_save

    def save(tensors, *args, **kwargs):
        real(tensors, *args, **kwargs)
        raise exc

    return save


class _FileThatDies:
    """A file whose write puts half the data on disk, then fails."""

    def __init__(self, f, exc: BaseException) -> None:
        self._f, self._exc = f, exc

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._f.close()

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        raise self._exc

    def __getattr__(self, name):
        return getattr(self._f, name)


def _first_file_write_dies(monkeypatch, exc: BaseException) -> None:
    """The first file the store opens for writing (the weights' temporary file) fails half way."""
    real = os.fdopen
    calls = {"n": 0}

    def fdopen(fd, *args, **kwargs):
        calls["n"] += 1
        f = real(fd, *args, **kwargs)
        return _FileThatDies(f, exc) if calls["n"] == 1 else f

    monkeypatch.setattr(os, "fdopen", fdopen)


def _make_weights_fail(monkeypatch, where: str, exc: BaseException) -> None:
    if where == "serialize":  # the serializer dies part way
        monkeypatch.setattr(store_mod, "safetensors_save", _serializer_that_dies(exc))
    else:  # the weights file's write dies part way
        _first_file_write_dies(monkeypatch, exc)


@pytest.mark.parametrize("where", ["serialize", "write"])
@pytest.mark.parametrize("exc", [DiskFull(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_failed_weights_write_leaves_no_entry_and_no_temp_files(tmp_path, monkeypatch, exc, where):
    store = ModelStore(tmp_path, use_shipped=False)
    _make_weights_fail(monkeypatch, where, exc)
    with pytest.raises(type(exc)):
        store.save(SPEC, _state(), {})
    monkeypatch.undo()
    key = spec_key(SPEC)
    assert not (tmp_path / f"{key}.json").exists()
    assert list(tmp_path.iterdir()) == []  # no weights file (<key>.<h>.safetensors), no card, no temporary file
    assert _leftovers(tmp_path) == [] and _hidden(tmp_path) == []
    assert store.find(SPEC) is None and store.load_state(SPEC) is None  # -> retrain
    store.save(SPEC, _state(), {})
    state, _ = _assert_consistent(store, SPEC)
    assert torch.equal(state["1.bias"], _state()["1.bias"])


@pytest.mark.parametrize("fail_on", [1, 2], ids=["weights-rename", "card-rename"])
def test_failed_rename_leaves_no_card_and_no_temp_files(tmp_path, monkeypatch, fail_on):
    store = ModelStore(tmp_path, use_shipped=False)
    real_replace = os.replace
    calls = {"n": 0}

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == fail_on:
            raise DiskFull(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(DiskFull):
        store.save(SPEC, _state(), {})
    monkeypatch.undo()
    assert not (tmp_path / f"{spec_key(SPEC)}.json").exists()
    assert _leftovers(tmp_path) == [] and _hidden(tmp_path) == []
    assert store.load_state(SPEC) is None  # a weights file without a card is not a model
    store.save(SPEC, _state(3), {})
    state, _ = _assert_consistent(store, SPEC)
    assert torch.equal(state["0.weight"], _state(3)["0.weight"])


@pytest.mark.parametrize("where", ["serialize", "write"])
def test_failed_resave_keeps_the_old_entry_when_weights_fail(tmp_path, monkeypatch, where):
    """--retrain crashing while writing new weights: the old model is still intact."""
    store = ModelStore(tmp_path, use_shipped=False)
    old = store.save(SPEC, _state(0), {"run": "old"})
    _make_weights_fail(monkeypatch, where, DiskFull(28, "No space left on device"))
    with pytest.raises(DiskFull):
        store.save(SPEC, _state(1), {"run": "new"})
    monkeypatch.undo()
    state, card = _assert_consistent(store, SPEC)
    assert card["run"] == "old" and torch.equal(state["0.weight"], _state(0)["0.weight"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([old.weights.name, f"{old.key}.json"])
    assert _leftovers(tmp_path) == [] and _hidden(tmp_path) == []


def test_failed_resave_when_card_write_fails_keeps_a_loadable_entry(tmp_path, monkeypatch):
    """--retrain over an existing model, disk full when writing the new card: the card is
    the commit, so the old entry (old card, old weights file) is still there, intact."""
    store = ModelStore(tmp_path, use_shipped=False)
    store.save(SPEC, _state(0), {"run": "old"})

    def no_space(path, text):
        raise DiskFull(28, "No space left on device")

    monkeypatch.setattr(store_mod, "atomic_write_text", no_space)
    with pytest.raises(DiskFull):
        store.save(SPEC, _state(1), {"run": "new"})
    monkeypatch.undo()
    state, card = _assert_consistent(store, SPEC)
    assert card["run"] == "old" and torch.equal(state["0.weight"], _state(0)["0.weight"])


def test_interleaved_saves_of_one_key_stay_consistent(tmp_path, monkeypatch):
    """The interleaving of two processes saving one spec without store.lock, made deterministic:
    A writes its weights, B saves weights + card, A writes its card. The last card wins and
    names its own weights file."""
    store = ModelStore(tmp_path, use_shipped=False)
    real_write = store_mod.atomic_write_text
    state = {"inside": False}

    def write_card(path, text):
        if not state["inside"]:  # A's card write: first let B run a whole save
            state["inside"] = True
            ModelStore(tmp_path, use_shipped=False).save(SPEC, _state(1), {"writer": "B"})
        real_write(path, text)

    monkeypatch.setattr(store_mod, "atomic_write_text", write_card)
    store.save(SPEC, _state(0), {"writer": "A"})
    monkeypatch.undo()
    state, card = _assert_consistent(store, SPEC)
    assert card["writer"] == "A" and torch.equal(state["0.weight"], _state(0)["0.weight"])


# ------------------------------------------------------------ two processes at once

WRITER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    import torch
    from semcom.models.store import ModelStore

    root, go, seed, n, locked = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
    spec = json.loads(sys.argv[6])
    store = ModelStore(root, use_shipped=False)
    torch.manual_seed(seed)
    states = [torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Linear(4, 2)).state_dict() for _ in range(n)]
    Path(str(go) + f".ready{seed}").touch()
    while not go.exists():
        time.sleep(0.001)
    for i, st in enumerate(states):
        if locked:
            with store.lock(spec):
                store.save(spec, st, {"writer": seed, "i": i})
        else:
            store.save(spec, st, {"writer": seed, "i": i})
    print("done")
""")


def _writers(tmp_path: Path, n_saves: int, locked: bool) -> list[subprocess.CompletedProcess]:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "store"), str(go), str(seed),
                               str(n_saves), "1" if locked else "0", json.dumps(SPEC)],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (1, 2)]
    deadline = time.time() + 60
    while not all(Path(f"{go}.ready{s}").exists() for s in (1, 2)):
        assert time.time() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.01)
    go.touch()  # both start saving at the same moment
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=60)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _expected_states(seed: int, n: int) -> list[dict]:
    torch.manual_seed(seed)
    return [torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Linear(4, 2)).state_dict() for _ in range(n)]


@pytest.mark.slow
def test_two_processes_saving_one_spec_end_with_one_consistent_entry(tmp_path):
    """As the library saves (under store.lock): whatever the interleaving, the final entry
    is one writer's complete save: its card, its weights, matching hash, no temp files."""
    n = 12
    results = _writers(tmp_path, n, locked=True)
    for r in results:
        assert r.returncode == 0 and r.stdout.strip() == "done", r.stderr[-2000:]
    root = tmp_path / "store"
    store = ModelStore(root, use_shipped=False)
    state, card = _assert_consistent(store, SPEC)
    # the weights are exactly those the card's writer saved last
    expected = _expected_states(card["writer"], n)[card["i"]]
    assert card["i"] == n - 1
    assert all(torch.equal(state[k], expected[k]) for k in expected)
    entries = sorted(p.name for p in root.iterdir() if p.is_file())
    assert entries == sorted([f"{spec_key(SPEC)}.json", _weights_name(card)]), entries
