"""The codec-family registry: how each kind of codec is described, built, fitted or trained, and stored.

A family answers, for a :class:`~semcom.models.specs.CodecConfig`:

- which rates it accepts (:meth:`CodecFamily.check`) and what it emits per digit
  (:meth:`CodecFamily.symbol_format`);
- the part of the store key that describes it (:meth:`CodecFamily.spec`), and how to
  rebuild an empty codec of the right shapes from that key (:meth:`CodecFamily.empty`);
- how a codec is made from training data (:meth:`CodecFamily.make`: trained or fitted).

Adding a family is one class and one :func:`register_family` line (CompressAI's
``compressai/registry`` is the model)::

    @register_family
    class Uniform(CodecFamily):
        name = "uniform"
        ...
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from semcom.codecs.symbols import SymbolFormat, format_for_bits
from semcom.progress import log

if TYPE_CHECKING:  # pragma: no cover  (torch is imported only to make or rebuild a codec)
    import torch

    from semcom.codecs.base import Codec, FittedCodec
    from semcom.models.specs import CodecConfig


@dataclass(frozen=True)
class MakeContext:
    """What making a codec may use: the training split, the classifier, where to run."""

    train_x: "torch.Tensor"
    train_y: "torch.Tensor"
    val_x: "torch.Tensor"
    val_y: "torch.Tensor"
    classifier: "torch.nn.Module"
    device: str = "auto"
    checkpoint: Path | None = None
    progress: bool = True


class CodecFamily(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    takes_dim: ClassVar[bool] = False  # may a config give dim instead of bits?
    trained: ClassVar[bool] = False  # trained for epochs (True) or fitted (False)

    @abstractmethod
    def check(self, bits: int | None, dim: int | None, levels: int) -> None:
        """Raise ValueError saying what is wrong with this rate for this family."""

    @abstractmethod
    def symbol_format(self, cfg: "CodecConfig") -> SymbolFormat: ...

    def needs_classifier(self, cfg: "CodecConfig") -> bool:
        return False

    @abstractmethod
    def spec(self, cfg: "CodecConfig", data_identity: dict, classifier_key: str | None) -> dict:
        """Everything that decides the codec's weights: its store key is a hash of this."""

    @abstractmethod
    def empty(self, spec: dict) -> Codec:
        """An untrained codec of the right shapes for ``spec``, to load stored weights into."""

    @abstractmethod
    def make(self, cfg: "CodecConfig", ctx: MakeContext) -> tuple[Codec, dict]:
        """Train or fit the codec; returns it and its history (JSON-able)."""

    def label(self, cfg: "CodecConfig") -> str:
        """What the results' ``objective`` column says for this codec."""
        return self.name

    #: whether the codec emits discrete symbols (a bitstream); the analog family does not
    digital: ClassVar[bool] = True

    def validate(self, codec, ctx: "MakeContext") -> dict:
        """Validation metrics for the model card."""
        from semcom.models.training.codec import evaluate_codec

        return evaluate_codec(codec, ctx.val_x, ctx.val_y, ctx.classifier)


FAMILIES: dict[str, CodecFamily] = {}


def register_family(cls: type[CodecFamily]) -> type[CodecFamily]:
    if cls.name in FAMILIES:
        raise ValueError(f"codec family {cls.name!r} is already registered")
    FAMILIES[cls.name] = cls()
    return cls


