"""Class-partitioned codebooks: the classifier's decision picks the class, rate allocation, ECVQ."""

import numpy as np
import pytest
import torch

from semcom.codecs.partitioned import PartitionedCodebookCodec, allocate

from test_classical_codecs import region_classifier, region_images


def test_allocation_gives_more_codewords_where_they_lower_distortion_most():
    sizes = (8, 12, 18, 25, 32, 40, 50, 64)
    curves = {0: [100.0 / s for s in sizes], 1: [10.0 / s for s in sizes], 2: [100.0 / s ** 0.5 for s in sizes]}
    got = allocate(curves, 60, 3)
    assert sum(got) == 60 and got[0] > got[1]  # the same shape, ten times the distortion: more codewords
    assert min(got) >= 2


@pytest.fixture(scope="module")
def data():
    x, y = region_images(80, seed=0)  # 3 classes; the classifier labels top -> 1, bottom -> 2, left -> 0
    return x, y, region_classifier()


@pytest.mark.parametrize("ecvq", [False, True])
def test_codewords_carry_the_classifiers_decision(data, ecvq, monkeypatch):
    import semcom.codecs.partitioned as part

    monkeypatch.setattr(part, "_CURVE_SIZES", (2, 3, 4, 6, 8))
    x, _, clf = data
    codec = PartitionedCodebookCodec(5, n_classes=3, entropy_constrained=ecvq, codewords=40 if ecvq else None)
    hist = codec.fit(x, clf, seed=0, iterations=10)
    assert hist["mislabeled_codewords"] == 0 and sum(hist["allocation"]) == codec.levels
    idx = codec.encode(x)
    decided = clf.predict(x)
    assert (codec.owner[idx[:, 0]] == decided).all()  # the cell is the class the classifier decided
    assert (clf.predict(codec.decode(idx)) == decided).all()  # and the reconstruction keeps the decision
    rebuilt = PartitionedCodebookCodec.from_config(codec.config())
    rebuilt.load_state_dict(codec.state_dict())
    assert torch.equal(rebuilt.encode(x), idx)
    if ecvq:
        assert 3.5 < hist["train_bits"] <= 5.05 and hist["lambda"] > 0  # at most the target rate (bisection)
        assert hist["train_index_entropy_bits"] < np.log2(codec.levels)


def test_fixed_rate_needs_exactly_its_codewords():
    with pytest.raises(ValueError, match="256 codewords"):
        PartitionedCodebookCodec(8, codewords=300)
    assert PartitionedCodebookCodec(8, entropy_constrained=True).levels == 420
