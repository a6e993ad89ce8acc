import subprocess
import sys
from pathlib import Path

import pytest

from semcom.errors import ScenarioError
from semcom.app.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]

BASE = """
name = "t"
[[codecs]]
name = "c"
bits = 8
[[channels]]
kind = "bsc"
p = [0.01, 0.02]
"""


def write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_scenarios_parse():
    for path in sorted((REPO / "scenarios").glob("*.toml")):
        sc = load_scenario(path)
        assert sc.codecs and sc.channels


def test_minimal_scenario_defaults_and_sweep_expansion(tmp_path):
    sc = load_scenario(write(tmp_path, BASE))
    assert [c.label for c in sc.channels] == ["BSC p=0.01", "BSC p=0.02"]
    assert sc.codecs[0].symbol_format.dim == 4 and sc.codecs[0].train.epochs == 25  # paper default
    assert sc.dataset.val_fraction == 0.2 and list(sc.seeds) == [0]


@pytest.mark.parametrize(
    "mutation,key,expect",
    [
        ("bogus = 1\n" + BASE, "bogus", "unknown key"),
        (BASE + "bogus = 1\n", "channels[0].bogus", "unknown parameter"),
        (BASE.replace('bits = 8', 'bits = "eight"'), "codecs[0].bits", "expected an integer"),
        (BASE.replace('bits = 8', 'bits = 7'), "codecs[0].bits", "bits=7"),
        (BASE.replace('bits = 8', 'bits = 8\nlevels = 1'), "codecs[0].levels", "L >= 2"),
        (BASE.replace('p = [0.01, 0.02]', 'p = [0.01, 0.7]'), "channels[0].p", "0.7"),
        (BASE.replace('kind = "bsc"', 'kind = "wifi"'), "channels[0].kind", "unknown channel"),
        (BASE + "\n[dataset]\nval_fraction = 1.5\n", "dataset.val_fraction", "(0, 1)"),
        (BASE + "\n[dataset]\nname = \"cifar\"\n", "dataset.name", "one of"),
        (BASE.replace('bits = 8', 'bits = 8\n[codecs.train]\nepochs = 0'), "codecs[0].train.epochs", "positive"),
        (BASE.replace('bits = 8', 'bits = 8\n[codecs.train]\nepoch = 3'), "codecs[0].train.epoch", "unknown key"),
        ("seeds = 3\n" + BASE, "seeds", "expected a list"),
        (BASE.replace('name = "t"', 'name = "a b"'), "name", "letters"),
        (BASE.replace('bits = 8', 'bits = 8\nmse_reduction = "max"'), "codecs[0].mse_reduction", "one of"),
        (BASE.replace('bits = 8', 'bits = [8, 12]\ntrain_seeds = { 8 = [0], 10 = [0] }'),
         "codecs[0].train_seeds.10", "not a rate of this codec; expected one of 8, 12"),
        (BASE.replace('bits = 8', 'bits = [8, 12]\ntrain_seeds = { 8 = [0, 1] }'),
         "codecs[0].train_seeds", "no seeds for 12 bits"),
        (BASE.replace('bits = 8', 'bits = [8, 12]\ntrain_seeds = { 8 = [0], 12 = [] }'),
         "codecs[0].train_seeds.12", "empty list"),
        (BASE.replace('bits = 8', 'bits = [8, 12]\ntrain_seeds = { 8 = [0, 0], 12 = [1] }'),
         "codecs[0].train_seeds.8", "repeats a seed"),
        (BASE.replace('bits = 8', 'bits = [8, 12]\ntrain_seeds = { 8 = [0], 12 = "one" }'),
         "codecs[0].train_seeds.12", "a list of integers >= 0"),
        (BASE.replace('bits = 8', 'bits = 8\ntrain_seeds = "all"'), "codecs[0].train_seeds", "expected a list"),
    ],
)
def test_bad_scenarios_name_file_and_key(tmp_path, mutation, key, expect):
    path = write(tmp_path, mutation)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    assert f": {key}:" in msg, msg
    assert expect in msg, msg
    assert "\n" not in msg


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="invalid TOML"):
        load_scenario(write(tmp_path, "name = \n"))
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_missing_sections(tmp_path):
    with pytest.raises(ScenarioError, match="codecs: expected at least one"):
        load_scenario(write(tmp_path, 'name = "t"\n[[channels]]\nkind = "clean"\n'))
    with pytest.raises(ScenarioError, match="channels: expected a non-empty"):
        load_scenario(write(tmp_path, 'name = "t"\n[[codecs]]\nname = "c"\nbits = 8\n'))


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "semcom.app.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)


