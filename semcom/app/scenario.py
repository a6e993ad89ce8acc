"""Scenario files: a documented TOML schema, parsed into typed dataclasses.

Every error names the file, the key and what was expected (see :class:`ScenarioError`).
Relative paths inside a scenario (``dataset.path``, ``store.path``) are resolved
against the scenario file's folder.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import channels

from semcom.bitstream import ERASURE_POLICIES, MAPPINGS
from semcom.config import ConfigError, build, check, non_negative, one_of
from semcom.errors import ScenarioError
from semcom.sweep import BitstreamPoint, ChannelPoint, LinkPoint, channel_label
from semcom.models.specs import CodecConfig
from semcom.models.training.config import ClassifierTrainConfig

DATASET_NAMES = ("mnist", "fashion-mnist")


@dataclass(frozen=True)
class DatasetSection:
    name: str = field(default="mnist", metadata=one_of(*DATASET_NAMES))
    path: str | None = None
    val_fraction: float = field(default=0.2, metadata=check(lambda v: 0.0 < v < 1.0, "a fraction in (0, 1): "
                                                            "training needs a validation split"))
    split_seed: int = field(default=0, metadata=non_negative())
    train_limit: int = field(default=0, metadata=non_negative())
    test_limit: int = field(default=0, metadata=non_negative())


def _swept_table(entry: Any, file: str, key: str, schema: type) -> tuple[list[str], list[list[Any]]]:
    """Check a table's keys against a dataclass; each value becomes a grid (a list sweeps it)."""
    if not isinstance(entry, dict):
        raise ScenarioError(file, key, f"expected a table, got {entry!r}")
    known = [f.name for f in fields(schema)]
    for name in entry:
        if name not in known:
            raise ScenarioError(file, f"{key}.{name}", f"unknown key; expected one of: {', '.join(known)}")
    names = list(entry)
    return names, [entry[n] if isinstance(entry[n], list) else [entry[n]] for n in names]


def _bitstream_points(entry: Any, file: str) -> list[BitstreamPoint | None]:
    """``[bitstream]`` is optional (fixed-length symbols); a list value sweeps it, e.g.
    ``coding = ["fixed", "entropy"]`` compares the two on every channel setting."""
    if entry is None:
        return [None]
    names, grids = _swept_table(entry, file, "bitstream", BitstreamPoint)
    points: list[BitstreamPoint | None] = []
    for combo in itertools.product(*grids):
        params = dict(zip(names, combo))
        try:
            point = BitstreamPoint(**params)
        except (ValueError, TypeError) as exc:
            bad = next((n for n in names if str(exc).startswith(n)), None)
            raise ScenarioError(file, f"bitstream.{bad}" if bad else "bitstream", str(exc)) from None
        if point.coding == "fixed":
            point = BitstreamPoint()  # the packet and entropy-coding settings do not apply
        elif point.coding == "fixed_packets":
            point = replace(point, model="factorized")  # no probability model: one canonical point
        if point not in points:
            points.append(point)
    return points


def _link_points(entry: Any, file: str) -> list[LinkPoint | None]:
    """``[link]`` is optional; without it bits go straight through the channel (no packets)."""
    if entry is None:
        return [None]
    from semcom.netsim import LinkConfig

    names, grids = _swept_table(entry, file, "link", LinkConfig)
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
    style: str = field(default="paper", metadata=one_of("paper", "screen"))
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
    classifier: ClassifierTrainConfig = field(default_factory=ClassifierTrainConfig)
    codecs: list[CodecConfig] = field(default_factory=list)
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
    bitstreams: list[BitstreamPoint | None] = field(default_factory=lambda: [None])

    def __getattr__(self, name: str) -> Any:
        # only reached for names Scenario lacks; "body" itself must not recurse while an
        # instance is being rebuilt (copy.deepcopy, pickle) before its fields are set
        if name.startswith("__") or name == "body":
            raise AttributeError(name)
        return getattr(self.body, name)

    @property
    def codec_list(self) -> list[CodecConfig]:
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
        if self.bitstreams != [None]:
            d["bitstreams"] = [asdict(b) if b is not None else {"coding": "fixed"} for b in self.bitstreams]
        return d


