"""`semcom train`: models of a scenario without its sweep, in the order asked for."""

import json

from click.testing import CliRunner

from semcom.app.cli import main

from helpers import tiny_scenario


def test_train_gets_only_the_named_codecs_then_reuses_them(tmp_path, mnist_dir, isolated_env):
    scenario = tmp_path / "t.toml"
    scenario.write_text(tiny_scenario("train-cmd", bits=[4, 6], levels=None))
    store = tmp_path / "models"
    runner = CliRunner()
    args = ["train", str(scenario), "--data", str(mnist_dir), "--store", str(store), "--quiet"]

    first = runner.invoke(main, args + ["--only", "c-6b"])
    assert first.exit_code == 0, first.output
    cards = [json.loads(p.read_text()) for p in store.glob("*.json")]
    assert sorted(c["spec"]["kind"] for c in cards) == ["classifier", "codec"]  # c-4b was not trained
    codec_card = next(c for c in cards if c["spec"]["kind"] == "codec")
    assert codec_card["name"] == "c-6b"
    assert f"| c-6b | {codec_card['key']} |" in first.output
    assert not list(tmp_path.glob("results*"))  # no sweep ran

    weights_before = {p.name: p.stat().st_mtime_ns for p in store.glob("*.safetensors")}
    again = runner.invoke(main, args + ["--only", "c-6b"])
    assert again.exit_code == 0, again.output
    assert {p.name: p.stat().st_mtime_ns for p in store.glob("*.safetensors")} == weights_before  # reused, not retrained


def test_train_unknown_codec_is_a_one_line_error(tmp_path, mnist_dir, isolated_env):
    scenario = tmp_path / "t.toml"
    scenario.write_text(tiny_scenario("train-cmd", bits=[4, 6], levels=None))
    res = CliRunner().invoke(main, ["train", str(scenario), "--data", str(mnist_dir), "--only", "c-5b"])
    assert res.exit_code == 2
    assert "--only: no codec named c-5b in this scenario; expected some of: c-4b, c-6b" in res.output
    assert "Traceback" not in res.output
