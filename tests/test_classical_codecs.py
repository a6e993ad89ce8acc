"""Classical and semantic reference codecs: k-means VQ, PCA + Lloyd-Max, label + refinement."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from semcom.bitstream import BitPacker, payload_bits
from semcom.codecs.networks import DigitClassifier
from semcom.codecs.base import Codec
from semcom.codecs.classical import KMeansVQCodec, PCAScalarCodec, kmeans_fit
from semcom.codecs.semantic import LabelRefinementCodec


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The tensors here are tiny: one thread avoids OpenMP stalls on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------
def blobs(n_blobs: int, per_blob: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Well separated clusters in [0, 1]^784: (images, blob labels, blob centres)."""
    g = torch.Generator().manual_seed(seed)
    centres = 0.2 + 0.6 * torch.rand(n_blobs, 784, generator=g)
    labels = torch.arange(n_blobs).repeat_interleave(per_blob)
    x = centres[labels] + noise * torch.randn(len(labels), 784, generator=g)
    return x.clamp(0, 1).reshape(-1, 1, 28, 28), labels, centres


def random_images(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g)


def region_images(n_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0: top band bright, class 1: bottom band bright, class 2: left band bright."""
    g = torch.Generator().manual_seed(seed)
    images, labels = [], []
    for c in range(3):
        x = 0.05 * torch.rand(n_per_class, 1, 28, 28, generator=g)
        level = 0.6 + 0.4 * torch.rand(n_per_class, 1, 1, 1, generator=g)
        band = [(slice(0, 12), slice(None)), (slice(16, 28), slice(None)), (slice(None), slice(0, 12))][c]
        x[:, :, band[0], band[1]] = level * (0.8 + 0.2 * torch.rand(n_per_class, 1, 28, 28, generator=g)[:, :, band[0], band[1]])
        images.append(x)
        labels.append(torch.full((n_per_class,), c))
    return torch.cat(images), torch.cat(labels)


def region_classifier(perm: tuple[int, int, int] = (1, 2, 0)) -> DigitClassifier:
    """A hand-set DigitClassifier(3): the top band votes class perm[0], bottom perm[1], left perm[2].

    Both convolutions pass channel 0 through (centre tap 1), so the flattened features start
    with the 7x7 max-pooled image; the first hidden units sum bands of it.
    """
    clf = DigitClassifier(n_classes=3)
    with torch.no_grad():
        for p in clf.parameters():
            p.zero_()
        clf.features[0].weight[0, 0, 1, 1] = 1.0
        clf.features[4].weight[0, 0, 1, 1] = 1.0
        bands = torch.zeros(3, 64, 7, 7)
        bands[0, 0, :3, :] = 1  # top
        bands[1, 0, 4:, :] = 1  # bottom
        bands[2, 0, :, :3] = 1  # left
        clf.head[0].weight[:3] = bands.reshape(3, -1)
        for region, cls in enumerate(perm):
            clf.head[2].weight[cls, region] = 1.0
    return clf.eval()


# ---------------------------------------------------------------------------------------
# Fitted codecs (small, shared)
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted() -> dict[str, Codec]:
    x = random_images(300, seed=1)
    km = KMeansVQCodec(6)
    km.fit(x, seed=0, iterations=5)
    pca = PCAScalarCodec(8)
    pca.fit(x, seed=0)
    rx, ry = region_images(40, seed=2)
    lr = LabelRefinementCodec(4 + 2, n_classes=3)
    lr.fit(rx, ry, region_classifier(), seed=0, iterations=5)
    return {"kmeans": km, "pca": pca, "label_refine": lr}


def test_the_family_registry_rebuilds_each_fitted_codec():
    from semcom.models.families import FAMILIES

    assert {name: FAMILIES[name].codec_class() for name in ("kmeans", "pca", "label_refine", "label_joint")} == {
        "kmeans": KMeansVQCodec, "pca": PCAScalarCodec, "label_refine": LabelRefinementCodec,
        "label_joint": LabelRefinementCodec}


def from_config(config):
    return {"kmeans": KMeansVQCodec, "pca": PCAScalarCodec, "label_refine": LabelRefinementCodec}[
        config["kind"]].from_config(config)


# ---------------------------------------------------------------------------------------
# Shapes, ranges, bits
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["kmeans", "pca", "label_refine"])
def test_encode_shape_range_and_bitstream_round_trip(fitted, kind):
    codec = fitted[kind]
    x = region_images(10, seed=5)[0] if kind == "label_refine" else random_images(30, seed=5)
    idx = codec.encode(x)
    assert idx.dtype == torch.int64 and idx.shape == (len(x), codec.dim)
    assert int(idx.min()) >= 0 and int(idx.max()) < codec.levels
    packer = BitPacker(codec.dim, codec.levels)
    bits = packer.pack(idx.numpy())
    assert bits.shape == (len(x), payload_bits(codec.dim, codec.levels))
    back = packer.unpack(bits)
    assert np.array_equal(back.indices, idx.numpy()) and not back.invalid.any()
    out = codec.decode(idx)
    assert out.shape == (len(x), 1, 28, 28) and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize("bits", [4, 6, 8, 12, 16])
def test_payload_bits_equal_the_rate(bits):
    for codec in (KMeansVQCodec(bits), PCAScalarCodec(bits), PCAScalarCodec(bits, components=bits, levels=2)):
        assert payload_bits(codec.dim, codec.levels) == bits
    lr = LabelRefinementCodec(bits)
    assert lr.dim == 1 and lr.levels == 10 * 2 ** (bits - 4)
    assert math.ceil(math.log2(lr.levels)) == payload_bits(1, lr.levels) == bits
    assert (PCAScalarCodec(8).dim, PCAScalarCodec(8).levels) == (4, 4)


def test_inconsistent_rates_are_rejected():
    with pytest.raises(ValueError, match="levels=16"):
        PCAScalarCodec(8, components=2)  # 2 x 4 levels is 4 bits, not 8
    with pytest.raises(ValueError):
        PCAScalarCodec(7)  # 7 bits do not split into 4-level symbols
    with pytest.raises(ValueError, match="label alone"):
        LabelRefinementCodec(3)
    with pytest.raises(ValueError):
        KMeansVQCodec(0)


@pytest.mark.parametrize("kind", ["kmeans", "pca", "label_refine"])
def test_decode_accepts_every_in_range_index(fitted, kind):
    codec = fitted[kind]
    all_idx = torch.tensor(list(itertools.product(range(codec.levels), repeat=codec.dim)), dtype=torch.int64)
    assert len(all_idx) == codec.levels**codec.dim
    out = codec.decode(all_idx)
    assert out.shape == (len(all_idx), 1, 28, 28)
    assert torch.isfinite(out).all() and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    if kind != "pca":
        assert torch.equal(out.reshape(len(all_idx), -1), fitted[kind].codebook.clamp(0, 1))
    with pytest.raises(ValueError):
        codec.decode(torch.full((1, codec.dim), codec.levels))
    with pytest.raises(ValueError):
        codec.decode(torch.zeros(1, codec.dim + 1, dtype=torch.int64))


def test_unfitted_codecs_refuse_to_run():
    for codec in (KMeansVQCodec(4), PCAScalarCodec(4), LabelRefinementCodec(5)):
        with pytest.raises(RuntimeError, match="not fitted"):
            codec.encode(random_images(2, seed=0))
        with pytest.raises(RuntimeError, match="not fitted"):
            codec.decode(torch.zeros(2, codec.dim, dtype=torch.int64))


# ---------------------------------------------------------------------------------------
# k-means
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_recovers_separated_blobs(seed):
    x, labels, centres = blobs(8, 40, noise=0.003, seed=10 + seed)
    codec = KMeansVQCodec(3)
    codec.fit(x, seed=seed, iterations=10)
    idx = codec.encode(x)[:, 0]
    # each blob -> exactly one codeword, different blobs -> different codewords
    per_blob = [set(idx[labels == b].tolist()) for b in range(8)]
    assert all(len(s) == 1 for s in per_blob)
    assert len(set.union(*per_blob)) == 8
    mse = float((codec.decode(idx[:, None]) - x).pow(2).mean())
    assert mse < 2 * 0.003**2
    # the codewords are the blob centres
    for b in range(8):
        assert float((codec.codebook[per_blob[b].pop()] - centres[b]).abs().max()) < 0.01


def low_dim_images(n: int, seed: int) -> torch.Tensor:
    """Images on a smooth 3-D manifold: Lloyd needs many iterations to settle there."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.randn(3, 784, generator=g) / 28
    return (0.5 + 0.3 * torch.randn(n, 3, generator=g) @ basis).clamp(0, 1)


def test_kmeans_inertia_non_increasing_and_seed_determinism():
    x = low_dim_images(400, seed=1)
    book_a, hist = kmeans_fit(x, 16, seed=7, iterations=25)
    inertia = [hist["initial_inertia"], *hist["inertia"]]
    assert hist["iterations"] >= 5  # Lloyd has work to do
    assert all(b <= a * (1 + 1e-6) for a, b in zip(inertia, inertia[1:]))
    assert inertia[-1] < 0.8 * inertia[0]
    # the reported inertia is that of the returned codebook
    d = torch.cdist(x.double(), book_a.double()).pow(2).min(1).values.sum()
    assert float(d) == pytest.approx(inertia[-1], rel=1e-4)
    book_b, _ = kmeans_fit(x, 16, seed=7, iterations=25)
    assert torch.equal(book_a, book_b)
    book_c, _ = kmeans_fit(x, 16, seed=8, iterations=25)
    assert not torch.equal(book_a, book_c)
    # codec-level determinism too
    c1, c2 = KMeansVQCodec(4), KMeansVQCodec(4)
    c1.fit(x.reshape(-1, 1, 28, 28), seed=5, iterations=5)
    c2.fit(x.reshape(-1, 1, 28, 28), seed=5, iterations=5, batch_size=17)  # chunking changes nothing
    assert torch.equal(c1.codebook, c2.codebook)


def test_kmeans_reseeds_empty_clusters(monkeypatch):
    import semcom.codecs.classical as classical

    x, labels, _ = blobs(3, 20, noise=0.003, seed=0)
    x = x.reshape(60, -1)
    # a bad seeding: two identical seeds in blob 0, none in blob 2 -> codeword 1 starts empty
    monkeypatch.setattr(classical, "_kmeans_plus_plus", lambda x, k, gen: torch.tensor([0, 0, 20]))
    book, hist = kmeans_fit(x, 3, seed=0, iterations=10)
    assert hist["reseeded"] >= 1
    idx, _ = classical.nearest_codeword(x, book)
    assert all(len(set(idx[labels == b].tolist())) == 1 for b in range(3))
    assert len(set(idx.tolist())) == 3


def test_kmeans_k_equal_to_distinct_rows_memorizes():
    x = torch.zeros(30, 784)
    x[10:20] = 0.5
    x[20:] = 1.0
    with pytest.warns(UserWarning, match="3 distinct"):
        book, hist = kmeans_fit(x, 3, seed=0, iterations=5)
    assert hist["distinct_codewords"] == 3 and hist["duplicated_codewords"] == 0
    assert sorted(book[:, 0].tolist()) == [0.0, 0.5, 1.0]


def test_kmeans_more_codewords_than_images_memorizes_with_warning():
    x = random_images(20, seed=4)
    x = torch.cat([x, x[:5]])  # 25 images, 20 distinct
    codec = KMeansVQCodec(6)  # 64 codewords
    with pytest.warns(UserWarning, match="20 distinct"):
        hist = codec.fit(x, seed=0)
    assert hist["distinct_codewords"] == 20 and hist["duplicated_codewords"] == 44
    idx = codec.encode(x)
    assert torch.equal(codec.decode(idx), x)  # zero distortion on the training set
    assert int(idx.max()) < 20  # duplicates are never chosen
    assert len(torch.unique(codec.codebook, dim=0)) == 20


# ---------------------------------------------------------------------------------------
# PCA + Lloyd-Max
# ---------------------------------------------------------------------------------------
def subspace_data(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A full grid of (u, v) coefficients on a random plane: exactly uncorrelated, each uniform."""
    g = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(784, 2, generator=g, dtype=torch.float64))
    scales = torch.tensor([0.3, 0.15], dtype=torch.float64)
    u = ((torch.arange(80, dtype=torch.float64) + 0.5) / 80 * 2 - 1) * scales[0]
    v = ((torch.arange(48, dtype=torch.float64) + 0.5) / 48 * 2 - 1) * scales[1]
    coef = torch.cartesian_prod(u, v)
    x = 0.5 + coef @ basis.t()
    assert float(x.min()) > 0 and float(x.max()) < 1  # no clamping in the test
    return x.float().reshape(len(x), 1, 28, 28), basis.t(), scales


def test_pca_recovers_subspace_and_error_is_quantization_only():
    x, true_basis, scales = subspace_data(seed=0)
    codec = PCAScalarCodec(4, components=2, levels=4)
    hist = codec.fit(x, seed=0)
    b = codec.basis.double()
    assert torch.allclose(b @ b.t(), torch.eye(2, dtype=torch.float64), atol=1e-5)  # orthonormal
    # the learned directions span the true plane, in order of variance
    assert torch.allclose((b @ true_basis.t()).abs(), torch.eye(2, dtype=torch.float64), atol=1e-3)
    assert hist["explained_ratio"] > 0.999
    # Uniform(-a, a) with 4 Lloyd-Max levels: step a/2, MSE (a/2)^2 / 12 per component
    expected = float(((scales / 2) ** 2 / 12).sum()) / 784
    mse = float((codec.decode(codec.encode(x)) - x).double().pow(2).mean())
    assert mse == pytest.approx(expected, rel=0.1)
    # Lloyd-Max levels for a uniform law are the cell midpoints: +-a/4, +-3a/4
    for j, a in enumerate(scales.tolist()):
        assert torch.allclose(codec.centers[j].double(), torch.tensor([-0.75, -0.25, 0.25, 0.75], dtype=torch.float64) * a, atol=0.02 * a)
    # one component cannot do it: the second direction's variance is lost
    one = PCAScalarCodec(4, components=1, levels=16)
    one.fit(x, seed=0)
    mse_one = float((one.decode(one.encode(x)) - x).double().pow(2).mean())
    lost = (scales[1] ** 2 / 3 + (2 * scales[0] / 16) ** 2 / 12) / 784  # variance of v + fine grid error on u
    assert mse_one == pytest.approx(float(lost), rel=0.1)
    assert mse_one > 3 * mse


def test_pca_encode_is_nearest_level_and_decode_matches_formula(fitted):
    codec = fitted["pca"]
    x = random_images(50, seed=9)
    coef = codec.project(x)
    idx = codec.encode(x)
    dist = (coef.unsqueeze(-1) - codec.centers.unsqueeze(0)).abs()  # (N, k, L)
    assert torch.allclose(dist.gather(2, idx.unsqueeze(-1)).squeeze(-1), dist.min(-1).values)
    values = codec.centers.gather(1, idx.t()).t()
    manual = (codec.mean + values @ codec.basis).clamp(0, 1).reshape(-1, 1, 28, 28)
    assert torch.allclose(codec.decode(idx), manual)
    b = codec.basis
    assert torch.allclose(b @ b.t(), torch.eye(codec.dim), atol=1e-5)
    assert (codec.centers.diff(dim=1) >= 0).all()


# ---------------------------------------------------------------------------------------
# Label + refinement
# ---------------------------------------------------------------------------------------
def test_label_refinement_sends_the_classifiers_label(fitted):
    codec: LabelRefinementCodec = fitted["label_refine"]
    x, true = region_images(15, seed=11)
    predicted = region_classifier().predict(x)
    # the hand-set classifier deliberately disagrees with the true labels
    assert torch.equal(predicted, torch.tensor((1, 2, 0))[true])
    idx = codec.encode(x)
    labels, refine = codec.split(idx)
    assert torch.equal(labels, predicted)
    # the label is the leading bits of the payload (natural binary)
    bits = BitPacker(1, codec.levels).pack(idx.numpy())
    assert np.array_equal(bits[:, : codec.label_bits] @ (1 << np.arange(codec.label_bits)[::-1]), predicted.numpy())
    # the reconstruction is a codeword of the PREDICTED class, the nearest one in that class
    S = codec.refine_levels
    out = codec.decode(idx).reshape(len(x), -1)
    for i in range(len(x)):
        block = codec.codebook[predicted[i] * S : (predicted[i] + 1) * S]
        assert any(torch.equal(out[i], row) for row in block.clamp(0, 1))
        d = (block - x[i].reshape(-1)).pow(2).sum(1)
        assert float(d[refine[i]]) <= float(d.min()) + 1e-4
    # codebooks were fit on TRUE labels: class c's codewords look like class c's images
    for c in range(3):
        block_mean = codec.codebook[c * S : (c + 1) * S].mean(0)
        class_mean = region_images(40, seed=2)[0][region_images(40, seed=2)[1] == c].reshape(-1, 784).mean(0)
        assert float((block_mean - class_mean).abs().max()) < 0.1


def test_label_refinement_invalid_patterns_and_classifier_checks():
    codec = LabelRefinementCodec(8)  # 10 x 16 = 160 messages in 8 bits
    assert codec.levels == 160 and codec.label_bits == 4 and codec.refine_bits == 4
    packer = BitPacker(1, 160)
    patterns = ((np.arange(256)[:, None] >> np.arange(7, -1, -1)) & 1).astype(np.uint8)
    back = packer.unpack(patterns)
    assert back.invalid.sum() == 96 and not back.invalid[:160].any()
    x, y = region_images(5, seed=0)
    with pytest.raises(ValueError, match="DigitClassifier"):
        LabelRefinementCodec(5, n_classes=3).fit(x, y, DigitClassifier(10), seed=0)
    with pytest.raises(ValueError, match="no training images"):
        LabelRefinementCodec(5, n_classes=3).fit(x[y < 2], y[y < 2], region_classifier(), seed=0)


def test_label_refinement_classifier_is_frozen_and_in_eval(fitted):
    codec = fitted["label_refine"]
    codec.train()
    assert not codec.classifier.training
    assert all(not p.requires_grad for p in codec.classifier.parameters())
    assert any(k.startswith("classifier.") for k in codec.state_dict())


# ---------------------------------------------------------------------------------------
# Persistence
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["kmeans", "pca", "label_refine"])
def test_state_dict_round_trip(fitted, kind, tmp_path):
    codec = fitted[kind]
    path = tmp_path / f"{kind}.pt"
    torch.save(codec.state_dict(), path)
    config = codec.config()
    assert config["kind"] == kind
    assert all(isinstance(v, (int, float, str)) for v in config.values())
    rebuilt = from_config(config)
    assert type(rebuilt) is type(codec) and rebuilt.symbol_format == codec.symbol_format
    with pytest.raises(RuntimeError, match="not fitted"):
        rebuilt.decode(torch.zeros(1, codec.dim, dtype=torch.int64))
    rebuilt.load_state_dict(torch.load(path, weights_only=True))
    x = region_images(8, seed=3)[0] if kind == "label_refine" else random_images(40, seed=3)
    idx = codec.encode(x)
    assert torch.equal(rebuilt.encode(x), idx)
    all_idx = torch.tensor(list(itertools.product(range(codec.levels), repeat=codec.dim)), dtype=torch.int64)
    assert torch.equal(rebuilt.decode(all_idx), codec.decode(all_idx))
    # the class-level from_config too, and a wrong kind is refused
    assert type(type(codec).from_config(config)) is type(codec)
    other = {**config, "kind": "pca" if kind != "pca" else "kmeans"}
    with pytest.raises((ValueError, TypeError)):
        type(codec).from_config(other)


def test_joint_label_packing_spends_the_fractional_bit():
    from semcom.bitstream import BitPacker, payload_bits
    from semcom.codecs.semantic import LabelRefinementCodec

    split, joint = LabelRefinementCodec(8), LabelRefinementCodec(8, packing="joint")
    assert split.refine_levels == 16 and joint.refine_levels == 25
    assert joint.symbol_format.levels == 250 and payload_bits(1, 250) == 8  # same 8 bits on the wire
    idx = torch.arange(250).reshape(-1, 1)
    out = BitPacker(1, 250).unpack(BitPacker(1, 250).pack(idx.numpy()))
    assert (out.indices[:, 0] == idx[:, 0].numpy()).all() and not out.invalid.any()
    labels, refinements = joint.split(idx)
    assert int(labels.max()) == 9 and int(refinements.max()) == 24
    assert joint.config()["packing"] == "joint" and "packing" not in split.config()
