"""Training settings as plain, validated values (no torch at import): the one declaration
of every setting a scenario's ``[classifier]`` and ``[codecs.train]`` tables may give."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from semcom.config import check, non_negative, one_of, positive

PRECISIONS = ("fp32", "bf16")
CRITIC_BATCHES = ("separate", "shared")
#: the training settings that decide a model's weights, in the order they enter its store key
TRAIN_IDENTITY_FIELDS = ("epochs", "batch_size", "lr", "critic_lr", "lr_decay_start", "lr_decay_every",
                         "lr_decay_factor", "critic_steps", "gp_lambda", "adam_betas", "critic_batches",
                         "precision", "seed", "train_limit", "extra")


@dataclass(frozen=True)
class TrainConfig:
    """Codec training setup; defaults are section 5.1 of the paper.

    lr decays by ``lr_decay_factor`` every ``lr_decay_every`` epochs once
    ``lr_decay_start`` epochs are done (0.0025 for epochs 0-9, 0.0005 for 10-19, ...).
    ``precision = "bf16"`` runs the training steps under bfloat16 autocast (weights,
    optimizer state and evaluation stay float32): faster where the hardware has bf16
    matrix units (AMX on recent Xeons, tensor cores on GPUs); see benchmarks/.

    One optimizer setting for every codec, with or without critics: Adam with
    ``adam_betas`` (0.5, 0.9), the uRDP code's choice for encoder, decoder and critic (the
    paper gives no betas). ``critic_batches = "separate"`` is Algorithm 1 as the uRDP code
    runs it: each critic update and each generator update draws its own batch, so an epoch
    of B batches holds B / (critic_steps + 1) generator updates; ``"shared"`` (the earlier
    behaviour) runs the critic updates and one generator update on every batch.
    """

    epochs: int = field(default=25, metadata=positive())
    batch_size: int = field(default=64, metadata=positive())
    lr: float = field(default=0.0025, metadata=check(lambda v: v > 0, "a positive finite number"))
    critic_lr: float = field(default=0.0002, metadata=check(lambda v: v > 0, "a positive finite number"))
    lr_decay_start: int = field(default=10, metadata=non_negative())
    lr_decay_every: int = field(default=10, metadata=positive())
    lr_decay_factor: float = field(default=0.2, metadata=check(lambda v: 0 < v <= 1, "a number in (0, 1]"))
    critic_steps: int = field(default=1, metadata=positive())
    gp_lambda: float = field(default=10.0, metadata=check(lambda v: v >= 0, "a number >= 0"))
    precision: str = field(default="fp32", metadata=one_of(*PRECISIONS))
    adam_betas: tuple[float, float] = field(default=(0.5, 0.9), metadata=check(
        lambda v: len(v) == 2 and all(0 <= b < 1 for b in v), "two numbers in [0, 1), e.g. [0.5, 0.9]"))
    critic_batches: str = field(default="separate", metadata=one_of(*CRITIC_BATCHES))
    seed: int = field(default=0, metadata=non_negative())
    # set by the caller, never by a scenario file
    train_limit: int = field(default=0, metadata={"internal": True})
    device: str = field(default="auto", metadata={"internal": True})
    extra: dict = field(default_factory=dict, metadata={"internal": True})  # the loss weights' key form

    def lr_factor(self, epoch: int) -> float:
        if epoch < self.lr_decay_start:
            return 1.0
        return self.lr_decay_factor ** (1 + (epoch - self.lr_decay_start) // self.lr_decay_every)

    def __post_init__(self) -> None:
        if self.critic_batches not in CRITIC_BATCHES:
            raise ValueError(f"critic_batches must be one of {CRITIC_BATCHES}, got {self.critic_batches!r}")
        if len(self.adam_betas) != 2 or not all(0 <= b < 1 for b in self.adam_betas):
            raise ValueError(f"adam_betas must be two numbers in [0, 1), got {self.adam_betas!r}")

    def identity(self) -> dict:
        """The fields that change the trained weights, by an explicit list (device does
        not, by intent); fp32 precision is left out, as it was before the option existed."""
        d = {name: getattr(self, name) for name in TRAIN_IDENTITY_FIELDS}
        d["adam_betas"] = [float(b) for b in self.adam_betas]
        if d["precision"] == "fp32":
            d.pop("precision")
        return d

    def autocast(self, device):
        """The context the training steps run in: bfloat16 autocast or nothing."""
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        import torch

        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")



@dataclass(frozen=True)
class ClassifierTrainConfig:
    """The Table 2 classifier's training: Adam with a step schedule and small random shifts
    (augmentation). The fields a scenario's ``[classifier]`` table sets are validated here."""

    epochs: int = field(default=12, metadata=positive())
    batch_size: int = field(default=128, metadata=positive())
    lr: float = field(default=0.001, metadata=check(lambda v: v > 0, "a positive finite number"))
    lr_decay_every: int = field(default=5, metadata=positive())
    lr_decay_factor: float = field(default=0.3, metadata=check(lambda v: 0 < v <= 1, "a number in (0, 1]"))
    max_shift: int = field(default=2, metadata=non_negative())
    seed: int = field(default=0, metadata=non_negative())
    # set by the caller, never by a scenario file
    train_limit: int = field(default=0, metadata={"internal": True})
    device: str = field(default="auto", metadata={"internal": True})

    def identity(self) -> dict:
        d = asdict(self)
        d.pop("device")
        return d


