"""Differentiable one-level 2-D Haar DWT (section 4.3 and eq. 10 of the paper).

The transform matches PyWavelets exactly: ``haar_dwt2(x)`` returns what
``pywt.dwt2(x, "haar")`` returns as ``(cA, (cH, cV, cD))``, in the order
(LL, LH, HL, HH) = (cA, cH, cV, cD). For a 2x2 block ``[[a, b], [c, d]]``::

    LL = (a + b + c + d) / 2     approximation
    LH = (a + b - c - d) / 2     horizontal detail (high-pass down the rows)
    HL = (a - b + c - d) / 2     vertical detail   (high-pass along the columns)
    HH = (a - b - c + d) / 2     diagonal detail

The Haar transform is orthonormal, so the total energy (sum of squares) is preserved.
Only torch slicing and arithmetic are used, so gradients flow through both directions
(the Haar critics of eq. 10 back-propagate through ``haar_dwt2`` into the decoder).

The transform acts on the last two axes (like ``pywt.dwt2``'s default ``axes=(-2, -1)``);
images are usually (N, C, H, W), and MNIST's 28x28 gives four 14x14 bands.

Odd sizes follow PyWavelets' default ``mode="symmetric"``: for the two-tap Haar filter
that means repeating the last row/column once, so an odd side n gives (n + 1) // 2
coefficients. ``haar_idwt2`` then returns the even (padded) size, as ``pywt.idwt2`` does.
"""

from __future__ import annotations

import torch

BANDS = ("LL", "LH", "HL", "HH")


def _pad_odd(x: torch.Tensor) -> torch.Tensor:
    """PyWavelets' symmetric extension, which for Haar repeats the last row/column."""
    if x.shape[-2] % 2:
        x = torch.cat([x, x[..., -1:, :]], dim=-2)
    if x.shape[-1] % 2:
        x = torch.cat([x, x[..., :, -1:]], dim=-1)
    return x


def haar_dwt2(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One level of the 2-D Haar DWT over the last two axes: (LL, LH, HL, HH).

    Same values, order and signs as ``pywt.dwt2(x, "haar")`` -> ``(cA, (cH, cV, cD))``.
    """
    if x.dim() < 2:
        raise ValueError(f"haar_dwt2 needs at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}")
    if x.shape[-2] == 0 or x.shape[-1] == 0:
        raise ValueError(f"haar_dwt2 needs non-empty H and W, got shape {tuple(x.shape)}")
    x = _pad_odd(x)
    a = x[..., 0::2, 0::2]
    b = x[..., 0::2, 1::2]
    c = x[..., 1::2, 0::2]
    d = x[..., 1::2, 1::2]
    top, bottom = a + b, c + d  # low-pass along columns, per row of the pair
    top_h, bottom_h = a - b, c - d  # high-pass along columns
    ll = (top + bottom) * 0.5
    lh = (top - bottom) * 0.5
    hl = (top_h + bottom_h) * 0.5
    hh = (top_h - bottom_h) * 0.5
    return ll, lh, hl, hh


def haar_idwt2(ll: torch.Tensor, lh: torch.Tensor, hl: torch.Tensor, hh: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`haar_dwt2`; matches ``pywt.idwt2((cA, (cH, cV, cD)), "haar")``.

    The output has twice the band size on the last two axes.
    """
    shape = ll.shape
    for name, band in zip(BANDS[1:], (lh, hl, hh)):
        if band.shape != shape:
            raise ValueError(f"haar_idwt2: band {name} has shape {tuple(band.shape)}, LL has {tuple(shape)}")
    if ll.dim() < 2:
        raise ValueError(f"haar_idwt2 needs bands with at least 2 dimensions (..., h, w), got {tuple(shape)}")
    s, t = ll + lh, hl + hh  # s = a + b, t = a - b: the top row of each 2x2 block
    u, v = ll - lh, hl - hh  # u = c + d, v = c - d: the bottom row
    a, b = (s + t) * 0.5, (s - t) * 0.5
    c, d = (u + v) * 0.5, (u - v) * 0.5
    h, w = shape[-2], shape[-1]
    top = torch.stack([a, b], dim=-1)  # (..., h, w, 2)
    bottom = torch.stack([c, d], dim=-1)
    blocks = torch.stack([top, bottom], dim=-3)  # (..., h, 2, w, 2)
    return blocks.reshape(*shape[:-2], 2 * h, 2 * w)


def haar_bands(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four sub-bands by name, {"LL", "LH", "HL", "HH"} (each (N, C, H/2, W/2))."""
    return dict(zip(BANDS, haar_dwt2(x)))