def test_cli_reports_one_line_error_and_exit_code(tmp_path):
    path = write(tmp_path, BASE.replace('bits = 8', 'bits = "eight"'))
    res = _cli("check", str(path))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines == [f"error: {path}: codecs[0].bits: expected an integer or a list of integers, got 'eight'"], res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_cli_missing_data_is_one_line(tmp_path, isolated_env):
    import os

    path = write(tmp_path, BASE)
    env = {**os.environ, "SEMCOM_STORE": str(tmp_path / "store"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("SEMCOM_DATA", None)
    res = _cli("run", str(path), "--data", str(tmp_path / "no-such-folder"), "--results", str(tmp_path / "r"), env=env)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    assert "train-images-idx3-ubyte" in res.stderr


def test_rate_list_expands_into_one_codec_per_rate(tmp_path):
    sc = load_scenario(write(tmp_path, BASE.replace("bits = 8", "bits = [4, 8, 12]")))
    assert [c.name for c in sc.codec_list] == ["c-4b", "c-8b", "c-12b"]
    assert [c.symbol_format.dim for c in sc.codec_list] == [2, 4, 6]
    with pytest.raises(ScenarioError, match=r"codecs\[0\]\.bits: .*bits=5"):
        load_scenario(write(tmp_path, BASE.replace("bits = 8", "bits = [4, 5]")))


def test_train_seeds_per_rate_expand_like_one_entry_per_rate(tmp_path):
    """A table of seeds per rate names and keys its models exactly as separate entries would,
    so that a cell whose later seeds are still training can be reported beside a complete one."""
    table = load_scenario(write(tmp_path, BASE.replace("bits = 8", "bits = [8, 12]\ntrain_seeds = { 8 = [0, 1, 2], 12 = [0, 1] }")))
    second_entry = '[[codecs]]\nname = "c"\nbits = [12]\ntrain_seeds = [0, 1]\n'
    split = load_scenario(write(tmp_path, BASE.replace("bits = 8", "bits = [8]\ntrain_seeds = [0, 1, 2]")
                                + second_entry, "split.toml"))
    names = ["c-8b-s0", "c-8b-s1", "c-8b-s2", "c-12b-s0", "c-12b-s1"]
    assert [c.name for c in table.codec_list] == names
    assert [(c.train_seed, c.group, c.bits) for c in table.codec_list] == [
        (0, "c-8b", 8), (1, "c-8b", 8), (2, "c-8b", 8), (0, "c-12b", 12), (1, "c-12b", 12)]
    assert table.codec_list == split.codec_list
    same = load_scenario(write(tmp_path, BASE.replace("bits = 8", "bits = [8, 12]\ntrain_seeds = [0, 1]")))
    assert [c.name for c in same.codec_list] == ["c-8b-s0", "c-8b-s1", "c-12b-s0", "c-12b-s1"]


def test_lambda_ce_list_expands_into_one_codec_per_weight(tmp_path):
    text = BASE.replace("bits = 8", 'bits = [8, 12]\nobjective = "task_aware"\nlambda_ce = [0, 0.05]')
    codecs = load_scenario(write(tmp_path, text)).codec_list
    assert [c.name for c in codecs] == ["c-8b-ce0", "c-8b-ce0.05", "c-12b-ce0", "c-12b-ce0.05"]
    assert [c.train_config("cpu", 0).extra["lambda_ce"] for c in codecs] == [0.0, 0.05, 0.0, 0.05]
    assert [c.bits for c in codecs] == [8, 8, 12, 12]
    for bad, expect in (("[]", "empty list"), ("[0.1, -1]", "expected a number >= 0, got -1")):
        with pytest.raises(ScenarioError, match=rf"codecs\[0\]\.lambda_ce: {expect}"):
            load_scenario(write(tmp_path, text.replace("[0, 0.05]", bad)))


def test_haar_presets_train_on_the_summed_mse_unless_told_otherwise(tmp_path):
    adversarial = BASE.replace('bits = 8', 'bits = 8\nobjective = "adversarial"\npreset = "NA2"')
    extra = load_scenario(write(tmp_path, adversarial)).codec_list[0].train_config("cpu", 0).extra
    assert extra["mse_reduction"] == "sum" and extra["lambda_mse"] == 0.001
    literal = adversarial.replace('preset = "NA2"', 'preset = "NA2"\nmse_reduction = "mean"')
    assert "mse_reduction" not in load_scenario(write(tmp_path, literal)).codec_list[0].train_config("cpu", 0).extra
    # models trained before the option existed keep their store keys: "mean" is never written
    assert load_scenario(write(tmp_path, BASE)).codec_list[0].train_config("cpu", 0).extra == {"lambda_mse": 1.0}


def test_link_section_sweeps_and_validates(tmp_path):
    head, tail = BASE.split("[[channels]]")
    sc = load_scenario(write(tmp_path, head + '[link]\narq = ["none", "selective_repeat"]\nbit_rate = 1e6\n'
                             "[[channels]]" + tail))
    assert [lp.label for lp in sc.links] == ["arq=none", "arq=selective_repeat"]
    assert sc.links[1].config().arq == "selective_repeat"
    bad = head + '[link]\nbit_rate = -1\n[[channels]]' + tail
    with pytest.raises(ScenarioError, match=r": link\.bit_rate: "):
        load_scenario(write(tmp_path, bad))
    unknown = head + '[link]\nbitrate = 1\n[[channels]]' + tail
    with pytest.raises(ScenarioError, match=r": link\.bitrate: unknown key"):
        load_scenario(write(tmp_path, unknown))
