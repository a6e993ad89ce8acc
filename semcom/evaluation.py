"""Evaluate codecs over channel settings: one metrics row per sweep point.

A sweep point is (codec, channel setting, seed). Heavy work is batched: the test set
is encoded once per codec, each channel setting acts on the whole bit matrix at once,
and decoding goes through a codebook table when the codec's codebook is small. Each
point draws its randomness from its own seed, so results do not depend on the order
points run in (which is what makes interrupted sweeps resumable and parallel ones
reproducible).
"""

from __future__ import annotations

import math
import time

from dataclasses import dataclass, field

import numpy as np
import torch

import channels

from semcom.bitstream import BitPacker
from semcom.sweep import ChannelPoint, LinkPoint, SweepPoint, point_seed, sweep_points  # noqa: F401  (re-exported)
from semcom.codecs.base import Codec
from semcom.transceiver import Receiver, Reconstructor, fill_levels, transmit
from semcom.metrics import ConfusionMatrix, empirical_entropy_bits, mse_to_codewords, per_image_mse, psnr


@dataclass
class CodecUnderTest:
    name: str
    codec: Codec
    objective: str
    prior: np.ndarray | None
    model_key: str
    group: str | None = None  # the name results average training seeds by (default: name)
    train_seed: int | None = None
    base: str | None = None  # the codec entry's name before rate / seed expansion (default: group)
    train_symbols: np.ndarray | None = None  # the training images' symbols: the joint entropy model's counts
    n_train: int = 48000  # images the symbol prior was counted on (its smoothing weight)


@dataclass
class PointResult:
    row: dict
    class_rows: list[dict]
    examples: np.ndarray = field(default_factory=lambda: np.zeros((0, 784), np.float32))
    latency: np.ndarray | None = None  # per digit, seconds (inf: never delivered); link runs only
    example_predictions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # classifier's labels
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # true labels (original point)


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def _metric_row(labels: np.ndarray, preds: np.ndarray, image_mse: np.ndarray | None) -> tuple[dict, ConfusionMatrix]:
    cm = ConfusionMatrix.from_labels(labels, preds)
    row = {"accuracy": cm.accuracy, "macro_f1": cm.macro_f1()}
    if image_mse is not None:
        mse = float(image_mse.mean())
        row.update(mse=mse, psnr_db=psnr(mse))
    else:
        row.update(mse=0.0, psnr_db=math.inf)
    return row, cm


