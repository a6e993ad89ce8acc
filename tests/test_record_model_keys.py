"""scripts/record_model_keys.py adds new keys, but never changes a recorded one or lets the main job
use a model that the Table 3 reproduction does not train."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def recorder(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("record_model_keys", REPO / "scripts" / "record_model_keys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    record = tmp_path / "model_keys.json"
    record.write_text((REPO / "tests" / "data" / "model_keys.json").read_text())
    monkeypatch.setattr(module, "RECORD", record)
    return module, record


def test_rerecording_the_committed_scenarios_changes_nothing(recorder):
    module, record = recorder
    before = record.read_text()
    module.main(["scenarios/paper_table3_trained.toml", "scenarios/mnist_8bit.toml"])
    assert record.read_text() == before


def test_a_new_entry_is_added_and_a_changed_key_is_refused(recorder):
    module, record = recorder
    keys = json.loads(record.read_text())
    del keys["scenarios/mnist_8bit.toml"]["NA2-8b"]
    keys["scenarios/paper_table3_trained.toml"]["NA2-8b-s1"] = "0000000000000000"
    record.write_text(json.dumps(keys, indent=1) + "\n")
    module.main(["scenarios/mnist_8bit.toml"])
    assert json.loads(record.read_text())["scenarios/mnist_8bit.toml"]["NA2-8b"] == "2de7112d3a6145af"
    with pytest.raises(SystemExit, match="NA2-8b-s1"):
        module.main(["scenarios/paper_table3_trained.toml"])


def test_the_main_job_may_not_use_a_model_outside_the_table3_reproduction(recorder, tmp_path, monkeypatch):
    module, record = recorder
    keys = json.loads(record.read_text())
    del keys["scenarios/mnist_8bit.toml"]
    record.write_text(json.dumps(keys, indent=1) + "\n")
    main = (REPO / "scenarios" / "mnist_8bit.toml").read_text().replace("levels = 4", "levels = 16", 1)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "mnist_8bit.toml").write_text(main)
    (tmp_path / "scenarios" / "paper_table3.toml").write_text((REPO / "scenarios" / "paper_table3.toml").read_text())
    monkeypatch.setattr(module, "REPO", tmp_path)
    with pytest.raises(SystemExit, match="not models of"):
        module.main(["scenarios/mnist_8bit.toml"])
