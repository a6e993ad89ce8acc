import math

import numpy as np
import pytest

from semcom.metrics import ConfusionMatrix, empirical_entropy_bits, mse_to_codewords, per_image_mse, psnr


def test_confusion_matrix_counts_by_hand():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 0, 2])
    cm = ConfusionMatrix.from_labels(labels, preds, n_classes=3)
    assert cm.counts.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
    assert cm.accuracy == pytest.approx(5 / 7)
    rows = cm.per_class()
    # class 0: TP=1, FP=1 (a 2 predicted as 0), FN=1 (a 0 predicted as 1), TN=4
    assert (rows[0]["tp"], rows[0]["fp"], rows[0]["fn"], rows[0]["tn"]) == (1, 1, 1, 4)
    assert rows[0]["precision"] == pytest.approx(0.5) and rows[0]["recall"] == pytest.approx(0.5)
    # class 1: TP=2, FP=1, FN=0
    assert rows[1]["precision"] == pytest.approx(2 / 3) and rows[1]["recall"] == 1.0
    assert rows[1]["f1"] == pytest.approx(0.8)
    for r in rows:
        assert r["tp"] + r["fp"] + r["fn"] + r["tn"] == 7


def test_class_never_predicted_nor_present_gives_nan_not_crash():
    cm = ConfusionMatrix.from_labels(np.array([0, 0]), np.array([0, 0]), n_classes=3)
    rows = cm.per_class()
    assert math.isnan(rows[2]["precision"]) and math.isnan(rows[2]["f1"])
    assert cm.macro_f1() == pytest.approx(1.0)


def test_mse_is_eq4_per_pixel_mean():
    a = np.zeros((2, 28, 28))
    b = np.zeros((2, 28, 28))
    b[0, 0, 0] = 1.0
    mse = per_image_mse(a, b)
    assert mse.tolist() == pytest.approx([1 / 784, 0.0])
    assert psnr(0.01) == pytest.approx(20.0)
    assert psnr(0.0) == math.inf


def test_entropy_of_uniform_and_constant_symbols():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 4, size=(200_000, 2))
    joint, marginal = empirical_entropy_bits(idx, 4)
    assert joint == pytest.approx(4.0, abs=0.01) and marginal == pytest.approx(4.0, abs=0.01)
    const = np.zeros((100, 3), int)
    assert empirical_entropy_bits(const, 4) == (0.0, 0.0)
    # dependent coordinates: joint entropy is below the sum of marginals
    dup = np.repeat(rng.integers(0, 4, size=(50_000, 1)), 2, axis=1)
    j, m = empirical_entropy_bits(dup, 4)
    assert j == pytest.approx(2.0, abs=0.01) and m == pytest.approx(4.0, abs=0.02)


def test_mse_to_codewords_matches_per_image_mse_for_every_pair():
    rng = np.random.default_rng(3)
    originals = rng.random((50, 784)).astype(np.float32)
    codewords = rng.random((7, 784)).astype(np.float32)
    table = mse_to_codewords(originals, codewords)
    assert table.shape == (50, 7) and table.dtype == np.float64
    for k in range(7):
        direct = per_image_mse(originals, np.repeat(codewords[k : k + 1], 50, axis=0))
        np.testing.assert_allclose(table[:, k], direct, rtol=1e-12, atol=1e-15)
    # a codeword equal to an image is at distance 0 up to rounding, never below 0
    same = mse_to_codewords(originals, originals)
    assert (same >= 0).all() and same.diagonal().max() < 1e-14
    with pytest.raises(ValueError, match="784 pixels but codewords 10"):
        mse_to_codewords(originals, codewords[:, :10])
