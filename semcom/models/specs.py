"""What a codec is, as a typed value: family, rate, architecture, objective, training.

:class:`CodecConfig` is the one declaration of a codec's settings, with the validation a
scenario file's ``[[codecs]]`` entry gets (the scenario builds it from TOML; a notebook
builds it directly). List values are sweeps: ``bits = [8, 12]``, ``lambda_ce = [...]``
and ``train_seeds = [0, 1, 2]`` expand into one codec per value (:meth:`CodecConfig.expand`).
Everything family-specific (rates a family accepts, its symbol format, how it is fitted or
trained) is asked of the family's entry in :mod:`semcom.models.families`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from semcom.codecs.symbols import TRAIN_MODES, SymbolFormat
from semcom.config import ConfigError, check, one_of, positive
from semcom.models.training.config import TrainConfig
from semcom.models.training.objectives import MSE_REDUCTIONS, OBJECTIVES, PRESETS, ObjectiveParams, loss_weights


def _check_train_channel(spec: dict) -> bool:
    kind = spec.get("kind")
    if kind == "bsc":
        return set(spec) <= {"kind", "p", "mapping"} and isinstance(spec.get("p"), (int, float)) \
            and 0 <= spec["p"] <= 0.5
    if kind == "bec":
        return set(spec) <= {"kind", "epsilon", "mapping"} and isinstance(spec.get("epsilon"), (int, float)) \
            and 0 <= spec["epsilon"] <= 1
    return False


def _check_seed_list(seeds, key: str) -> None:
    if not isinstance(seeds, list) or not all(isinstance(k, int) and not isinstance(k, bool) for k in seeds):
        raise ConfigError(key, f"expected a list of integers >= 0, got {seeds!r}")
    if not seeds:
        raise ConfigError(key, "empty list; expected at least one training seed")
    for k in seeds:
        if k < 0:
            raise ConfigError(key, f"expected an integer >= 0, got {k}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(key, f"{seeds} repeats a seed; each seed trains one model")


def _family_names() -> tuple[str, ...]:
    from semcom.models.families import FAMILIES

    return tuple(FAMILIES)


@dataclass(frozen=True)
class CodecConfig:
    """One codec (or, with list values, a sweep of codecs). ``family = "learned"`` is the
    paper's Table 1 codec, trained with ``objective``; other families are in
    :data:`semcom.models.families.FAMILIES`."""

    name: str = field(metadata=check(lambda v: bool(v.strip()), "a non-empty name"))
    family: str = field(default="learned", metadata=check(lambda v: v in _family_names(),
                                                           "a registered codec family (see semcom.models.families)"))
    objective: str = field(default="mse", metadata=check(lambda v: v in OBJECTIVES,
                                                          "one of " + ", ".join(repr(o) for o in OBJECTIVES)))
    preset: str | None = field(default=None, metadata=one_of(*PRESETS))
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
    #: one model per seed; a table ``{8 = [0, 1, 2], 12 = [0, 1]}`` gives each rate of ``bits`` its own
    #: seeds, so that a table can report a rate whose later seeds are still training
    train_seeds: list[int] | dict[str, list[int]] | None = None
    # the analog family (no bitstream): dim = complex channel symbols per digit, trained over this channel
    train_snr_db: float = 10.0
    train_snr_spread_db: float = field(default=0.0, metadata=check(lambda v: v >= 0, "a number >= 0"))
    fading: str = field(default="awgn", metadata=one_of("awgn", "rayleigh"))
    csi: bool = True
    note: str | None = None  # why the settings are what they are: copied into the model card
    train: TrainConfig = field(default_factory=TrainConfig)
    #: the codec's name before its training seed was appended (set by :meth:`expand`)
    group: str | None = field(default=None, metadata={"internal": True})
    #: the entry's own name, before any expansion (set by :meth:`expand`): what figures colour by
    base: str | None = field(default=None, metadata={"internal": True})

    def __post_init__(self) -> None:
        from semcom.models.families import FAMILIES

        self._check_train_seeds()
        if isinstance(self.lambda_ce, list) and not self.lambda_ce:
            raise ConfigError("lambda_ce", "empty list; expected at least one weight")
        kind = OBJECTIVES[self.objective]
        if kind.needs_preset and self.preset is None:
            raise ConfigError("preset", f"missing; the {self.objective} objective needs a preset "
                                        f"({', '.join(PRESETS)})")
        if self.preset is not None and not kind.takes_preset:
            raise ConfigError("preset", f"only used by the objectives "
                                        f"{', '.join(k.name for k in OBJECTIVES.values() if k.takes_preset)}, "
                                        f"not {self.objective!r}")
        family = FAMILIES[self.family]
        if self.dim is not None and not family.takes_dim:
            raise ConfigError("dim", f"the {self.family} codec takes bits only")
        if self.dim is None and self.bits is None:
            raise ConfigError("bits", "missing; give bits (bits per digit) or dim")
        if isinstance(self.bits, list):
            if not self.bits:
                raise ConfigError("bits", "empty list; expected at least one rate")
            if self.dim is not None:
                raise ConfigError("bits", "a list of rates cannot be combined with a fixed dim")
        for b in (self.bits if isinstance(self.bits, list) else [self.bits]):
            try:
                family.check(b, self.dim, self.levels)
            except ValueError as exc:
                raise ConfigError("bits", str(exc)) from None

    def _check_train_seeds(self) -> None:
        seeds = self.train_seeds
        if seeds is None:
            return
        if isinstance(seeds, dict):
            if self.bits is None:
                raise ConfigError("train_seeds", "a table of seeds per rate needs bits; give a list of seeds")
            rates = {str(b) for b in (self.bits if isinstance(self.bits, list) else [self.bits])}
            unknown, missing = sorted(set(seeds) - rates), sorted(rates - set(seeds), key=int)
            if unknown:
                raise ConfigError(f"train_seeds.{unknown[0]}", f"not a rate of this codec; expected one of "
                                                               f"{', '.join(sorted(rates, key=int))} (its bits)")
            if missing:
                raise ConfigError("train_seeds", f"no seeds for {missing[0]} bits; a table needs one list per rate")
            for key, value in seeds.items():
                _check_seed_list(value, f"train_seeds.{key}")
        else:
            _check_seed_list(seeds, "train_seeds")

    def seeds_for(self, bits: int | None) -> list[int] | None:
        """The training seeds of one rate (all rates share them unless ``train_seeds`` is a table)."""
        if isinstance(self.train_seeds, dict):
            return self.train_seeds[str(bits)]
        return self.train_seeds

    def expand(self) -> list["CodecConfig"]:
        """Lists become one codec per value: rates named ``<name>-<bits>b``, cross-entropy
        weights ``<name>-ce<lambda>`` (both lists: ``<name>-<bits>b-ce<lambda>``), training
        seeds ``<name>-s<seed>``; ``group`` keeps the name without the seed, which is what
        results average over training seeds by."""
        sections = [replace(self, base=self.base or self.name)]
        if isinstance(self.bits, list):
            sections = [replace(s, name=f"{s.name}-{b}b", bits=b, train_seeds=self.seeds_for(b))
                        for s in sections for b in self.bits]
        if isinstance(self.lambda_ce, list):
            sections = [replace(s, name=f"{s.name}-ce{w:g}", lambda_ce=w) for s in sections for w in self.lambda_ce]
        if self.train_seeds is not None:
            return [replace(s, name=f"{s.name}-s{k}", group=s.name, train_seeds=None, train=replace(s.train, seed=k))
                    for s in sections for k in s.seeds_for(s.bits)]
        return [replace(s, group=s.name) for s in sections]

    @property
    def train_seed(self) -> int:
        return self.train.seed

    @property
    def symbol_format(self) -> SymbolFormat | None:
        """What the codec emits per digit (None for the analog family: no symbols, no bitstream)."""
        from semcom.models.families import FAMILIES

        return FAMILIES[self.family].symbol_format(self)

    def loss_weights(self):
        """The objective's typed loss weights for these settings (learned codecs)."""
        return loss_weights(self.objective, ObjectiveParams(
            preset=self.preset, lambda_mse=self.lambda_mse, lambda_feature=self.lambda_feature,
            lambda_ce=self.lambda_ce if not isinstance(self.lambda_ce, list) else None,
            mse_reduction=self.mse_reduction, train_channel=self.train_channel))

    def train_config(self, device: str, train_limit: int) -> TrainConfig:
        """The training settings, with the loss weights in ``extra`` (their store-key form)."""
        return replace(self.train, device=device, train_limit=train_limit, extra=self.loss_weights().to_extra())