def family_of(name: str) -> CodecFamily:
    if name not in FAMILIES:
        raise ValueError(f"unknown codec family {name!r}; expected one of: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # tensors, arrays, numpy scalars
        return obj.tolist()
    return obj


# ---------------------------------------------------------------------------------------- learned

def trained_spec(family: str, arch: dict, cfg: "CodecConfig", data_identity: dict,
                 classifier_key: str | None) -> dict:
    """The spec of a codec trained by gradient descent: architecture, schedule, data, and the
    classifier only when its loss uses it (so an MSE codec's key survives a new classifier)."""
    spec = {"kind": "codec", "family": family, "objective": cfg.objective, "arch": arch,
            "train": cfg.train_config("auto", 0).identity(), "data": data_identity}
    weights = cfg.loss_weights()
    if weights.lambda_feature is not None or weights.lambda_ce is not None:
        spec["classifier"] = classifier_key
    return spec


@register_family
class Learned(CodecFamily):
    name = "learned"
    description = "the paper's Table 1 encoder/decoder with the eq. 2 quantizer, trained with an objective"
    takes_dim = True
    trained = True

    def check(self, bits, dim, levels):
        if dim is not None and bits is not None:
            if abs(SymbolFormat(dim, levels).nominal_bits - bits) > 1e-9:
                raise ValueError(f"{bits} disagrees with dim={dim}, levels={levels} "
                                 f"({SymbolFormat(dim, levels).nominal_bits:g} bits); give one or the other")
        elif dim is None:
            format_for_bits(bits, levels)

    def symbol_format(self, cfg):
        return SymbolFormat(cfg.dim, cfg.levels) if cfg.dim is not None else format_for_bits(cfg.bits, cfg.levels)

    def needs_classifier(self, cfg):
        return cfg.loss_weights().needs_classifier

    def arch(self, cfg):
        from semcom.codecs.learned import LearnedCodecConfig

        fmt = self.symbol_format(cfg)
        return LearnedCodecConfig(fmt.dim, fmt.levels, cfg.width, cfg.quantizer, cfg.sigma, cfg.dither)

    def spec(self, cfg, data_identity, classifier_key):
        return trained_spec(self.name, self.arch(cfg).to_dict(), cfg, data_identity, classifier_key)

    def empty(self, spec):
        from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig

        return LearnedCodec(LearnedCodecConfig(**spec["arch"]))

    def make(self, cfg, ctx):
        from semcom.models.training.codec import train_codec

        if ctx.progress:
            log(f"codec {cfg.name}: no stored model for this configuration; training "
                f"({cfg.train.epochs} epochs, {self.symbol_format(cfg).nominal_bits:g} bits/digit, "
                f"objective {cfg.objective}{' ' + cfg.preset if cfg.preset else ''})")
        return train_codec(self.arch(cfg), cfg.train_config(ctx.device, 0), cfg.loss_weights(), ctx.train_x,
                           ctx.val_x, ctx.val_y, ctx.classifier, train_y=ctx.train_y, checkpoint=ctx.checkpoint,
                           progress=ctx.progress, label=f"codec {cfg.name}")

    def label(self, cfg):
        return cfg.objective


# ---------------------------------------------------------------------------------------- fitted

class Fitted(CodecFamily):
    """Codecs fitted to the training images (reference codecs)."""

    def build(self, cfg: "CodecConfig") -> FittedCodec:
        raise NotImplementedError

    def symbol_format(self, cfg):
        return self.build(cfg).symbol_format

    def spec(self, cfg, data_identity, classifier_key):
        spec = {"kind": "codec", "family": self.name, "config": self.build(cfg).config(),
                "fit": {"seed": cfg.train.seed, "iterations": cfg.fit_iterations}, "data": data_identity}
        if self.needs_classifier(cfg):
            spec["classifier"] = classifier_key
        return spec

    def empty(self, spec):
        return self.codec_class().from_config(spec["config"])

    def codec_class(self) -> type[FittedCodec]:
        raise NotImplementedError

    def fit(self, codec, cfg, ctx) -> dict:
        raise NotImplementedError

    def make(self, cfg, ctx):
        codec = self.build(cfg)
        if ctx.progress:
            log(f"codec {cfg.name}: no stored model for this configuration; fitting {self.name} "
                f"({cfg.bits} bits/digit)")
        t0 = time.perf_counter()
        history = self.fit(codec, cfg, ctx)
        if ctx.progress:
            log(f"codec {cfg.name}: fitted in {time.perf_counter() - t0:.1f} s")
        return codec, jsonable(history)


@register_family
class KMeans(Fitted):
    name = "kmeans"
    description = "a 2**bits-codeword k-means vector quantizer of whole images"

    def check(self, bits, dim, levels):
        from semcom.codecs.symbols import MAX_KMEANS_BITS

        if not 1 <= bits <= MAX_KMEANS_BITS:
            raise ValueError(f"a k-means codebook of 2**bits codewords needs 1 <= bits <= {MAX_KMEANS_BITS}, "
                             f"got {bits}")

    def codec_class(self):
        from semcom.codecs.classical import KMeansVQCodec

        return KMeansVQCodec

    def build(self, cfg):
        return self.codec_class()(cfg.bits)

    def fit(self, codec, cfg, ctx):
        return codec.fit(ctx.train_x, seed=cfg.train.seed, iterations=cfg.fit_iterations)


@register_family
class PCA(Fitted):
    name = "pca"
    description = "PCA components, each quantized to L Lloyd-Max levels"

    def check(self, bits, dim, levels):
        format_for_bits(bits, levels)

    def codec_class(self):
        from semcom.codecs.classical import PCAScalarCodec

        return PCAScalarCodec

    def build(self, cfg):
        return self.codec_class()(cfg.bits, levels=cfg.levels)

    def fit(self, codec, cfg, ctx):
        return codec.fit(ctx.train_x, seed=cfg.train.seed)


@register_family
class LabelRefine(Fitted):
    name = "label_refine"
    description = "the classifier's label in its own bits + per-class k-means refinement"
    packing = "split"

    def check(self, bits, dim, levels):
        from semcom.codecs.symbols import MAX_REFINE_BITS, label_bits

        lb = label_bits(10)
        if not lb <= bits <= lb + MAX_REFINE_BITS:
            raise ValueError(f"label + refinement needs {lb} <= bits <= {lb + MAX_REFINE_BITS} "
                             f"(the label takes {lb}), got {bits}")

    def needs_classifier(self, cfg):
        return True

    def codec_class(self):
        from semcom.codecs.semantic import LabelRefinementCodec

        return LabelRefinementCodec

    def build(self, cfg):
        return self.codec_class()(cfg.bits, packing=self.packing)

    def fit(self, codec, cfg, ctx):
        return codec.fit(ctx.train_x, ctx.train_y, ctx.classifier, seed=cfg.train.seed,
                         iterations=cfg.fit_iterations)


@register_family
class LabelJoint(LabelRefine):
    name = "label_joint"
    description = "label and refinement as one message (2**bits // 10 codewords per class)"
    packing = "joint"


# ---------------------------------------------------------------------------------------- analog

@register_family
class Analog(CodecFamily):
    name = "analog"
    description = "DeepJSCC-style: the image mapped straight to dim complex channel symbols (no bitstream)"
    takes_dim = True
    trained = True
    digital = False

    def check(self, bits, dim, levels):
        if bits is not None:
            raise ValueError("the analog codec takes dim (complex channel symbols per digit), not bits")

    def symbol_format(self, cfg):
        return None

    def needs_classifier(self, cfg):
        return cfg.loss_weights().needs_classifier

    def arch(self, cfg):
        from semcom.codecs.analog import AnalogCodecConfig

        return AnalogCodecConfig(cfg.dim, cfg.width, cfg.train_snr_db, cfg.train_snr_spread_db, cfg.fading, cfg.csi)

    def spec(self, cfg, data_identity, classifier_key):
        return trained_spec(self.name, self.arch(cfg).to_dict(), cfg, data_identity, classifier_key)

    def empty(self, spec):
        from semcom.codecs.analog import AnalogCodec, AnalogCodecConfig

        return AnalogCodec(AnalogCodecConfig(**spec["arch"]))

    def make(self, cfg, ctx):
        from semcom.models.training.analog import train_analog

        if ctx.progress:
            log(f"codec {cfg.name}: no stored model for this configuration; training ({cfg.train.epochs} epochs, "
                f"{cfg.dim} complex symbols/digit at {cfg.train_snr_db:g} dB over {cfg.fading})")
        return train_analog(self.arch(cfg), cfg.train_config(ctx.device, 0), cfg.loss_weights(), ctx.train_x,
                            ctx.val_x, ctx.val_y, ctx.classifier, train_y=ctx.train_y, progress=ctx.progress,
                            label=f"codec {cfg.name}")

    def validate(self, codec, ctx):
        from semcom.models.training.analog import evaluate_analog

        return evaluate_analog(codec, ctx.val_x, ctx.val_y, ctx.classifier, codec.config.train_snr_db)

    def label(self, cfg):
        return f"analog {cfg.objective}"


@register_family
class LabelPartitioned(Fitted):
    name = "label_partitioned"
    description = "the classifier's decision picks a class codebook; 2**bits codewords shared out by rate"
    entropy_constrained = False

    def check(self, bits, dim, levels):
        if not 4 <= bits <= 12:
            raise ValueError(f"a class-partitioned codebook needs 4 <= bits <= 12, got {bits}")

    def needs_classifier(self, cfg):
        return True

    def codec_class(self):
        from semcom.codecs.partitioned import PartitionedCodebookCodec

        return PartitionedCodebookCodec

    def build(self, cfg):
        return self.codec_class()(cfg.bits, entropy_constrained=self.entropy_constrained)

    def fit(self, codec, cfg, ctx):
        return codec.fit(ctx.train_x, ctx.classifier, seed=cfg.train.seed, iterations=cfg.fit_iterations)


@register_family
class LabelECVQ(LabelPartitioned):
    name = "label_ecvq"
    description = "class-partitioned entropy-constrained VQ: an average of bits per digit, entropy-coded"
    entropy_constrained = True
