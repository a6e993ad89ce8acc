"""The models shipped in semcom/weights: the main scenario uses them without training,
and they meet the accuracy the project promises on the official MNIST test set."""

from pathlib import Path

import numpy as np
import pytest
import torch

from semcom.models import zoo
from semcom.app.runner import prepare_data
from semcom.app.scenario import load_scenario
from semcom.models.store import ModelStore, shipped_root

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped(mnist_dir, tmp_path_factory):
    scenario = load_scenario(REPO / "scenarios" / "mnist_8bit.toml")
    _, data, test_x, test_y = prepare_data(scenario, mnist_dir)
    store = ModelStore(tmp_path_factory.mktemp("empty-store"))  # empty: only shipped weights can answer

    def no_training(*args, **kwargs):
        raise AssertionError("a shipped model should have been used, but training was started")

    mp = pytest.MonkeyPatch()
    mp.setattr(zoo, "train_classifier", no_training)
    mp.setattr(zoo, "train_codec", no_training)
    try:
        clf, clf_card = zoo.obtain_classifier(scenario.classifier, data, store, progress=False)
        codecs = {section.name: zoo.obtain_codec(section, data, clf, clf_card["key"], store, progress=False)
                  for section in scenario.codec_list}
    finally:
        mp.undo()
    return clf, clf_card, codecs, test_x, test_y


def test_main_scenario_models_are_shipped(shipped):
    _, clf_card, codecs, _, _ = shipped
    assert set(codecs) == {"mse-8", "only_compression-8", "deep_feature-8", "NA1-8", "NA2-8", "NA3-8"}
    for card in [clf_card] + [card for _, card in codecs.values()]:
        assert (shipped_root() / f"{card['key']}.json").exists()
    total = sum(p.stat().st_size for p in shipped_root().iterdir())
    assert total <= 25 * 2**20


def test_shipped_classifier_accuracy_on_official_test_set(shipped):
    clf, _, _, test_x, test_y = shipped
    assert len(test_y) == 10_000
    acc = float((clf.predict(test_x).numpy() == test_y).mean())
    assert acc >= 0.985, acc


def _quality(clf, codec, test_x, test_y):
    with torch.no_grad():
        x_hat = codec.decode(codec.encode(test_x))
    return float((clf.predict(x_hat).numpy() == test_y).mean()), float(((x_hat - test_x) ** 2).mean())


# measured when shipped (README, results/paper_table3_cpu): a broken or swapped codec is far off
FAMILY_QUALITY = {
    "only_compression-8": (0.6934, 0.0388),
    "deep_feature-8": (0.8623, 0.0423),
    "NA1-8": (0.7374, 0.0376),
    "NA2-8": (0.7294, 0.0433),
    "NA3-8": (0.7134, 0.0497),
}


@pytest.mark.parametrize("name", sorted(FAMILY_QUALITY))
def test_shipped_paper_family_quality(shipped, name):
    clf, _, codecs, test_x, test_y = shipped
    codec, card = codecs[name]
    acc, mse = _quality(clf, codec, test_x, test_y)
    want_acc, want_mse = FAMILY_QUALITY[name]
    assert abs(acc - want_acc) < 0.01 and abs(mse - want_mse) < 0.001, (name, acc, mse)
    assert card["spec"]["train"]["epochs"] == 6


def test_shipped_8bit_codec_quality(shipped):
    clf, _, codecs, test_x, test_y = shipped
    codec, card = codecs["mse-8"]
    with torch.no_grad():
        idx = codec.encode(test_x)
        x_hat = codec.decode(idx)
    assert idx.shape == (10_000, 4) and int(idx.max()) < 4
    mse = float(((x_hat - test_x) ** 2).mean())
    acc = float((clf.predict(x_hat).numpy() == test_y).mean())
    # measured when shipped: accuracy 75.1%, MSE 0.0370 (README); a broken codec is far off
    assert 0.72 <= acc <= 0.80 and 0.034 <= mse <= 0.040, (acc, mse)
    prior = np.asarray(card["symbol_prior"])
    assert prior.shape == (4, 4) and np.allclose(prior.sum(axis=1), 1.0)