@torch.inference_mode()
def classify(classifier: torch.nn.Module, images: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    classifier.eval()
    return torch.cat([classifier(images[i : i + batch_size]).argmax(1)
                      for i in range(0, len(images), batch_size)]).numpy()


def original_point(classifier: torch.nn.Module, images: torch.Tensor, labels: np.ndarray, seed: int,
                   n_examples: int) -> PointResult:
    """The classifier on uncompressed images: the ceiling every codec is compared to."""
    flat = images.reshape(len(images), -1).numpy()
    preds = classify(classifier, images)
    row, cm = _metric_row(labels, preds, None)
    row = {"codec": "original", "codec_group": "original", "codec_base": "original", "train_seed": "",
           "objective": "", "bits_per_digit": 8 * 784, "rate_bound_bits": 8 * 784,
           "dim": 784, "levels": 256,
           "payload_bits": 8 * 784, "channel": "clean", "channel_kind": "clean", "param": "",
           "param_value": math.nan, "seed": seed, "n_images": len(labels), **row,
           "bit_error_rate": 0.0, "bit_erasure_rate": 0.0, "symbol_erasure_rate": 0.0,
           "entropy_joint_bits": math.nan, "entropy_marginal_bits": math.nan, "seconds": 0.0}
    classes = [{"codec": "original", "channel": "clean", "seed": seed, **r} for r in cm.per_class()]
    return PointResult(row, classes, flat[:n_examples], example_predictions=preds[:n_examples],
                       labels=np.asarray(labels[:n_examples], np.int64))


# Largest (images x codewords) distortion table built by default: 64 MiB of float64.
DISTORTION_TABLE_LIMIT = 1 << 23


class CodecBench:
    """Everything prepared once per codec, so each sweep point costs a channel draw and a lookup.

    With a codebook table and a (test images x codewords) distortion table, a point's
    reconstructions are never materialised: predictions and per-image MSE are gathers.
    A codec with shared dither has no codebook: its clean-channel reconstructions are
    decoded once, and a point decodes again only the digits whose received indices differ
    from the sent ones (digit i always carries sequence number i, whatever the channel or
    the link did to it).
    """

    def __init__(self, cut: CodecUnderTest, classifier: torch.nn.Module, images: torch.Tensor,
                 labels: np.ndarray, *, erasure_policy: str = "mode", mapping: str = "natural",
                 tabulate: bool | None = None, distortion_limit: int = DISTORTION_TABLE_LIMIT) -> None:
        self.cut = cut
        codec = cut.codec.eval()
        fmt = codec.symbol_format
        self.format = fmt
        self.labels = labels
        self.originals = images.reshape(len(images), -1).numpy()
        self.packer = BitPacker(fmt.dim, fmt.levels, mapping)
        self.receiver = Receiver(self.packer, fill_levels(erasure_policy, fmt.dim, fmt.levels, cut.prior))
        self.reconstruct = Reconstructor(codec, classifier, tabulate=tabulate)
        with torch.no_grad():
            self.sent = torch.cat([codec.encode(images[i : i + 4096], torch.arange(i, min(i + 4096, len(images))))
                                   for i in range(0, len(images), 4096)]).numpy()
        self.entropy_joint, self.entropy_marginal = empirical_entropy_bits(self.sent, fmt.levels)
        self.distortion: np.ndarray | None = None
        if self.reconstruct.tabulated and len(labels) * fmt.codebook_size <= distortion_limit:
            self.distortion = mse_to_codewords(self.originals, self.reconstruct.codebook()[0])
        self.clean: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if codec.uses_dither:
            x_hat, preds = self.reconstruct(self.sent)
            self.clean = (x_hat, preds, per_image_mse(self.originals, x_hat))

    def _outcome(self, indices: np.ndarray, n_examples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predictions, per-image MSE and the first ``n_examples`` reconstructions."""
        if self.clean is not None:
            return self._dithered_outcome(indices, n_examples)
        if self.distortion is not None:
            images, preds = self.reconstruct.codebook()
            flat = self.reconstruct.codeword_numbers(indices)
            image_mse = self.distortion[np.arange(len(flat)), flat]
            return preds[flat], image_mse, images[flat[:n_examples]]
        x_hat, preds = self.reconstruct(indices)
        return preds, per_image_mse(self.originals, x_hat), x_hat[:n_examples]

    def _dithered_outcome(self, indices: np.ndarray, n_examples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        assert self.clean is not None
        clean_images, clean_preds, clean_mse = self.clean
        changed = np.flatnonzero((indices != self.sent).any(axis=1))
        preds, image_mse = clean_preds.copy(), clean_mse.copy()
        examples = clean_images[:n_examples].copy()
        if changed.size:
            x_hat, p = self.reconstruct(indices[changed], seq=changed)
            preds[changed] = p
            image_mse[changed] = per_image_mse(self.originals[changed], x_hat)
            shown = changed < n_examples
            examples[changed[shown]] = x_hat[shown]
        return preds, image_mse, examples

    def _transport(self, bs):
        """The entropy-coded transport of ``bs`` and the sent packets (built once per setting)."""
        from semcom.entropy import EntropyModel, GroupedEntropyTransport

        from semcom.entropy import FixedLengthModel

        key = (bs.coding, bs.model, bs.group, bs.length_bits, bs.crc, bs.on_crc_failure)
        cache = self.__dict__.setdefault("_transports", {})
        if key not in cache:
            if bs.coding == "fixed_packets":
                model = FixedLengthModel(self.format.dim, self.format.levels)
            elif bs.model == "joint":
                if self.cut.train_symbols is None:
                    raise ValueError("the joint entropy model needs the training images' symbols")
                model = EntropyModel.joint(self.cut.train_symbols, self.format.levels)
            else:
                if self.cut.prior is None:
                    raise ValueError("entropy coding needs the codec's symbol prior (its model card)")
                model = EntropyModel.factorized(self.cut.prior, self.cut.n_train)
            transport = GroupedEntropyTransport(model, bs.group, bs.length_bits, bs.crc, bs.on_crc_failure)
            cache[key] = (transport, *transport.pack(self.sent))
        return cache[key]

    def _send_entropy_coded(self, bs, channel, rng) -> tuple[np.ndarray, np.ndarray, dict]:
        transport, packets, payload = self._transport(bs)
        got = channel(packets.bits, rng)
        valid = np.arange(packets.bits.shape[1])[None, :] < packets.lengths[:, None]
        delivered = transport.receive(packets, got.bits, got.erased, len(self.sent))
        indices = np.where(delivered.erased, self.receiver.fill[None, :], delivered.indices)
        wrong = (~delivered.erased.any(axis=1)) & (delivered.indices != self.sent).any(axis=1)
        total = int(packets.lengths.sum())
        row = {"bits_per_digit": total / len(self.sent), "payload_bits_per_digit": payload / len(self.sent),
               "bit_error_rate": int(((got.bits != packets.bits) & ~got.erased & valid).sum()) / max(total, 1),
               "bit_erasure_rate": float((got.erased & valid).sum()) / max(total, 1),
               "symbol_erasure_rate": float(delivered.erased.mean()),
               "lost_group_ratio": delivered.lost_groups / max(len(packets.lengths), 1),
               "undetected_digit_ratio": float(wrong.mean())}
        return indices, delivered.erased, row

    def _send_direct(self, channel, rng) -> tuple[np.ndarray, dict]:
        """Every digit's bits through the channel at once (no packets, no timing)."""
        bits, erased, flips = transmit(self.packer, self.sent, channel, rng)
        got = self.receiver.receive(bits, erased)
        row = self._fixed_coding_row(bits, erased, flips, got)
        if isinstance(channel, channels.CodedLink):
            d = channel.digits_per_codeword(self.packer.n_bits)
            lost = erased.any(axis=1)
            blocks = lost[: len(lost) // d * d].reshape(-1, d)
            row.update(
                block_error_rate=float(np.concatenate([blocks.all(axis=1), lost[len(lost) // d * d:][:1]]).mean()),
                channel_uses_per_digit=channel.channel_uses_per_digit(self.packer.n_bits),
                residual_bit_error_rate=flips / max(int((~erased).sum()), 1))
        return got.indices, row

    def _send_over_link(self, link: LinkPoint, channel, rng) -> tuple[np.ndarray, dict, dict, np.ndarray]:
        """The digits in packets through the simpy link (queueing, ARQ, deadline): also gives latency."""
        from semcom.netsim import packet_phy, simulate_link

        cfg = link.config()
        sent_bits = self.packer.pack(self.sent)
        outcome = simulate_link(sent_bits, channel, cfg, rng)
        bits, erased = outcome.bits, outcome.erased
        flips = int(((bits != sent_bits) & ~erased).sum())
        link_row = {"link": link.label, "link_deadline_s": float(cfg.deadline),
                    **{f"link_{k}": v for k, v in outcome.to_row().items()}}
        phy = packet_phy(channel)
        if phy is not None:  # coded packets: what a full packet costs on the air
            link_row.update(
                link_channel_uses_per_packet=int(phy.channel_uses(cfg.packet_bits(self.packer.n_bits))),
                link_airtime_s=cfg.serialization_time(self.packer.n_bits, channel=phy))
        got = self.receiver.receive(bits, erased)
        row = self._fixed_coding_row(bits, erased, flips, got)
        if isinstance(channel, channels.CodedLink):  # packets of digits_per_packet digits, header and CRC, cut into codewords
            row.update(
                channel_uses_per_digit=link_row["link_channel_uses_per_packet"] / cfg.digits_per_packet,
                residual_bit_error_rate=flips / max(int((~erased).sum()), 1))
        return got.indices, row, link_row, outcome.latency.astype(np.float64)

    def _fixed_coding_row(self, bits: np.ndarray, erased: np.ndarray, flips: int, got) -> dict:
        return {"bits_per_digit": float(self.packer.n_bits), "payload_bits_per_digit": float(self.packer.n_bits),
                "bit_error_rate": flips / max(bits.size, 1),
                "bit_erasure_rate": float(erased.mean()) if erased.size else 0.0,
                "symbol_erasure_rate": float(got.symbol_erased.mean()) if got.symbol_erased.size else 0.0}

    def run(self, point: SweepPoint, n_examples: int = 0) -> PointResult:
        t0 = time.perf_counter()
        channel = point.channel.make()
        # a coded physical layer draws its noise per (setting, seed), the same for every codec (common
        # random numbers): its error patterns are then computed once and shared (channels.phy)
        seed_labels = (point.setting,) if isinstance(channel, channels.CodedLink) else (point.codec, point.setting)
        rng = np.random.default_rng(point_seed(point.seed, *seed_labels))
        link_row: dict = {}
        latency = None
        bs = point.bitstream
        if bs is not None and bs.coding in ("entropy", "fixed_packets"):
            if point.link is not None:
                raise ValueError("grouped bitstreams over the packet link are not supported yet; use [link]")
            indices, _, coding_row = self._send_entropy_coded(bs, channel, rng)
        elif point.link is None:
            indices, coding_row = self._send_direct(channel, rng)
        else:
            indices, coding_row, link_row, latency = self._send_over_link(point.link, channel, rng)
        preds, image_mse, examples = self._outcome(indices, n_examples)
        self.last_predictions = preds
        metrics, cm = _metric_row(self.labels, preds, image_mse)
        row = {
            **_codec_columns(self.cut, point.codec),
            # the rate is what crosses the channel; dim*log2(L) (eq. 1) is the bound it meets
            "bits_per_digit": coding_row["bits_per_digit"],
            "rate_bound_bits": self.format.nominal_bits, "dim": self.format.dim, "levels": self.format.levels,
            "payload_bits": self.packer.n_bits,
            "coding": bs.coding if bs is not None else "fixed",
            "bitstream": bs.label if bs is not None and bs.coding != "fixed" else "",
            "payload_bits_per_digit": coding_row["payload_bits_per_digit"],
            **_channel_columns(point), "n_images": len(self.labels), **metrics,
            "bit_error_rate": coding_row["bit_error_rate"],
            "bit_erasure_rate": coding_row["bit_erasure_rate"],
            "symbol_erasure_rate": coding_row["symbol_erasure_rate"],
            "entropy_joint_bits": self.entropy_joint, "entropy_marginal_bits": self.entropy_marginal,
            **{k: v for k, v in coding_row.items() if k in _OPTIONAL_CODING_COLUMNS},
            **link_row,
            "seconds": time.perf_counter() - t0,
        }
        classes = [{"codec": point.codec, "channel": point.setting, "seed": point.seed, **r}
                   for r in cm.per_class()]
        return PointResult(row, classes, examples.astype(np.float32), latency,
                           np.asarray(preds[: len(examples)], np.int64))


_OPTIONAL_CODING_COLUMNS = ("lost_group_ratio", "undetected_digit_ratio", "block_error_rate",
                            "channel_uses_per_digit", "residual_bit_error_rate")


def _codec_columns(cut: CodecUnderTest, name: str) -> dict:
    """Which model a row is about: results average training seeds by ``codec_group``."""
    return {"codec": name, "codec_group": cut.group or name, "codec_base": cut.base or cut.group or name,
            "train_seed": cut.train_seed if cut.train_seed is not None else "", "objective": cut.objective}


def _channel_columns(point: SweepPoint) -> dict:
    """Which channel setting and channel seed a row is about (the x axis of its figures)."""
    varying = point.channel.axis_param
    return {"channel": point.setting, "channel_kind": point.channel.kind, "channel_label": point.channel.label,
            "channel_group": point.channel.group or point.channel.kind, "param": varying,
            "param_value": _number(point.channel.params.get(varying)), "channel_axis": point.channel.axis_label,
            "seed": point.seed}


@dataclass(frozen=True)
class PointMetrics:
    """What one (codec, channel, seed) evaluation measured on a test set."""

    accuracy: float
    macro_f1: float
    mse: float  # eq. 4, per-pixel
    psnr_db: float
    bits_per_digit: float  # what crossed the channel
    rate_bound_bits: float  # eq. 1's dim * log2 L
    bit_error_rate: float
    bit_erasure_rate: float
    symbol_erasure_rate: float
    entropy_joint_bits: float
    entropy_marginal_bits: float
    n_images: int
    confusion: ConfusionMatrix = field(repr=False)
    reconstructions: np.ndarray = field(repr=False)  # the first n_examples, (n, 784)
    latency: np.ndarray | None = field(default=None, repr=False)  # per digit (link runs)
    link: dict = field(default_factory=dict, repr=False)  # delivery, latency percentiles (link runs)


def evaluate(codec: Codec, classifier: torch.nn.Module, channel: "channels.Channel | ChannelPoint",
             images: torch.Tensor, labels: np.ndarray, *, prior: np.ndarray | None = None,
             erasure_policy: str = "mode", mapping: str = "natural", seed: int = 0,
             link: "LinkPoint | None" = None, n_examples: int = 0) -> PointMetrics:
    """One point: encode ``images``, send their bits over ``channel`` (and ``link``), decode, classify.

    The core of every sweep, for notebooks: no scenario file, no store. ``prior`` is the
    codec's symbol prior (its model card's ``symbol_prior``), which the ``"mode"`` erasure
    policy needs; without it the policy falls back to ``"center"``. ``seed`` draws the
    channel noise.
    """
    point = channel if isinstance(channel, ChannelPoint) else ChannelPoint.of(channel)
    if prior is None and erasure_policy == "mode":
        erasure_policy = "center"
    cut = CodecUnderTest("codec", codec, "", prior, "")
    bench = CodecBench(cut, classifier, images, np.asarray(labels), erasure_policy=erasure_policy, mapping=mapping)
    result = bench.run(SweepPoint("codec", point, seed, link), n_examples=n_examples)
    r = result.row
    confusion = ConfusionMatrix.from_labels(np.asarray(labels), bench.last_predictions)
    return PointMetrics(
        accuracy=r["accuracy"], macro_f1=r["macro_f1"], mse=r["mse"], psnr_db=r["psnr_db"],
        bits_per_digit=r["bits_per_digit"], rate_bound_bits=r["rate_bound_bits"],
        bit_error_rate=r["bit_error_rate"], bit_erasure_rate=r["bit_erasure_rate"],
        symbol_erasure_rate=r["symbol_erasure_rate"], entropy_joint_bits=r["entropy_joint_bits"],
        entropy_marginal_bits=r["entropy_marginal_bits"], n_images=r["n_images"], confusion=confusion,
        reconstructions=result.examples, latency=result.latency,
        link={k: v for k, v in r.items() if k.startswith("link_")})


class AnalogBench:
    """Sweep points of an analog (DeepJSCC-style) codec: its k complex symbols per digit cross the
    channel setting's SNR and fading directly; no bits, no receiver policy.

    The setting must be ``clean`` or ``coded`` (channels.CodedLink): the analog codec then sees
    the same Es/N0 per channel symbol as the digital link's symbols, and its fading (one
    coefficient per digit here, per codeword for the digital link), so schemes compare at equal
    SNR and at the channel uses per digit that each reports.
    """

    def __init__(self, cut: CodecUnderTest, classifier: torch.nn.Module, images: torch.Tensor,
                 labels: np.ndarray, **_ignored) -> None:
        from semcom.codecs.analog import AnalogCodec

        if not isinstance(cut.codec, AnalogCodec):
            raise TypeError(f"AnalogBench needs an AnalogCodec, got {type(cut.codec).__name__}")
        self.cut, self.classifier = cut, classifier.eval()
        self.images, self.labels = images, labels
        self.originals = images.reshape(len(images), -1).numpy()
        with torch.no_grad():
            self.sent = torch.cat([cut.codec.eval().transmit(images[i : i + 1024])
                                   for i in range(0, len(images), 1024)])

    def run(self, point: SweepPoint, n_examples: int = 0) -> PointResult:
        from semcom.codecs.analog import apply_channel

        t0 = time.perf_counter()
        if point.link is not None or (point.bitstream is not None and point.bitstream.coding != "fixed"):
            raise ValueError("an analog codec has no bitstream: it runs without [link] and [bitstream]")
        channel = point.channel.make()
        codec = self.cut.codec
        seq = point_seed(point.seed, point.codec, point.setting)
        g = torch.Generator().manual_seed(int(np.random.default_rng(seq).integers(2**62)))
        if point.channel.kind == "clean":
            received, snr = self.sent, math.inf
        elif isinstance(channel, channels.CodedLink):
            snr = channel.esn0_db
            received = apply_channel(self.sent, snr, channel.fading, codec.config.csi, g)
        else:
            raise ValueError(f"an analog codec runs over 'clean' or 'coded' channel settings, not {point.channel.kind!r}")
        with torch.no_grad():
            x_hat = torch.cat([codec.receive(received[i : i + 256]) for i in range(0, len(received), 256)])
        preds = classify(self.classifier, x_hat)
        flat = x_hat.reshape(len(x_hat), -1).numpy()
        metrics, cm = _metric_row(self.labels, preds, per_image_mse(self.originals, flat))
        row = {**_codec_columns(self.cut, point.codec), "bits_per_digit": math.nan, "rate_bound_bits": math.nan,
               "dim": codec.symbols, "levels": 0, "payload_bits": 0, "coding": "analog", "bitstream": "",
               "payload_bits_per_digit": math.nan, **_channel_columns(point), "n_images": len(self.labels),
               **metrics, "bit_error_rate": math.nan,
               "bit_erasure_rate": math.nan, "symbol_erasure_rate": math.nan, "entropy_joint_bits": math.nan,
               "entropy_marginal_bits": math.nan, "channel_uses_per_digit": float(codec.symbols),
               "esn0_db": snr, "seconds": time.perf_counter() - t0}
        classes = [{"codec": point.codec, "channel": point.setting, "seed": point.seed, **r} for r in cm.per_class()]
        return PointResult(row, classes, flat[:n_examples].astype(np.float32), None,
                           np.asarray(preds[:n_examples], np.int64))
