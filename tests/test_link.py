import numpy as np
import pytest
import torch

import channels
from semcom.bitstream import BitPacker
from semcom.codecs.networks import DigitClassifier
from semcom.codecs import LearnedCodec, LearnedCodecConfig
from semcom.transceiver import Receiver, Reconstructor, fill_levels, transmit


def test_fill_levels_policies():
    prior = np.array([[0.1, 0.7, 0.1, 0.1], [0.5, 0.2, 0.2, 0.1]])
    assert fill_levels("mode", 2, 4, prior).tolist() == [1, 0]
    assert fill_levels("center", 2, 4).tolist() == [2, 2]
    assert fill_levels("center", 3, 5).tolist() == [2, 2, 2]
    assert fill_levels("zero", 2, 4).tolist() == [0, 0]
    with pytest.raises(ValueError, match="prior"):
        fill_levels("mode", 2, 4, None)


def test_receiver_applies_policy_to_erased_symbols_only():
    packer = BitPacker(3, 4)
    rx = Receiver(packer, np.array([1, 1, 1]))
    idx = np.array([[0, 3, 2], [3, 3, 3]])
    bits = packer.pack(idx)
    erased = np.zeros_like(bits, bool)
    erased[0, 2] = True  # symbol 1 of row 0
    got = rx.receive(bits, erased)
    assert got.indices.tolist() == [[0, 1, 2], [3, 3, 3]]
    assert got.symbol_erased.sum() == 1


def test_clean_channel_is_transparent_and_bsc_flips_counted():
    packer = BitPacker(4, 4)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 4, size=(5000, 4))
    bits, erased, flips = transmit(packer, idx, channels.Clean(), rng)
    assert flips == 0 and not erased.any()
    assert np.array_equal(Receiver(packer, np.zeros(4, int)).receive(bits, erased).indices, idx)
    bits, erased, flips = transmit(packer, idx, channels.BinarySymmetric(0.1), rng)
    assert 0.09 < flips / bits.size < 0.11


def test_tabulated_reconstruction_equals_direct_decoding():
    torch.manual_seed(0)
    codec = LearnedCodec(LearnedCodecConfig(dim=3, levels=4, width=16)).eval()
    clf = DigitClassifier().eval()
    idx = np.random.default_rng(1).integers(0, 4, size=(500, 3))
    direct_x, direct_y = Reconstructor(codec, clf, tabulate=False)(idx)
    table_x, table_y = Reconstructor(codec, clf, tabulate=True)(idx)
    assert np.array_equal(direct_y, table_y)
    np.testing.assert_allclose(direct_x, table_x, rtol=0, atol=1e-6)
