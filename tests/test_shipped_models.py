"""The models shipped in semcom/weights: the main scenario uses them without training, they fit
the weights budget, and each reproduces, through the sweep's own code path, the test-set
accuracy and MSE recorded in its card when it shipped (in half precision)."""

from pathlib import Path

import numpy as np
import pytest

from semcom.app.runner import prepare_data
from semcom.app.scenario import load_scenario
from semcom.evaluation import CodecBench, CodecUnderTest, sweep_points
from semcom.models import zoo
from semcom.models.families import Fitted, Learned
from semcom.models.store import ModelStore, shipped_root
from semcom.sweep import ChannelPoint

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
# the main scenario's codecs, all shipped: the training-seed-0 model of every Table 3 case at 8 and 12 bits
SHIPPED_CODECS = ["only_compression-8b", "only_compression-12b", "deep_feature-8b", "deep_feature-12b", "NA1-8b", "NA1-12b",
                  "NA2-8b", "NA2-12b", "NA3-8b", "NA3-12b"]


@pytest.fixture(scope="module")
def shipped(mnist_dir, tmp_path_factory):
    scenario = load_scenario(REPO / "scenarios" / "mnist_8bit.toml")
    _, data, test_x, test_y = prepare_data(scenario, mnist_dir)
    store = ModelStore(tmp_path_factory.mktemp("empty-store"))  # empty: only shipped weights can answer

    def no_training(*args, **kwargs):
        raise AssertionError("a shipped model should have been used, but training was started")

    mp = pytest.MonkeyPatch()
    mp.setattr(zoo, "train_classifier", no_training)
    mp.setattr(Learned, "make", no_training)
    mp.setattr(Fitted, "make", no_training)
    try:
        clf, clf_card = zoo.obtain_classifier(scenario.classifier, data, store, progress=False)
        codecs = {c.name: zoo.obtain_codec(c, data, clf, clf_card["key"], store, progress=False)
                  for c in scenario.codec_list}
    finally:
        mp.undo()
    return scenario, clf, clf_card, codecs, test_x, test_y


def test_main_scenario_models_are_shipped_within_budget(shipped):
    scenario, _, clf_card, codecs, _, _ = shipped
    assert set(codecs) == set(SHIPPED_CODECS)
    for card in [clf_card] + [card for _, card in codecs.values()]:
        assert (shipped_root() / f"{card['key']}.json").exists()
        assert card["spec"]["data"]["n_images"] == 60000 and card["spec"]["data"]["val_fraction"] == 0.2
    for _, card in codecs.values():
        assert card["spec"]["train"]["epochs"] == 25 and card["spec"]["train"]["seed"] == 0
    total = sum(p.stat().st_size for p in shipped_root().iterdir())
    assert total <= 25 * 2**20, total


def test_shipped_classifier_accuracy_on_official_test_set(shipped):
    _, clf, clf_card, _, test_x, test_y = shipped
    assert len(test_y) == 10_000
    acc = float((clf.predict(test_x).numpy() == test_y).mean())
    assert acc == pytest.approx(clf_card["half_precision_of"]["test_accuracy_float16"], abs=1e-6)  # a float32 in the card
    assert acc >= 0.99


@pytest.mark.parametrize("name", SHIPPED_CODECS)
def test_shipped_codec_reproduces_its_recorded_test_metrics(shipped, name):
    scenario, clf, _, codecs, test_x, test_y = shipped
    codec, card = codecs[name]
    cut = CodecUnderTest(name, codec, "", np.asarray(card["symbol_prior"]), card["key"])
    bench = CodecBench(cut, clf, test_x, test_y)
    (point,) = sweep_points([name], [ChannelPoint("clean", {}, "clean")], [0])
    row = bench.run(point).row
    recorded = card["half_precision_of"]
    # what the card says it measured when it shipped, through another code path (direct decoding)
    assert row["accuracy"] == pytest.approx(recorded["test_accuracy_float16"], abs=1e-6)
    assert row["mse"] == pytest.approx(recorded["test_mse_float16"], rel=1e-5)
    # and half precision moved the float32 model by at most 5 of the 10,000 test digits, MSE by < 1%
    assert abs(recorded["test_accuracy_float32"] - row["accuracy"]) <= 5e-4 + 1e-9
    assert row["mse"] == pytest.approx(recorded["test_mse_float32"], rel=1e-2)
    prior = np.asarray(card["symbol_prior"])
    assert prior.shape == (codec.dim, 4) and np.allclose(prior.sum(axis=1), 1.0)


def test_shipped_analog_codec_needs_no_training_and_reproduces_its_card(mnist_dir, tmp_path):
    """The DeepJSCC-style codec of mnist_phy_awgn.toml ships too (#14): obtained without
    training, it scores on the scenario's test images what its card recorded at shipping."""
    from semcom.models.families import Analog
    from semcom.models.training.analog import evaluate_analog

    scenario = load_scenario(REPO / "scenarios" / "mnist_phy_awgn.toml")
    _, data, test_x, test_y = prepare_data(scenario, mnist_dir)
    store = ModelStore(tmp_path / "empty-store")
    (section,) = [c for c in scenario.codec_list if c.family == "analog"]

    def no_training(*args, **kwargs):
        raise AssertionError("the shipped analog codec should have been used, but training was started")

    mp = pytest.MonkeyPatch()
    mp.setattr(zoo, "train_classifier", no_training)
    mp.setattr(Analog, "make", no_training)
    try:
        clf, clf_card = zoo.obtain_classifier(scenario.classifier, data, store, progress=False)
        codec, card = zoo.obtain_codec(section, data, clf, clf_card["key"], store, progress=False)
    finally:
        mp.undo()
    assert (shipped_root() / f"{card['key']}.json").exists() and card["weights_dtype"] == "float16"
    import torch

    got = evaluate_analog(codec, test_x, torch.from_numpy(test_y), clf, snr_db=codec.config.train_snr_db)
    recorded = card["half_precision_of"]
    assert got["accuracy"] == pytest.approx(recorded["test_accuracy_float16"], abs=1e-6)
    assert got["mse"] == pytest.approx(recorded["test_mse_float16"], rel=1e-5)
    assert got["accuracy"] > 0.85  # far above the 8-bit digital codecs at this SNR: a real trained model
