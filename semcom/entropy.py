"""Entropy-coded bitstreams: send the rate that eq. (1) bounds, in packets a bit error can break.

A codec's symbols are coded with a learned probability model by the ``constriction``
range coder (Rust core; no arithmetic coder is written here). Digits are coded in
groups, one group per packet::

    packet = [ length: L bits | payload: the group's range-coded words | CRC ]

``length`` is the payload's size in 32-bit words. A packet whose CRC fails loses its whole
group: every symbol of its digits is marked erased and the receiver's erasure policy fills
them, exactly as for lost bits. With ``on_crc_failure = "decode"`` the receiver decodes
whatever arrived instead: one flipped bit then garbles the rest of its group (the
desynchronisation a fixed-length code never suffers). Decoding never raises on what
arrives: a malformed payload makes the group lost.

Probability models (``model``):

- ``"factorized"``: one categorical per latent coordinate, the codec card's symbol prior
  (level frequencies on the training images);
- ``"joint"``: one categorical over whole codewords (L**dim of them), from the training
  images' codeword counts: the rate approaches the joint entropy.

Both are smoothed (+0.5 counts over the training images) so that any symbol stays
codable. The rate is *measured*: payload bits and bits with headers, per digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semcom.netsim.crc import crc_bits, crc_check, crc_width

WORD_BITS = 32
MODELS = ("factorized", "joint")


def _constriction():
    import constriction

    return constriction


@dataclass(frozen=True)
class EntropyModel:
    """Symbol probabilities: (dim, L) for a factorized model, (1, L**dim) for the joint one."""

    kind: str
    probabilities: np.ndarray
    dim: int
    levels: int

    @classmethod
    def factorized(cls, prior: np.ndarray, n_train: int) -> "EntropyModel":
        prior = np.asarray(prior, dtype=np.float64)
        if prior.ndim != 2:
            raise ValueError(f"a factorized model needs a (dim, L) prior, got shape {prior.shape}")
        counts = prior * max(int(n_train), 1) + 0.5
        return cls("factorized", (counts / counts.sum(axis=1, keepdims=True)).astype(np.float32), *prior.shape)

    @classmethod
    def joint(cls, train_indices: np.ndarray, levels: int) -> "EntropyModel":
        idx = np.asarray(train_indices, dtype=np.int64)
        dim = idx.shape[1]
        if levels ** dim > 1 << 20:
            raise ValueError(f"a joint model over {levels}**{dim} codewords is too large; use 'factorized'")
        numbers = idx @ (levels ** np.arange(dim - 1, -1, -1, dtype=np.int64))
        counts = np.bincount(numbers, minlength=levels ** dim).astype(np.float64) + 0.5
        return cls("joint", (counts / counts.sum())[None, :].astype(np.float32), dim, levels)

    def _symbols(self, indices: np.ndarray) -> np.ndarray:
        if self.kind == "joint":
            return (indices @ (self.levels ** np.arange(self.dim - 1, -1, -1, dtype=np.int64)))[:, None]
        return indices

    def _indices(self, symbols: np.ndarray) -> np.ndarray:
        if self.kind == "joint":
            flat = symbols[:, 0].astype(np.int64)
            return (flat[:, None] // (self.levels ** np.arange(self.dim - 1, -1, -1, dtype=np.int64))) % self.levels
        return symbols.astype(np.int64)

    def _probs(self, n_digits: int) -> np.ndarray:
        return np.ascontiguousarray(np.tile(self.probabilities, (n_digits, 1)))

    def ideal_bits(self, indices: np.ndarray) -> float:
        """-log2 p of the digits under the model: what an ideal coder would spend."""
        sym = self._symbols(np.asarray(indices, dtype=np.int64))
        p = self.probabilities[np.arange(sym.shape[1])[None, :] % len(self.probabilities), sym]
        return float(-np.log2(p).sum())

    def encode(self, indices: np.ndarray) -> np.ndarray:
        """The digits' range-coded words (uint32)."""
        c = _constriction()
        sym = self._symbols(np.asarray(indices, dtype=np.int64))
        enc = c.stream.queue.RangeEncoder()
        enc.encode(sym.reshape(-1).astype(np.int32), c.stream.model.Categorical(perfect=False),
                   self._probs(len(sym)))
        return np.asarray(enc.get_compressed(), dtype=np.uint32)

    def decode(self, words: np.ndarray, n_digits: int) -> np.ndarray:
        """(n_digits, dim) indices from ``words``; raises ValueError when they cannot be decoded."""
        c = _constriction()
        width = 1 if self.kind == "joint" else self.dim
        try:
            dec = c.stream.queue.RangeDecoder(np.ascontiguousarray(words, dtype=np.uint32))
            sym = np.asarray(dec.decode(c.stream.model.Categorical(perfect=False), self._probs(n_digits)))
        except Exception as exc:  # noqa: BLE001 - the Rust core's errors for a malformed stream
            raise ValueError(f"undecodable payload: {exc}") from exc
        return self._indices(sym.reshape(n_digits, width))


