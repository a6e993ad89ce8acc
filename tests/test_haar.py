"""The differentiable Haar DWT agrees with PyWavelets and is an orthonormal, invertible transform."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semcom.codecs.haar import BANDS, haar_bands, haar_dwt2, haar_idwt2

pywt = pytest.importorskip("pywt")
torch.set_num_threads(1)


def _pywt_bands(x: np.ndarray) -> tuple[np.ndarray, ...]:
    ca, (ch, cv, cd) = pywt.dwt2(x, "haar")
    return ca, ch, cv, cd


def _digit_like() -> np.ndarray:
    """A few 'real-looking' 28x28 images in [0, 1]: a ring, a bar, a diagonal stroke, a blank."""
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float64)
    ring = np.clip(1.0 - np.abs(np.hypot(yy - 14, xx - 13) - 7) / 2.0, 0, 1)
    bar = ((xx >= 11) & (xx <= 14) & (yy >= 5) & (yy <= 22)).astype(np.float64)
    stroke = np.clip(1.0 - np.abs(yy - xx) / 1.5, 0, 1) * ((yy > 3) & (yy < 25))
    blank = np.zeros((28, 28))
    return np.stack([ring, bar, stroke, blank])[:, None]  # (4, 1, 28, 28)


def test_band_names_and_order():
    assert BANDS == ("LL", "LH", "HL", "HH")


def test_single_block_matches_formula_and_pywt():
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    ll, lh, hl, hh = (t.item() for t in haar_dwt2(torch.from_numpy(x)))
    assert (ll, lh, hl, hh) == (5.5, -2.5, -1.5, 0.5)
    np.testing.assert_allclose([ll, lh, hl, hh], [b.item() for b in _pywt_bands(x)], atol=1e-12)


@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_forward_and_inverse_match_pywt_random(dtype, atol):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 28, 28))
    xt = torch.from_numpy(x).to(dtype)
    got = haar_dwt2(xt)
    ref = _pywt_bands(x)
    for g, r in zip(got, ref):
        assert g.dtype == dtype and g.shape == (3, 2, 14, 14)
        np.testing.assert_allclose(g.double().numpy(), r, atol=atol, rtol=0)
    # inverse from pywt's own coefficients
    rec = haar_idwt2(*(torch.from_numpy(r).to(dtype) for r in ref))
    ref_rec = pywt.idwt2((ref[0], ref[1:]), "haar")
    np.testing.assert_allclose(rec.double().numpy(), ref_rec, atol=atol, rtol=0)


def test_matches_pywt_on_digit_like_images():
    x = _digit_like()
    bands = haar_bands(torch.from_numpy(x))
    assert list(bands) == list(BANDS)
    for name, r in zip(BANDS, _pywt_bands(x)):
        np.testing.assert_allclose(bands[name].numpy(), r, atol=1e-12, rtol=0)
    # and in float32, as used in training
    bands32 = haar_bands(torch.from_numpy(x).float())
    for name, r in zip(BANDS, _pywt_bands(x)):
        np.testing.assert_allclose(bands32[name].double().numpy(), r, atol=1e-5, rtol=0)
    # the vertical bar has vertical edges: HL (pywt's cV) carries them, LH (cH) only at its ends
    bar = {k: v[1, 0].abs().sum().item() for k, v in bands.items()}
    assert bar["HL"] > 2 * bar["LH"] > 0


@pytest.mark.parametrize("shape", [(1, 1, 5, 7), (2, 3, 9, 4), (6, 3)])
def test_odd_sizes_follow_pywt_symmetric_mode(shape):
    x = np.random.default_rng(1).random(shape)
    got = haar_dwt2(torch.from_numpy(x))
    for g, r in zip(got, _pywt_bands(x)):
        assert g.shape == r.shape
        np.testing.assert_allclose(g.numpy(), r, atol=1e-12, rtol=0)


def test_perfect_reconstruction_and_energy():
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    bands = haar_dwt2(x)
    torch.testing.assert_close(haar_idwt2(*bands), x, atol=1e-12, rtol=0)
    energy = sum(b.pow(2).sum() for b in bands)
    torch.testing.assert_close(energy, x.pow(2).sum(), atol=1e-9, rtol=0)
    # and in float32
    x32 = x.float()
    torch.testing.assert_close(haar_idwt2(*haar_dwt2(x32)), x32, atol=1e-6, rtol=0)


def test_bands_of_constant_image_are_pure_approximation():
    ll, lh, hl, hh = haar_dwt2(torch.full((1, 1, 4, 6), 3.0))
    torch.testing.assert_close(ll, torch.full((1, 1, 2, 3), 6.0))
    for band in (lh, hl, hh):
        assert torch.count_nonzero(band) == 0


def test_gradcheck_forward_and_inverse():
    x = torch.rand(1, 2, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: haar_dwt2(t), (x,))
    bands = tuple(torch.rand(1, 1, 2, 3, dtype=torch.float64, requires_grad=True) for _ in range(4))
    assert torch.autograd.gradcheck(haar_idwt2, bands)
    odd = torch.rand(1, 1, 3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: haar_dwt2(t), (odd,))


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        haar_dwt2(torch.zeros(5))
    with pytest.raises(ValueError, match="band HL"):
        haar_idwt2(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2), torch.zeros(1, 2, 3), torch.zeros(1, 2, 2))
