"""Scenario files: a documented TOML schema, parsed into typed dataclasses.

Every error names the file, the key and what was expected (see :class:`ScenarioError`).
Relative paths inside a scenario (``dataset.path``, ``store.path``) are resolved
against the scenario file's folder.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import channels

from semcom.bitstream import MAPPINGS
from semcom.codecs.base import SymbolFormat, format_for_bits
from semcom.codecs.quantizer import TRAIN_MODES
from semcom.training.adversarial import MSE_REDUCTIONS
from semcom.config import ConfigError, build, check, non_negative, one_of, positive
from semcom.errors import ScenarioError
from semcom.training.classifier import ClassifierTrainConfig
from semcom.training.common import CRITIC_BATCHES, PRECISIONS, TrainConfig

DATASET_NAMES = ("mnist", "fashion-mnist")
OBJECTIVES = ("mse", "deep_feature", "adversarial", "task_aware")
FAMILIES = ("learned", "kmeans", "pca", "label_refine", "label_joint")
PRESET_NAMES = ("only_compression", "NA1", "NA2", "NA3", "wgan")
DEFAULT_FEATURE_WEIGHT = 0.01  # lambda_feature / lambda_mse of the deep_feature objective
ERASURE_POLICIES = ("mode", "center", "zero")
_prob = check(lambda v: 0.0 <= v < 1.0, "a fraction in [0, 1)")


@dataclass(frozen=True)
class DatasetSection:
    name: str = field(default="mnist", metadata=one_of(*DATASET_NAMES))
    path: str | None = None
    val_fraction: float = field(default=0.2, metadata=check(lambda v: 0.0 < v < 1.0, "a fraction in (0, 1): "
                                                            "training needs a validation split"))
    split_seed: int = field(default=0, metadata=non_negative())
    train_limit: int = field(default=0, metadata=non_negative())
    test_limit: int = field(default=0, metadata=non_negative())


@dataclass(frozen=True)
class ClassifierSection:
    epochs: int = field(default=12, metadata=positive())
    batch_size: int = field(default=128, metadata=positive())
    lr: float = field(default=0.001, metadata=check(lambda v: 0 < v < math.inf, "a positive finite number"))
    lr_decay_every: int = field(default=5, metadata=positive())
    lr_decay_factor: float = field(default=0.3, metadata=check(lambda v: 0 < v <= 1, "a number in (0, 1]"))
    max_shift: int = field(default=2, metadata=non_negative())
    seed: int = 0

    def train_config(self, device: str, train_limit: int) -> ClassifierTrainConfig:
        return ClassifierTrainConfig(device=device, train_limit=train_limit, **asdict(self))


@dataclass(frozen=True)
class TrainSection:
    """Defaults are the paper's section 5.1 schedule."""

    epochs: int = field(default=25, metadata=positive())
    batch_size: int = field(default=64, metadata=positive())
    lr: float = field(default=0.0025, metadata=check(lambda v: 0 < v < math.inf, "a positive finite number"))
    critic_lr: float = field(default=0.0002, metadata=check(lambda v: 0 < v < math.inf, "a positive finite number"))
    lr_decay_start: int = field(default=10, metadata=non_negative())
    lr_decay_every: int = field(default=10, metadata=positive())
    lr_decay_factor: float = field(default=0.2, metadata=check(lambda v: 0 < v <= 1, "a number in (0, 1]"))
    critic_steps: int = field(default=1, metadata=positive())
    gp_lambda: float = field(default=10.0, metadata=check(lambda v: v >= 0, "a number >= 0"))
    precision: str = field(default="fp32", metadata=one_of(*PRECISIONS))
    adam_betas: list[float] = field(default_factory=lambda: [0.5, 0.9], metadata=check(
        lambda v: len(v) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in v),
        "two numbers in [0, 1), e.g. [0.5, 0.9]"))
    critic_batches: str = field(default="separate", metadata=one_of(*CRITIC_BATCHES))
    seed: int = field(default=0, metadata=non_negative())


def _check_train_channel(spec: dict) -> bool:
    kind = spec.get("kind")
    if kind == "bsc":
        return set(spec) <= {"kind", "p", "mapping"} and isinstance(spec.get("p"), (int, float)) \
            and 0 <= spec["p"] <= 0.5
    if kind == "bec":
        return set(spec) <= {"kind", "epsilon", "mapping"} and isinstance(spec.get("epsilon"), (int, float)) \
            and 0 <= spec["epsilon"] <= 1
    return False