def _channel_points(entries: Any, file: str) -> list[ChannelPoint]:
    if not isinstance(entries, list) or not entries:
        raise ScenarioError(file, "channels", "expected a non-empty array of tables ([[channels]] entries)")
    points: list[ChannelPoint] = []
    raw: list[tuple[str, dict, str | None]] = []
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
        axis = next((n for n in names if isinstance(params[n], list)), names[0] if names else None)
        for combo in itertools.product(*grids):
            p = dict(zip(names, combo))
            try:
                channels.make(kind, **p)  # validates the parameters
            except channels.ChannelParameterError as exc:
                msg = str(exc)
                known = [f.name for f in fields(channels.KINDS[kind])]
                bad = next((n for n in names + known if f"'{n}'" in msg or msg.startswith(f"{kind}: {n} ")), None)
                raise ScenarioError(file, f"{key}.{bad}" if bad else key, str(exc)) from None
            except TypeError as exc:
                raise ScenarioError(file, key, str(exc)) from None
            raw.append((kind, p, axis))
    for kind in dict.fromkeys(k for k, _, _ in raw):
        mine = [(p, axis) for k, p, axis in raw if k == kind]
        # a label shows the parameters that tell this kind's settings apart (all of them for a lone setting)
        keys = list(dict.fromkeys(n for p, _ in mine for n in p))
        shown = keys if len(mine) == 1 else [n for n in keys if len({repr(p.get(n)) for p, _ in mine}) > 1]
        for p, axis in mine:
            label = channel_label(kind, {n: p[n] for n in shown if n in p})
            group = channel_label(kind, {n: p[n] for n in shown if n in p and n != axis})
            points.append(ChannelPoint(kind, p, label, axis=axis, group=group))
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
    bitstream_entry = data.pop("bitstream", None)
    try:
        body = build(_ScenarioBody, data)
    except ConfigError as exc:
        detail = exc.detail
        if detail.startswith("unknown key; expected one of: ") and "." not in exc.key:
            # [[channels]] and [link] are parsed apart from the rest: name them too
            valid = sorted({f.name for f in fields(_ScenarioBody) if not f.metadata.get("internal")}
                           | {"channels", "link", "bitstream"})
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
    bitstreams = _bitstream_points(bitstream_entry, file)
    if links != [None] and any(b is not None and b.coding != "fixed" for b in bitstreams):
        raise ScenarioError(file, "bitstream.coding", "grouped bitstreams over the packet link ([link]) are not "
                            "supported yet ([link] packetizes fixed-length digits itself); use coding = \"fixed\" "
                            "or drop [link]")
    analog = [c.name for entry in body.codecs for c in entry.expand() if c.family == "analog"]
    if analog:
        bad = next((p for p in points if p.kind not in ("clean", "coded")), None)
        if bad is not None:
            raise ScenarioError(file, "channels", f"analog codec {analog[0]!r} needs 'clean' or 'coded' channel "
                                f"settings (it sends channel symbols, not bits), got {bad.kind!r}")
        if links != [None] or bitstreams != [None]:
            raise ScenarioError(file, "link" if links != [None] else "bitstream",
                                f"analog codec {analog[0]!r} has no bitstream: it runs without [link] and [bitstream]")
    if body.receiver.mapping == "gray":
        odd = next((c for entry in body.codecs for c in entry.expand()
                    if c.symbol_format is not None and c.symbol_format.levels & (c.symbol_format.levels - 1)), None)
        if odd is not None:
            raise ScenarioError(file, "receiver.mapping", f"gray mapping needs L a power of two; codec "
                                f"{odd.name!r} has L={odd.symbol_format.levels}")
    raw = {**data, "channels": channel_entries, **({"link": link_entry} if link_entry is not None else {}),
           **({"bitstream": bitstream_entry} if bitstream_entry is not None else {})}
    return Scenario(body=body, channels=points, links=links, source=source, raw=raw, bitstreams=bitstreams)


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
