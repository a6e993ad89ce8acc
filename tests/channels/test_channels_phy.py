"""The coded physical layer against Sionna itself and against theory (small sizes: a few thousand bits)."""

import math

import numpy as np
import pytest
from scipy.stats import norm

import channels
from channels.phy import CodedLink, _blocks, _draw_noise

pytest.importorskip("sionna")


@pytest.mark.parametrize("modulation", ["bpsk", "qpsk"])
@pytest.mark.parametrize("snr_db", [0.0, 4.0, 7.0])
def test_uncoded_ber_follows_the_q_function(modulation, snr_db):
    link = CodedLink(snr_db=snr_db, code="none", k=256, n=256, modulation=modulation, crc="none")
    bits = np.random.default_rng(0).integers(0, 2, (3000, 8)).astype(np.uint8)
    ber = float((link(bits, np.random.default_rng(1)).bits != bits).mean())
    theory = norm.sf(math.sqrt(2 * 10 ** (snr_db / 10)))
    assert abs(ber - theory) < 5 * math.sqrt(theory * (1 - theory) / bits.size) + 1e-4


@pytest.mark.parametrize("snr_db", [10.0, 20.0])
def test_rayleigh_fading_with_perfect_csi_follows_its_closed_form(snr_db):
    """Uncoded BPSK over Rayleigh fading: P_b = (1 - sqrt(g / (1 + g))) / 2, far above AWGN's Q(sqrt(2g))."""
    link = CodedLink(snr_db=snr_db, code="none", k=8, n=8, modulation="bpsk", crc="none", fading="rayleigh")
    bits = np.random.default_rng(0).integers(0, 2, (20000, 8)).astype(np.uint8)  # 20,000 independent fades
    ber = float((link(bits, np.random.default_rng(3)).bits != bits).mean())
    g = 10 ** (snr_db / 10)
    theory = 0.5 * (1 - math.sqrt(g / (1 + g)))
    per_fade = 8  # bits of one codeword share its coefficient: fewer independent samples than bits
    assert abs(ber - theory) < 5 * math.sqrt(theory / (bits.size / per_fade)) + 2e-5
    assert ber > 20 * norm.sf(math.sqrt(2 * g))  # the loss of diversity order: far worse than AWGN


def _sionna_direct(link, payload, noise):
    """The same chain written out with Sionna's blocks (the wrapper must equal it)."""
    import torch
    from sionna.phy.fec.crc import CRCDecoder, CRCEncoder
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.mapping import Demapper, Mapper

    n, h = noise
    crc = CRCEncoder("CRC16")
    enc = LDPC5GEncoder(link.k, link.n)
    dec = LDPC5GDecoder(enc, num_iter=link.iterations, hard_out=True, return_infobits=True)
    with torch.no_grad():
        x = Mapper("qam", 2)(enc(crc(torch.from_numpy(payload.astype(np.float32))))).numpy()
        y = torch.from_numpy((x + n).astype(np.complex64))
        llr = Demapper("app", "qam", 2)(y, torch.full(y.shape, link.noise_variance))
        u, ok = CRCDecoder(crc)(dec(llr))
    return u.numpy().astype(np.uint8), ok.numpy().reshape(-1).astype(bool)


def test_ldpc_wrapper_equals_calling_sionna_directly_on_the_same_noise():
    link = CodedLink(snr_db=1.0)
    rng = np.random.default_rng(5)
    payload = rng.integers(0, 2, (60, link.payload_bits)).astype(np.uint8)
    noise = _draw_noise(link, 60, np.random.default_rng(6))
    got, ok = link.transmit_direct(payload, rng, noise=noise)
    ref, ref_ok = _sionna_direct(link, payload, noise)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(ok, ref_ok)
    assert 0 < (~ok).sum() < 60  # 1 dB: some codewords fail, some pass (BLER ~0.5)


@pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
def test_error_pattern_shortcut_equals_the_direct_path_with_sign_coupled_noise(fading):
    """Linear code + QPSK: sending codeword c with the noise flipped as c flips the symbols gives
    exactly the all-zero codeword's error pattern; so one pattern serves every payload."""
    link = CodedLink(snr_db=1.5 if fading == "awgn" else 8.0, fading=fading)
    torch, crc_enc, _, enc, _, mapper, _ = _blocks(link)
    rng = np.random.default_rng(9)
    payload = rng.integers(0, 2, (40, link.payload_bits)).astype(np.uint8)
    n, h = _draw_noise(link, 40, np.random.default_rng(10))
    zero_flips, zero_ok = link.transmit_direct(np.zeros_like(payload), rng, noise=(n, h))
    with torch.no_grad():
        x = mapper(enc(crc_enc(torch.from_numpy(payload.astype(np.float32))))).numpy()
    signs = np.sign(x.real) + 1j * np.sign(x.imag)  # +-1 per axis: the codeword's flips of the all-zero symbol
    coupled = signs.real * n.real + 1j * signs.imag * n.imag  # n is the noise after equalization
    got, ok = link.transmit_direct(payload, rng, noise=(coupled, h))
    np.testing.assert_array_equal(ok, zero_ok)  # the same codewords pass their CRC ...
    # ... and deliver the same bits (a failed codeword is erased whatever BP left in it: belief
    # propagation that did not converge may round differently between the two)
    np.testing.assert_array_equal(got[ok], (payload ^ zero_flips)[ok])
    assert not zero_ok.all() and zero_ok.any()