@dataclass(frozen=True)
class CodecSection:
    """One codec. ``family = "learned"`` is the paper's Table 1 codec, trained with
    ``objective``; ``kmeans``, ``pca`` and ``label_refine`` are fitted reference codecs."""

    name: str = field(metadata=check(lambda v: bool(v.strip()), "a non-empty name"))
    family: str = field(default="learned", metadata=one_of(*FAMILIES))
    objective: str = field(default="mse", metadata=one_of(*OBJECTIVES))
    preset: str | None = field(default=None, metadata=one_of(*PRESET_NAMES))
    bits: int | list[int] | None = field(default=None, metadata={
        **positive("a positive number of bits per digit"), "each": True})
    dim: int | None = field(default=None, metadata=positive())
    levels: int = field(default=4, metadata=check(lambda v: v >= 2, "an integer L >= 2"))
    width: int = field(default=128, metadata=check(lambda v: v >= 2 and v % 2 == 0, "an even integer >= 2"))
    quantizer: str = field(default="ste", metadata=one_of(*TRAIN_MODES))
    sigma: float | None = field(default=None, metadata=check(lambda v: v > 0, "a positive number"))
    dither: bool = False
    lambda_mse: float | None = field(default=None, metadata=check(lambda v: v >= 0, "a number >= 0"))
    mse_reduction: str | None = field(default=None, metadata=one_of(*MSE_REDUCTIONS))
    lambda_feature: float | None = field(default=None, metadata=check(lambda v: v >= 0, "a number >= 0"))
    lambda_ce: float | list[float] | None = field(default=None, metadata={
        **check(lambda v: v >= 0, "a number >= 0"), "each": True})
    train_channel: dict | None = field(default=None, metadata=check(
        _check_train_channel, "a table {kind = 'bsc', p = 0..0.5} or {kind = 'bec', epsilon = 0..1}"))
    fit_iterations: int = field(default=30, metadata=positive())
    train_seeds: list[int] | None = field(default=None, metadata={
        **check(lambda v: v >= 0, "an integer >= 0"), "each": True})
    note: str | None = None  # why the settings are what they are: copied into the model card
    train: TrainSection = field(default_factory=TrainSection)
    #: the codec's name before its training seed was appended (set by :meth:`expand`)
    group: str | None = field(default=None, metadata={"internal": True})

    def __post_init__(self) -> None:
        if self.train_seeds is not None:
            if not self.train_seeds:
                raise ConfigError("train_seeds", "empty list; expected at least one training seed")
            if len(set(self.train_seeds)) != len(self.train_seeds):
                raise ConfigError("train_seeds", f"{self.train_seeds} repeats a seed; each seed trains one model")
        if isinstance(self.lambda_ce, list) and not self.lambda_ce:
            raise ConfigError("lambda_ce", "empty list; expected at least one weight")
        if self.objective == "adversarial" and self.preset is None:
            raise ConfigError("preset", "missing; the adversarial objective needs a preset (NA1, NA2, NA3, wgan, ...)")
        if self.preset is not None and self.objective not in ("adversarial", "task_aware"):
            raise ConfigError("preset", f"only used by the adversarial and task_aware objectives, "
                                        f"not {self.objective!r}")
        if self.family != "learned" and self.dim is not None:
            raise ConfigError("dim", f"the {self.family} codec takes bits only")
        if self.dim is None and self.bits is None:
            raise ConfigError("bits", "missing; give bits (bits per digit) or dim")
        if isinstance(self.bits, list):
            if not self.bits:
                raise ConfigError("bits", "empty list; expected at least one rate")
            if self.dim is not None:
                raise ConfigError("bits", "a list of rates cannot be combined with a fixed dim")
            for b in self.bits:
                self._check_rate(b)
            return
        if self.family != "learned":
            self._check_rate(self.bits)  # type: ignore[arg-type]
            return
        if self.dim is not None and self.bits is not None:
            if not math.isclose(SymbolFormat(self.dim, self.levels).nominal_bits, self.bits):
                raise ConfigError("bits", f"{self.bits} disagrees with dim={self.dim}, levels={self.levels} "
                                  f"({SymbolFormat(self.dim, self.levels).nominal_bits:g} bits); give one or the other")
        if self.dim is None:
            try:
                format_for_bits(self.bits, self.levels)  # type: ignore[arg-type]
            except ValueError as exc:
                raise ConfigError("bits", str(exc)) from None

    def _check_rate(self, bits: int) -> None:
        if self.family in ("learned", "pca"):
            try:
                format_for_bits(bits, self.levels)
            except ValueError as exc:
                raise ConfigError("bits", str(exc)) from None
        elif self.family == "kmeans" and not 1 <= bits <= 16:
            raise ConfigError("bits", f"a k-means codebook of 2**bits codewords needs 1 <= bits <= 16, got {bits}")
        elif self.family in ("label_refine", "label_joint") and not 4 <= bits <= 16:
            raise ConfigError("bits", f"label + refinement needs 4 <= bits <= 16 (the label takes 4), got {bits}")

    def expand(self) -> list["CodecSection"]:
        """Lists become one codec per value: rates named ``<name>-<bits>b``, cross-entropy
        weights ``<name>-ce<lambda>`` (both lists: ``<name>-<bits>b-ce<lambda>``), training
        seeds ``<name>-s<seed>``; ``group`` keeps the name without the seed, which is what
        results average over training seeds by."""
        sections = [self]
        if isinstance(self.bits, list):
            sections = [replace(s, name=f"{s.name}-{b}b", bits=b) for s in sections for b in self.bits]
        if isinstance(self.lambda_ce, list):
            sections = [replace(s, name=f"{s.name}-ce{w:g}", lambda_ce=w) for s in sections for w in self.lambda_ce]
        if self.train_seeds is not None:
            return [replace(s, name=f"{s.name}-s{k}", group=s.name, train_seeds=None, train=replace(s.train, seed=k))
                    for s in sections for k in self.train_seeds]
        return [replace(s, group=s.name) for s in sections]

    @property
    def train_seed(self) -> int:
        return self.train.seed

    @property
    def symbol_format(self) -> SymbolFormat:
        if self.family == "kmeans":
            return SymbolFormat(1, 2 ** self.bits)  # type: ignore[operator]
        if self.family == "label_refine":
            return SymbolFormat(1, 10 * 2 ** (self.bits - 4))  # type: ignore[operator]
        if self.family == "label_joint":
            return SymbolFormat(1, 10 * (2 ** self.bits // 10))  # type: ignore[operator]
        if self.dim is not None:
            return SymbolFormat(self.dim, self.levels)
        return format_for_bits(self.bits, self.levels)  # type: ignore[arg-type]

    def train_config(self, device: str, train_limit: int) -> TrainConfig:
        """The training settings; objective weights go to ``extra`` only when they apply,
        so adding an objective never changes the store key of existing models."""
        from semcom.training.adversarial import PRESETS

        preset = PRESETS[self.preset] if self.preset else None
        default_mse = preset.lambda_mse if preset is not None else 1.0
        extra: dict = {"lambda_mse": self.lambda_mse if self.lambda_mse is not None else default_mse}
        if self.objective == "deep_feature":
            # 0.01: the paper gives no feature weight; with equal weights the 128-d feature term
            # swamps the pixels (8 bits, one epoch: MSE 0.120 vs 0.046 for MSE alone); 0.01 costs
            # ~10% MSE for +19 points of accuracy, the paper's direction (0.039 vs 0.032)
            extra["lambda_feature"] = (self.lambda_feature if self.lambda_feature is not None
                                       else DEFAULT_FEATURE_WEIGHT * extra["lambda_mse"])
        if self.objective == "task_aware":
            extra["lambda_ce"] = self.lambda_ce if self.lambda_ce is not None else 0.01 * extra["lambda_mse"]
        if preset is not None and preset.bands:
            extra["preset"] = self.preset
            extra["bands"] = dict(preset.bands)
        reduction = self.mse_reduction or (preset.mse_reduction if preset is not None else "mean")
        if reduction != "mean":
            extra["mse_reduction"] = reduction
        if self.train_channel is not None:
            extra["train_channel"] = dict(self.train_channel)
        train = asdict(self.train)
        train["adam_betas"] = tuple(float(b) for b in train["adam_betas"])
        return TrainConfig(device=device, train_limit=train_limit, extra=extra, **train)


@dataclass(frozen=True)
class ChannelPoint:
    """One channel setting of a sweep, e.g. ``bsc`` with ``p = 0.01``."""

    kind: str
    params: dict[str, Any]
    label: str

    def make(self) -> channels.Channel:
        return channels.make(self.kind, **self.params)


@dataclass(frozen=True)
class LinkPoint:
    """One setting of the packet link (simpy model), e.g. selective repeat at 1 Mbit/s."""

    params: dict[str, Any]
    label: str

    def config(self):
        from semcom.netsim import LinkConfig

        return LinkConfig(**self.params)


def _link_points(entry: Any, file: str) -> list[LinkPoint | None]:
    """``[link]`` is optional; without it bits go straight through the channel (no packets)."""
    if entry is None:
        return [None]
    from semcom.netsim import LinkConfig

    if not isinstance(entry, dict):
        raise ScenarioError(file, "link", f"expected a table, got {entry!r}")
    known = [f.name for f in fields(LinkConfig)]
    for name in entry:
        if name not in known:
            raise ScenarioError(file, f"link.{name}", f"unknown key; expected one of: {', '.join(known)}")
    names = list(entry)
    grids = [entry[n] if isinstance(entry[n], list) else [entry[n]] for n in names]
    swept = [n for n, g in zip(names, grids) if isinstance(entry[n], list)]
    points: list[LinkPoint | None] = []
    for combo in itertools.product(*grids):
        params = dict(zip(names, combo))
        try:
            LinkConfig(**params)
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            bad = next((n for n in names if f"LinkConfig.{n} " in msg), None)
            raise ScenarioError(file, f"link.{bad}" if bad else "link", msg) from None
        label = ",".join(f"{n}={params[n]}" for n in swept) or "link"
        points.append(LinkPoint(params, label))
    return points


@dataclass(frozen=True)
class ReceiverSection:
    erasure_policy: str = field(default="mode", metadata=one_of(*ERASURE_POLICIES))
    mapping: str = field(default="natural", metadata=one_of(*MAPPINGS))


@dataclass(frozen=True)
class OutputSection:
    dir: str = "results"
    plots: bool = True
    examples: int = field(default=10, metadata=check(lambda v: 0 <= v <= 100, "an integer in [0, 100]"))
    formats: list[str] = field(default_factory=lambda: ["png"], metadata={
        **check(lambda v: v in ("png", "pdf", "svg"), "'png', 'pdf' or 'svg'"), "each": True})
    tables: list[str] = field(default_factory=list, metadata={
        **check(lambda v: v in ("paper_table3",), "'paper_table3'"), "each": True})


@dataclass(frozen=True)
class StoreSection:
    """``path``: the store models are read from and trained into (default ``$SEMCOM_STORE``
    or ``~/.cache/semcom/models``); ``also``: further stores only read, after it and before
    the shipped weights (e.g. the repository's committed ``models/``)."""

    path: str | None = None
    also: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _ScenarioBody:
    name: str = field(metadata=check(lambda v: bool(v) and all(c.isalnum() or c in "-_." for c in v)
                                     and not v.startswith("."),
                                     "a name of letters, digits, '-', '_' or '.', not starting with '.'"))
    description: str = ""
    seeds: list[int] = field(default_factory=lambda: [0], metadata=check(
        lambda v: len(v) > 0 and all(x >= 0 for x in v) and len(set(v)) == len(v),
        "a non-empty list of distinct integers >= 0"))
    device: str = field(default="auto", metadata=check(
        lambda v: v in ("auto", "cpu", "cuda") or v.startswith("cuda:"), "'auto', 'cpu' or 'cuda[:N]'"))
    dataset: DatasetSection = field(default_factory=DatasetSection)
    classifier: ClassifierSection = field(default_factory=ClassifierSection)
    codecs: list[CodecSection] = field(default_factory=list)
    receiver: ReceiverSection = field(default_factory=ReceiverSection)
    output: OutputSection = field(default_factory=OutputSection)
    store: StoreSection = field(default_factory=StoreSection)


@dataclass(frozen=True)
class Scenario:
    body: _ScenarioBody
    channels: list[ChannelPoint]
    links: list[LinkPoint | None]
    source: Path
    raw: dict

    def __getattr__(self, name: str) -> Any:
        return getattr(self.body, name)

    @property
    def codec_list(self) -> list[CodecSection]:
        """Codec entries with rate lists expanded, in file order."""
        return [c for entry in self.body.codecs for c in entry.expand()]

    def resolve(self, relative: str | None) -> Path | None:
        if relative is None:
            return None
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self.source.parent / p)

    def to_dict(self) -> dict:
        d = asdict(self.body)
        d["channels"] = [{"kind": c.kind, "label": c.label, **c.params} for c in self.channels]
        if self.links != [None]:
            d["links"] = [{"label": lp.label, **lp.params} for lp in self.links if lp is not None]
        return d


def _channel_points(entries: Any, file: str) -> list[ChannelPoint]:
    if not isinstance(entries, list) or not entries:
        raise ScenarioError(file, "channels", "expected a non-empty array of tables ([[channels]] entries)")
    points: list[ChannelPoint] = []
    for i, entry in enumerate(entries):
        key = f"channels[{i}]"
        if not isinstance(entry, dict):
            raise ScenarioError(file, key, f"expected a table, got {entry!r}")
        if "kind" not in entry:
            raise ScenarioError(file, f"{key}.kind", f"missing; expected one of: {', '.join(channels.KINDS)}")
        kind = entry["kind"]
        if not isinstance(kind, str) or kind not in channels.KINDS:
            raise ScenarioError(file, f"{key}.kind", f"unknown channel {kind!r}; expected one of: {', '.join(channels.KINDS)}")
        params = {k: v for k, v in entry.items() if k != "kind"}
        names = list(params)
        grids = []
        for name in names:
            values = params[name] if isinstance(params[name], list) else [params[name]]
            if not values:
                raise ScenarioError(file, f"{key}.{name}", "empty list; expected at least one value")
            grids.append(values)
        for combo in itertools.product(*grids):
            p = dict(zip(names, combo))
            try:
                ch = channels.make(kind, **p)
            except channels.ChannelParameterError as exc:
                msg = str(exc)
                known = [f.name for f in fields(channels.KINDS[kind])]
                bad = next((n for n in names + known if f"'{n}'" in msg or msg.startswith(f"{kind}: {n} ")), None)
                raise ScenarioError(file, f"{key}.{bad}" if bad else key, str(exc)) from None
            except TypeError as exc:
                raise ScenarioError(file, key, str(exc)) from None
            points.append(ChannelPoint(kind, p, ch.describe()))
    labels = [p.label for p in points]
    dup = next((lab for lab in labels if labels.count(lab) > 1), None)
    if dup:
        raise ScenarioError(file, "channels", f"channel setting {dup} appears twice")
    return points


def parse_scenario(data: dict, source: Path) -> Scenario:
    file = str(source)
    data = dict(data)
    channel_entries = data.pop("channels", None)
    link_entry = data.pop("link", None)
    try:
        body = build(_ScenarioBody, data)
    except ConfigError as exc:
        detail = exc.detail
        if detail.startswith("unknown key; expected one of: ") and "." not in exc.key:
            # [[channels]] and [link] are parsed apart from the rest: name them too
            valid = sorted({f.name for f in fields(_ScenarioBody) if not f.metadata.get("internal")} | {"channels", "link"})
            detail = f"unknown key; expected one of: {', '.join(valid)}"
        raise ScenarioError(file, exc.key, detail) from None
    if not body.codecs:
        raise ScenarioError(file, "codecs", "expected at least one [[codecs]] entry")
    names = [c.name for entry in body.codecs for c in entry.expand()]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ScenarioError(file, "codecs", f"codec name {dup!r} is used twice; names must be unique")
    points = _channel_points(channel_entries, file)
    links = _link_points(link_entry, file)
    if body.receiver.mapping == "gray":
        odd = next((c for entry in body.codecs for c in entry.expand()
                    if c.symbol_format.levels & (c.symbol_format.levels - 1)), None)
        if odd is not None:
            raise ScenarioError(file, "receiver.mapping", f"gray mapping needs L a power of two; codec "
                                f"{odd.name!r} has L={odd.symbol_format.levels}")
    raw = {**data, "channels": channel_entries, **({"link": link_entry} if link_entry is not None else {})}
    return Scenario(body=body, channels=points, links=links, source=source, raw=raw)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ScenarioError(str(path), "", "no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", f"invalid TOML: {exc}") from None
    return parse_scenario(data, path)