@dataclass(frozen=True)
class FixedLengthModel:
    """dim x log2 L bits per digit, packed into 32-bit words: the framing of entropy-coded
    packets without the entropy coding (the fair baseline for a packet that a CRC guards)."""

    dim: int
    levels: int

    @property
    def _packer(self):
        from semcom.bitstream import BitPacker

        return BitPacker(self.dim, self.levels)

    def encode(self, indices: np.ndarray) -> np.ndarray:
        bits = self._packer.pack(np.asarray(indices, dtype=np.int64)).reshape(-1)
        return _words_of_bits(np.concatenate([bits, np.zeros(-len(bits) % WORD_BITS, np.uint8)]))

    def decode(self, words: np.ndarray, n_digits: int) -> np.ndarray:
        bits = _bits_of_words(words)[: n_digits * self._packer.n_bits]
        if len(bits) < n_digits * self._packer.n_bits:
            raise ValueError("payload shorter than its digits")
        return self._packer.unpack(bits.reshape(n_digits, -1)).indices


def _bits_of_words(words: np.ndarray) -> np.ndarray:
    return np.unpackbits(np.asarray(words, dtype=">u4").view(np.uint8)).astype(np.uint8)


def _words_of_bits(bits: np.ndarray) -> np.ndarray:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).view(">u4").astype(np.uint32)


@dataclass(frozen=True)
class Packets:
    """Variable-length packets as one padded bit matrix: row k is packet k, ``lengths[k]`` bits of it."""

    bits: np.ndarray  # (P, max length) uint8, zero-padded
    lengths: np.ndarray  # (P,) int
    digits: np.ndarray  # (P, 2): first digit and number of digits of each packet


@dataclass(frozen=True)
class Delivered:
    indices: np.ndarray  # (N, dim), erased symbols already 0 (the receiver fills them)
    erased: np.ndarray  # (N, dim) bool
    lost_groups: int


class GroupedEntropyTransport:
    """Digits -> entropy-coded packets of ``group`` digits -> channel -> digits (see the module docstring)."""

    def __init__(self, model: "EntropyModel | FixedLengthModel", group: int = 32, length_bits: int = 8, crc: str = "crc16",
                 on_crc_failure: str = "drop") -> None:
        if group < 1:
            raise ValueError(f"group must be >= 1 digit, got {group}")
        if on_crc_failure not in ("drop", "decode"):
            raise ValueError(f"on_crc_failure must be 'drop' or 'decode', got {on_crc_failure!r}")
        self.model, self.group, self.length_bits, self.crc = model, int(group), int(length_bits), crc
        self.on_crc_failure = on_crc_failure

    def pack(self, indices: np.ndarray) -> tuple[Packets, int]:
        """The packets of all digits, and the payload bits (range-coded words only)."""
        n = len(indices)
        starts = np.arange(0, n, self.group)
        rows, payload = [], 0
        for s in starts:
            words = self.model.encode(indices[s : s + self.group])
            if len(words) >= 1 << self.length_bits:
                raise ValueError(f"a group of {self.group} digits needs {len(words)} words, more than "
                                 f"length_bits={self.length_bits} can count; use smaller groups")
            payload += WORD_BITS * len(words)
            header = np.array([(len(words) >> k) & 1 for k in range(self.length_bits - 1, -1, -1)], np.uint8)
            body = np.concatenate([header, _bits_of_words(words)])
            rows.append(np.concatenate([body, crc_bits(body[None, :], self.crc)[0]]) if crc_width(self.crc) else body)
        lengths = np.array([len(r) for r in rows], np.int64)
        bits = np.zeros((len(rows), int(lengths.max(initial=0))), np.uint8)
        for k, r in enumerate(rows):
            bits[k, : len(r)] = r
        digits = np.stack([starts, np.minimum(self.group, n - starts)], axis=1)
        return Packets(bits, lengths, digits), payload

    def receive(self, packets: Packets, got_bits: np.ndarray, erased_bits: np.ndarray, n: int) -> Delivered:
        dim = self.model.dim
        indices = np.zeros((n, dim), np.int64)
        erased = np.ones((n, dim), bool)
        lost = 0
        width = crc_width(self.crc)
        for k, (start, count) in enumerate(packets.digits):
            length = int(packets.lengths[k])
            bits, gone = got_bits[k, :length], erased_bits[k, :length]
            ok = not gone.any()
            if ok and width:
                ok = bool(crc_check(bits[None, :], self.crc)[0])
            if not ok and (self.on_crc_failure == "drop" or gone[: self.length_bits].any()):
                lost += 1
                continue
            n_words = int(bits[: self.length_bits] @ (1 << np.arange(self.length_bits - 1, -1, -1)))
            body = np.where(gone, 0, bits)[self.length_bits : length - width]
            if n_words * WORD_BITS != len(body):  # a corrupted length field: the group cannot be read
                lost += 1
                continue
            try:
                got = self.model.decode(_words_of_bits(body), int(count))
            except ValueError:
                lost += 1
                continue
            indices[start : start + count] = got
            erased[start : start + count] = False
        return Delivered(indices, erased, lost)
