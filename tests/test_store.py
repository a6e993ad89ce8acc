import json

import pytest
import torch

from semcom.errors import ModelStoreError
from semcom.models.store import ModelStore, file_sha256, spec_key

SPEC = {"kind": "codec", "arch": {"dim": 4, "levels": 4}, "data": {"images_sha256": "abc"}}


def _state():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2).state_dict()


def test_save_then_load_round_trip(tmp_path):
    store = ModelStore(tmp_path, use_shipped=False)
    assert store.find(SPEC) is None and store.load_state(SPEC) is None
    saved = store.save(SPEC, _state(), {"history": {"loss": [1.0, 0.5]}})
    key = spec_key(SPEC)
    # layout: <key>.<first 12 hex of the weights' SHA-256>.safetensors, and the card <key>.json naming it
    assert saved.weights == tmp_path / f"{key}.{saved.card['weights_sha256'][:12]}.safetensors"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([saved.weights.name, f"{key}.json"])
    assert store.find(SPEC).weights == saved.weights
    state, card = store.load_state(SPEC)
    assert card["weights_file"] == saved.weights.name
    assert torch.equal(state["weight"], _state()["weight"])
    assert card["weights_sha256"] == file_sha256(saved.weights)
    assert card["history"]["loss"] == [1.0, 0.5] and card["spec"] == SPEC
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_key_depends_on_every_part_of_the_spec():
    other_data = {**SPEC, "data": {"images_sha256": "abd"}}
    other_dim = {**SPEC, "arch": {"dim": 5, "levels": 4}}
    keys = {spec_key(SPEC), spec_key(other_data), spec_key(other_dim)}
    assert len(keys) == 3
    assert spec_key(dict(reversed(list(SPEC.items())))) == spec_key(SPEC)  # order-independent


def test_tampered_weights_are_refused(tmp_path):
    store = ModelStore(tmp_path, use_shipped=False)
    saved = store.save(SPEC, _state(), {})
    data = bytearray(saved.weights.read_bytes())
    data[-20] ^= 0xFF
    saved.weights.write_bytes(bytes(data))
    with pytest.raises(ModelStoreError, match="does not match its card"):
        store.load_state(SPEC)


def test_card_for_another_spec_is_refused(tmp_path):
    store = ModelStore(tmp_path, use_shipped=False)
    saved = store.save(SPEC, _state(), {})
    card_path = tmp_path / f"{saved.key}.json"
    card = json.loads(card_path.read_text())
    card["spec"]["arch"]["dim"] = 8  # a card claiming another model under this key
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelStoreError, match="made for another model"):
        store.load_state(SPEC)


def test_pickled_code_is_never_executed(tmp_path):
    store = ModelStore(tmp_path, use_shipped=False)
    saved = store.save(SPEC, _state(), {})

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"weight": Evil()}, saved.weights)
    card_path = tmp_path / f"{saved.key}.json"
    card = json.loads(card_path.read_text())
    card["weights_sha256"] = file_sha256(saved.weights)  # even with a matching hash
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelStoreError, match="cannot be loaded safely"):
        store.load_state(SPEC)


def test_corrupt_card_is_a_clear_error(tmp_path):
    store = ModelStore(tmp_path, use_shipped=False)
    saved = store.save(SPEC, _state(), {})
    (tmp_path / f"{saved.key}.json").write_text("{not json")
    with pytest.raises(ModelStoreError, match="unreadable model card"):
        store.load_state(SPEC)


def test_equal_weights_give_the_same_file_and_hash(tmp_path):
    a = ModelStore(tmp_path / "a", use_shipped=False).save(SPEC, _state(), {})
    b = ModelStore(tmp_path / "b", use_shipped=False).save(SPEC, _state(), {})
    assert a.weights.name == b.weights.name and a.weights.read_bytes() == b.weights.read_bytes()
    assert a.card["weights_sha256"] == b.card["weights_sha256"]


def test_resave_replaces_the_old_weights_file(tmp_path):
    store = ModelStore(tmp_path, use_shipped=False)
    old = store.save(SPEC, _state(), {"run": "old"})
    torch.manual_seed(1)
    new_state = torch.nn.Linear(3, 2).state_dict()
    new = store.save(SPEC, new_state, {"run": "new"})
    assert new.weights != old.weights and not old.weights.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new.weights.name, f"{new.key}.json"])
    state, card = store.load_state(SPEC)
    assert card["run"] == "new" and torch.equal(state["weight"], new_state["weight"])


def _old_layout_entry(root):
    """An entry as saved before content-named weights: <key>.pt (torch.save), and a card without weights_file."""
    store = ModelStore(root, use_shipped=False)
    saved = store.save(SPEC, _state(), {"run": "old"})
    key = saved.key
    saved.weights.unlink()
    torch.save(_state(), root / f"{key}.pt")
    card_path = root / f"{key}.json"
    card = json.loads(card_path.read_text())
    del card["weights_file"], card["weights_dtype"]
    card["weights_sha256"] = file_sha256(root / f"{key}.pt")
    card_path.write_text(json.dumps(card))
    return store, key


def test_old_card_without_weights_file_reads_key_pt(tmp_path):
    store, key = _old_layout_entry(tmp_path)
    assert store.find(SPEC).weights == tmp_path / f"{key}.pt"
    state, card = store.load_state(SPEC)
    assert card["run"] == "old" and torch.equal(state["weight"], _state()["weight"])


def test_resave_over_an_old_layout_entry_leaves_only_the_new_layout(tmp_path):
    store, key = _old_layout_entry(tmp_path)
    torch.manual_seed(1)
    new = store.save(SPEC, torch.nn.Linear(3, 2).state_dict(), {"run": "new"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new.weights.name, f"{key}.json"])


def test_half_precision_copy_keeps_the_key_and_loads_as_float32(tmp_path):
    torch.manual_seed(0)
    big = torch.nn.Linear(100, 50).state_dict()
    full = ModelStore(tmp_path / "full", use_shipped=False)
    saved = full.save(SPEC, big, {"history": {"loss": [1.0]}, "metrics": {"val_mse": 0.1}})
    half = ModelStore(tmp_path / "half", use_shipped=False)
    copy = half.save_half_precision(saved, big, {"checked": "yes"})
    assert copy.key == saved.key and copy.card["weights_dtype"] == "float16"
    assert copy.card["half_precision_of"] == {"weights_sha256": saved.card["weights_sha256"], "checked": "yes"}
    assert copy.card["history"] == {"loss": [1.0]} and copy.card["made_with"] == saved.card["made_with"]
    assert copy.weights.stat().st_size < 0.6 * saved.weights.stat().st_size
    state, card = half.load_state(SPEC)
    assert state["weight"].dtype == torch.float32
    assert torch.allclose(state["weight"], big["weight"], atol=1e-3)
    assert not torch.equal(state["weight"], big["weight"])  # really rounded to half precision


def test_reading_a_read_only_store_needs_no_lock(tmp_path):
    import os

    store = ModelStore(tmp_path / "ro", use_shipped=False)
    store.save(SPEC, _state(), {})
    os.chmod(tmp_path / "ro", 0o555)
    try:
        assert store.load_state(SPEC) is not None
        assert not (tmp_path / "ro" / "locks").exists()
        if os.geteuid() != 0:  # root ignores permissions
            with pytest.raises(ModelStoreError, match="not writable"):
                with store.lock({"other": 1}):
                    pass
    finally:
        os.chmod(tmp_path / "ro", 0o755)
