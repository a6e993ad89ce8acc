import json

import pytest
import torch

from semcom.errors import ModelStoreError
from semcom.store import ModelStore, file_sha256, spec_key

SPEC = {"kind": "codec", "arch": {"dim": 4, "levels": 4}, "data": {"images_sha256": "abc"}}


def _state():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2).state_dict()


def test_save_then_load_round_trip(tmp_path):
    store = ModelStore(tmp_path, use_shipped=False)
    assert store.find(SPEC) is None and store.load_state(SPEC) is None
    saved = store.save(SPEC, _state(), {"history": {"loss": [1.0, 0.5]}})
    key = spec_key(SPEC)
    # layout: <key>.<first 12 hex of the weights' SHA-256>.pt, and the card <key>.json naming it
    assert saved.weights == tmp_path / f"{key}.{saved.card['weights_sha256'][:12]}.pt"
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
    """An entry as saved before content-named weights: <key>.pt, and a card without weights_file."""
    store = ModelStore(root, use_shipped=False)
    saved = store.save(SPEC, _state(), {"run": "old"})
    key = saved.key
    saved.weights.rename(root / f"{key}.pt")
    card_path = root / f"{key}.json"
    card = json.loads(card_path.read_text())
    del card["weights_file"]
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
