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
    assert saved.weights.name == f"{spec_key(SPEC)}.pt"
    state, card = store.load_state(SPEC)
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
    card_path = saved.weights.with_suffix(".json")
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
    card_path = saved.weights.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["weights_sha256"] = file_sha256(saved.weights)  # even with a matching hash
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelStoreError, match="cannot be loaded safely"):
        store.load_state(SPEC)


def test_corrupt_card_is_a_clear_error(tmp_path):
    store = ModelStore(tmp_path, use_shipped=False)
    saved = store.save(SPEC, _state(), {})
    saved.weights.with_suffix(".json").write_text("{not json")
    with pytest.raises(ModelStoreError, match="unreadable model card"):
        store.load_state(SPEC)
