"""A coded physical layer from Sionna PHY: CRC, channel code, modulation, AWGN or block fading.

:class:`CodedLink` is a channel like the others (``link(bits, rng) -> Received``), one level
down: the digits' bits (the rows of ``bits``) are grouped into codewords of whole digits
(``floor((k - crc) / bits per digit)`` digits per codeword, zero-padded), each codeword
gets a CRC, is channel coded (5G LDPC, 5G polar with SCL decoding, a convolutional code
with Viterbi decoding, or none), mapped (BPSK, QPSK, 16-QAM, 64-QAM), sent over AWGN or
Rayleigh block fading (one coefficient per codeword, perfect CSI at the receiver),
soft-demapped (APP), decoded and CRC-checked. A codeword whose CRC fails has all its
digits' bits erased; the receiver's erasure policy takes it from there. Sionna does the
codes, mapping and demapping; the noise and fading are drawn here, from ``rng`` only.

``snr_db`` is Eb/N0 per information bit of the channel code (``snr = "ebn0"``: Es/N0 =
Eb/N0 + 10 log10(bits per symbol x k / n)) or Es/N0 per symbol (``snr = "esn0"``).

Fast path. For a linear code, BPSK or QPSK (Gray: each bit on its own real axis) and a
symmetric channel, the decoder's error pattern does not depend on the codeword sent:
with the noise sign-flipped as the codeword flips the symbols, every codeword gives the
same pattern (the tests check this bit for bit against the direct path). So the link
sends the all-zero codeword, keeps the pattern (bit flips, CRC verdict) and applies it
to any payload; patterns are drawn per chunk of codewords from a key taken from ``rng``
and cached, so a sweep that sends several codecs' bits with equal rng states computes
each (code, modulation, channel, SNR, seed) once. 16- and 64-QAM are not symmetric bit by
bit: they always take the direct path (every codeword encoded, sent and decoded).

Packets. :meth:`CodedLink.transmit_packets` carries rows of any length (a packet link's
header + payload + CRC): each row is cut into ``ceil(row length / payload_bits)`` codewords
(the last zero-padded) that take the same fast or direct path, and the bits of a codeword
whose CRC fails are erased. :meth:`CodedLink.channel_uses` is the airtime of such a row in
complex channel symbols. Together they are the packet-PHY protocol a packet link plugs into
(``semcom.netsim`` looks for these two methods, not for this class).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar

import numpy as np

from . import _params
from ._base import Channel, Received, check_bits, check_rng

__all__ = ["CodedLink", "CODES", "MODULATIONS", "FADINGS"]

CODES = ("ldpc", "polar", "conv", "none")
MODULATIONS = {"bpsk": ("pam", 1), "qpsk": ("qam", 2), "qam16": ("qam", 4), "qam64": ("qam", 6)}
FADINGS = ("awgn", "rayleigh")
_CRCS = {"none": 0, "crc6": 6, "crc11": 11, "crc16": 16, "crc24a": 24}
_CHUNK = 32  # codewords per cached error-pattern chunk (all missing chunks of a call decode together)
_CACHE_CHUNKS = 8192  # chunks kept (least recently used dropped): 8192 x 32 codewords


@dataclass(frozen=True)
class CodedLink(Channel):
    snr_db: float = field(metadata={"doc": "SNR in dB: Eb/N0 per information bit (snr = 'ebn0') or Es/N0",
                                    "axis": "SNR (dB)"})
    snr: str = field(default="ebn0", metadata={"doc": '"ebn0" or "esn0": what snr_db measures', "axis": "SNR type"})
    code: str = field(default="ldpc", metadata={"doc": '"ldpc" (5G), "polar" (5G, SCL list 8), "conv" (rate 1/2, '
                                                       'Viterbi) or "none"', "axis": "channel code"})
    k: int = field(default=256, metadata={"doc": "information bits per codeword, CRC included", "axis": "k"})
    n: int = field(default=512, metadata={"doc": "coded bits per codeword (rate matching fills it); k for 'none', "
                                                 "2k for 'conv'", "axis": "n"})
    modulation: str = field(default="qpsk", metadata={"doc": '"bpsk", "qpsk", "qam16" or "qam64" (Gray)',
                                                      "axis": "modulation"})
    fading: str = field(default="awgn", metadata={"doc": '"awgn" or "rayleigh" (block fading: one coefficient per '
                                                         'codeword, perfect CSI)', "axis": "fading"})
    crc: str = field(default="crc16", metadata={"doc": '"none", "crc6", "crc11", "crc16" or "crc24a" (per codeword)',
                                                "axis": "CRC"})
    iterations: int = field(default=20, metadata={"doc": "LDPC belief-propagation iterations", "axis": "iterations"})

    kind: ClassVar[str] = "coded"
    label: ClassVar[str] = "Coded"

    def __post_init__(self) -> None:
        object.__setattr__(self, "snr_db", _params.finite(self.kind, "snr_db", self.snr_db))
        for name, allowed in (("snr", ("ebn0", "esn0")), ("code", CODES), ("modulation", tuple(MODULATIONS)),
                              ("fading", FADINGS), ("crc", tuple(_CRCS))):
            if getattr(self, name) not in allowed:
                raise _params.fail(self.kind, name, "one of " + ", ".join(repr(a) for a in allowed),
                                   getattr(self, name))
        if not isinstance(self.k, int) or self.k <= _CRCS[self.crc]:
            raise _params.fail(self.kind, "k", f"an integer above the CRC's {_CRCS[self.crc]} bits", self.k)
        expected_n = {"none": self.k, "conv": 2 * self.k}.get(self.code)
        if expected_n is not None and self.n != expected_n:
            object.__setattr__(self, "n", expected_n)
        if not isinstance(self.n, int) or self.n < self.k:
            raise _params.fail(self.kind, "n", "an integer >= k", self.n)
        if self.n % MODULATIONS[self.modulation][1]:
            raise _params.fail(self.kind, "n", f"a multiple of the {self.modulation} bits per symbol", self.n)

    def axis_label(self, param: str) -> str | None:
        """``snr_db`` is Es/N0 or Eb/N0 as ``snr`` says: the axis says which."""
        if param == "snr_db":
            return ("Es/N0" if self.snr == "esn0" else "Eb/N0") + " (dB)"
        return super().axis_label(param)

    # ------------------------------------------------------------------ layout
    @property
    def payload_bits(self) -> int:
        """Information bits per codeword left for the digits (k minus the CRC)."""
        return self.k - _CRCS[self.crc]

    @property
    def bits_per_symbol(self) -> int:
        return MODULATIONS[self.modulation][1]

    @property
    def symbols_per_codeword(self) -> int:
        return self.n // self.bits_per_symbol

    @property
    def symmetric(self) -> bool:
        """Whether the error pattern is independent of the codeword (the fast path applies)."""
        return self.modulation in ("bpsk", "qpsk")

    @property
    def esn0_db(self) -> float:
        if self.snr == "esn0":
            return self.snr_db
        return self.snr_db + 10 * math.log10(self.bits_per_symbol * self.k / self.n)

    @property
    def noise_variance(self) -> float:
        """N0 for unit-energy symbols."""
        return 10 ** (-self.esn0_db / 10)

    def digits_per_codeword(self, bits_per_digit: int) -> int:
        d = self.payload_bits // bits_per_digit
        if d < 1:
            raise ValueError(f"coded: a digit of {bits_per_digit} bits does not fit a codeword's "
                             f"{self.payload_bits} payload bits (k={self.k} minus the CRC)")
        return d

    def channel_uses_per_digit(self, bits_per_digit: int) -> float:
        """Complex channel symbols spent per digit (what analog schemes are compared at)."""
        return self.symbols_per_codeword / self.digits_per_codeword(bits_per_digit)

    def codewords_per_packet(self, packet_bits: int) -> int:
        """Codewords that carry a packet of ``packet_bits`` bits: ``ceil(packet_bits / payload_bits)``."""
        if isinstance(packet_bits, bool) or not isinstance(packet_bits, (int, np.integer)) or packet_bits < 0:
            raise ValueError(f"coded: packet_bits must be an integer >= 0, got {packet_bits!r}")
        return -(-int(packet_bits) // self.payload_bits)

    def channel_uses(self, packet_bits: int) -> int:
        """Complex channel symbols a packet of ``packet_bits`` bits occupies (its codewords x n / bits per symbol)."""
        return self.codewords_per_packet(packet_bits) * self.symbols_per_codeword

    # ------------------------------------------------------------------ the block
    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        if out.ndim != 2:
            raise ValueError(f"coded: bits must be (digits, bits per digit), got shape {out.shape}")
        n_digits, n_bits = out.shape
        d = self.digits_per_codeword(n_bits)
        blocks = math.ceil(n_digits / d) if n_digits else 0
        payload = np.zeros((blocks, self.payload_bits), np.uint8)
        flat = out.reshape(-1)
        layout = np.zeros((blocks, d * n_bits), np.uint8)
        layout.reshape(-1)[: flat.size] = flat
        payload[:, : d * n_bits] = layout
        got, ok = self._send_codewords(payload, rng)
        bits = got[:, : d * n_bits].reshape(-1)[: flat.size].reshape(n_digits, n_bits)
        erased = np.repeat(~ok, d)[:n_digits, None].repeat(n_bits, axis=1)
        return Received(bits=np.where(erased, 0, bits).astype(np.uint8), erased=erased)

    def transmit_packets(self, bits: np.ndarray, rng: np.random.Generator) -> Received:
        """Send packets of any length: one row of ``bits`` (packets, packet_bits) is one packet.

        Each row is cut into :meth:`codewords_per_packet` codewords of ``payload_bits`` bits
        (the last one zero-padded), in row order; all rows' codewords then take the same path
        as :meth:`__call__`'s (the error-pattern shortcut for BPSK/QPSK, the direct path
        otherwise: one key, or one noise draw, from ``rng`` per call). The bits of every
        codeword whose CRC fails are erased (0 in ``bits``); the other bits arrive as decoded,
        residual errors included (an undetected codeword error is left to the packet's own CRC).
        """
        check_bits(self.kind, bits)
        check_rng(self.kind, rng)
        out = np.array(bits, dtype=np.uint8, order="C", copy=True)
        if out.ndim != 2:
            raise ValueError(f"coded: packets must be (packets, bits per packet), got shape {out.shape}")
        n_packets, length = out.shape
        per = self.codewords_per_packet(length)
        width = per * self.payload_bits
        payload = np.zeros((n_packets, width), np.uint8)
        payload[:, :length] = out
        got, ok = self._send_codewords(payload.reshape(n_packets * per, self.payload_bits), rng)
        got = got.reshape(n_packets, width)[:, :length]
        erased = np.repeat(~ok.reshape(n_packets, per), self.payload_bits, axis=1)[:, :length]
        return Received(bits=np.where(erased, 0, got).astype(np.uint8), erased=erased)

    def _send_codewords(self, payload: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(received payload bits, CRC passed) for codewords ``payload`` (blocks, payload_bits)."""
        if self.symmetric:
            flips, ok = self.error_pattern(len(payload), int(rng.integers(2**63)))
            return payload ^ flips, ok
        if not len(payload):
            return payload.copy(), np.zeros(0, bool)
        return self.transmit_direct(payload, rng)

    def error_pattern(self, blocks: int, key: int) -> tuple[np.ndarray, np.ndarray]:
        """(flips of the payload bits, CRC passed) for ``blocks`` codewords of noise ``key``."""
        chunks = _pattern_chunks(self, key, math.ceil(blocks / _CHUNK))
        if not chunks:
            return np.zeros((0, self.payload_bits), np.uint8), np.zeros(0, bool)
        flips = np.concatenate([f for f, _ in chunks])[:blocks]
        ok = np.concatenate([o for _, o in chunks])[:blocks]
        return flips, ok

    def transmit_direct(self, payload: np.ndarray, rng: np.random.Generator, *,
                        noise: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every codeword encoded, sent and decoded: (received payload bits, CRC passed).

        ``noise`` = (noise after equalization (blocks, symbols), fading (blocks,)) replaces
        the draw from ``rng`` (the tests couple it to the fast path's draw)."""
        blocks = len(payload)
        if noise is None:
            noise = _draw_noise(self, blocks, rng)
        return _run(self, payload, noise)


def _draw_noise(link: CodedLink, blocks: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(noise after equalization, fading coefficient) per codeword: y = h x + n seen as y / h = x + n / h."""
    s = link.symbols_per_codeword
    sd = math.sqrt(link.noise_variance / 2)
    n = (rng.standard_normal((blocks, s)) + 1j * rng.standard_normal((blocks, s))) * sd
    if link.fading == "rayleigh":
        h = (rng.standard_normal(blocks) + 1j * rng.standard_normal(blocks)) / math.sqrt(2)
        return n / h[:, None], h
    return n, np.ones(blocks, complex)


_PATTERNS: "OrderedDict[tuple[CodedLink, int, int], tuple[np.ndarray, np.ndarray]]" = OrderedDict()


def _chunk_noise(link: CodedLink, key: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ``chunk`` of noise ``key``: its own generator, so a longer request extends a shorter one."""
    return _draw_noise(link, _CHUNK, np.random.default_rng([key, chunk]))


def _pattern_chunks(link: CodedLink, key: int, n_chunks: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(flips, CRC passed) of chunks 0..n_chunks-1 of noise ``key`` on the all-zero codeword.

    Chunks are small, so a request decodes little more than it needs, and cached, so every
    codec sent with the same rng state (a sweep point's codecs) reuses them; the chunks not yet
    cached are decoded in one Sionna call (codewords decode independently, so batching them
    changes no bit)."""
    missing = [c for c in range(n_chunks) if (link, key, c) not in _PATTERNS]
    if missing:
        noise = [_chunk_noise(link, key, c) for c in missing]
        flips, ok = _run(link, np.zeros((len(missing) * _CHUNK, link.payload_bits), np.uint8),
                         (np.concatenate([e for e, _ in noise]), np.concatenate([h for _, h in noise])))
        for i, c in enumerate(missing):
            _PATTERNS[(link, key, c)] = (flips[i * _CHUNK : (i + 1) * _CHUNK], ok[i * _CHUNK : (i + 1) * _CHUNK])
    out = []
    for c in range(n_chunks):
        _PATTERNS.move_to_end((link, key, c))
        out.append(_PATTERNS[(link, key, c)])
    while len(_PATTERNS) > _CACHE_CHUNKS:
        _PATTERNS.popitem(last=False)
    return out


def clear_pattern_cache() -> None:
    """Forget every cached error pattern (benchmarks time the first codec's cost with it)."""
    _PATTERNS.clear()


@lru_cache(maxsize=64)
def _blocks(link: CodedLink):
    """The Sionna blocks of a link (built once per configuration)."""
    import torch
    from sionna.phy.fec.crc import CRCDecoder, CRCEncoder
    from sionna.phy.mapping import Demapper, Mapper

    kind, m = MODULATIONS[link.modulation]
    crc_name = link.crc.upper().replace("CRC24A", "CRC24A")
    crc_enc = CRCEncoder(crc_name) if link.crc != "none" else None
    crc_dec = CRCDecoder(crc_enc) if crc_enc is not None else None
    if link.code == "ldpc":
        from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

        enc = LDPC5GEncoder(link.k, link.n)
        dec = LDPC5GDecoder(enc, num_iter=link.iterations, hard_out=True, return_infobits=True)
    elif link.code == "polar":
        from sionna.phy.fec.polar import Polar5GDecoder, Polar5GEncoder

        enc = Polar5GEncoder(link.k, link.n)
        dec = Polar5GDecoder(enc, dec_type="SCL", list_size=8)
    elif link.code == "conv":
        from sionna.phy.fec.conv import ConvEncoder, ViterbiDecoder

        enc = ConvEncoder(rate=0.5, constraint_length=5)
        dec = ViterbiDecoder(encoder=enc, method="soft_llr")
    else:
        enc = dec = None
    return torch, crc_enc, crc_dec, enc, dec, Mapper(kind, m), Demapper("app", kind, m)


def _run(link: CodedLink, payload: np.ndarray, noise: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    torch, crc_enc, crc_dec, enc, dec, mapper, demapper = _blocks(link)
    e, h = noise
    with torch.no_grad():
        u = torch.from_numpy(payload.astype(np.float32))
        u = crc_enc(u) if crc_enc is not None else u
        c = enc(u) if enc is not None else u
        x = mapper(c).numpy()
        # perfect CSI: the equalized observation y / h = x + n / h, with noise variance N0 / |h|^2
        y = x + e
        no = link.noise_variance / np.maximum(np.abs(h) ** 2, 1e-12)
        llr = demapper(torch.from_numpy(y.astype(np.complex64)),
                       torch.from_numpy(np.repeat(no[:, None], y.shape[1], axis=1).astype(np.float32)))
        u_hat = dec(llr) if dec is not None else (llr > 0).to(torch.float32)  # Sionna: llr = ln p(1)/p(0)
        if crc_dec is not None:
            u_hat, ok = crc_dec(u_hat)
            ok = ok.reshape(-1).numpy().astype(bool)
        else:
            u_hat, ok = u_hat[:, : link.payload_bits], np.ones(len(payload), bool)
    return u_hat.numpy().astype(np.uint8)[:, : link.payload_bits], ok