def test_the_link_erases_whole_codewords_and_shares_patterns_between_payloads():
    link = CodedLink(snr_db=1.0)
    a = np.random.default_rng(0).integers(0, 2, (300, 8)).astype(np.uint8)
    b = np.random.default_rng(1).integers(0, 2, (300, 8)).astype(np.uint8)
    ra, rb = link(a, np.random.default_rng(7)), link(b, np.random.default_rng(7))
    d = link.digits_per_codeword(8)  # 240 payload bits: 30 digits
    assert d == 30 and link.channel_uses_per_digit(8) == pytest.approx(256 / 30)
    lost = ra.erased.any(axis=1).reshape(-1, d)
    assert (lost.all(axis=1) == lost.any(axis=1)).all()  # all digits of a codeword, or none
    np.testing.assert_array_equal(ra.erased, rb.erased)  # the same noise: the same codewords lost
    kept = ~ra.erased
    np.testing.assert_array_equal((ra.bits ^ a)[kept], (rb.bits ^ b)[kept])  # and the same flips where delivered
    assert ra.erased.any() and kept.any()


@pytest.mark.parametrize("modulation", ["qpsk", "qam16"])
def test_packets_are_cut_into_codewords_that_take_the_per_digit_path(modulation):
    """A packet of 2.5 codewords' bits = three codewords (the last zero-padded) sent exactly as three
    one-codeword digits are (same rng state: the same pattern key, or the same noise draw)."""
    link = CodedLink(snr_db=1.0 if modulation == "qpsk" else 4.0, snr="esn0", k=64, n=128, modulation=modulation)
    pb = link.payload_bits  # 48
    packets = np.random.default_rng(0).integers(0, 2, (100, 120)).astype(np.uint8)
    assert link.codewords_per_packet(120) == 3 and link.channel_uses(120) == 3 * link.symbols_per_codeword
    got = link.transmit_packets(packets, np.random.default_rng(1))
    padded = np.zeros((100, 3 * pb), np.uint8)
    padded[:, :120] = packets
    ref = link(padded.reshape(300, pb), np.random.default_rng(1))  # one 48-bit digit per codeword
    np.testing.assert_array_equal(got.bits, ref.bits.reshape(100, 3 * pb)[:, :120])
    np.testing.assert_array_equal(got.erased, ref.erased.reshape(100, 3 * pb)[:, :120])
    failed = got.erased[:, [0, pb, 2 * pb]]  # one flag per codeword: its bits are erased together
    np.testing.assert_array_equal(got.erased, np.repeat(failed, pb, axis=1)[:, :120])
    assert failed.any() and not failed.all() and not got.bits[got.erased].any()


def test_dense_qam_takes_the_direct_path():
    link = CodedLink(snr_db=6.0, modulation="qam16", n=512)
    assert not link.symmetric and CodedLink(snr_db=6.0).symmetric
    bits = np.random.default_rng(0).integers(0, 2, (90, 8)).astype(np.uint8)
    out = link(bits, np.random.default_rng(1))
    assert out.bits.shape == bits.shape and ((out.bits == bits) | out.erased).all() or out.erased.any()


def test_parameters_are_checked_by_name():
    with pytest.raises(channels.ChannelParameterError, match="modulation"):
        channels.make("coded", snr_db=1.0, modulation="qam8")
    with pytest.raises(channels.ChannelParameterError, match="k must be an integer above the CRC"):
        channels.make("coded", snr_db=1.0, k=10)
    assert channels.make("coded", snr_db=2.0, code="none", k=64, n=1).n == 64  # 'none' sends k bits


def test_the_snr_axis_says_whether_it_is_es_n0_or_eb_n0():
    from semcom.sweep import ChannelPoint

    assert CodedLink(snr_db=1.0, snr="esn0").axis_label("snr_db") == "Es/N0 (dB)"
    assert CodedLink(snr_db=1.0, snr="ebn0").axis_label("snr_db") == "Eb/N0 (dB)"
    assert CodedLink(snr_db=1.0).axis_label("k") == "k"  # other fields: their declared axis words
    point = ChannelPoint("coded", {"snr_db": 2.0, "snr": "esn0"}, "coded SNR=2 dB", axis="snr_db")
    assert point.axis_label.endswith("Es/N0 (dB)")
    assert ChannelPoint("bsc", {"p": 0.1}, "BSC p=0.1").axis_label == "BSC: crossover probability p"
