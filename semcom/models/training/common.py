"""What all training loops share: device choice, seeding, schedules, batching."""

from __future__ import annotations

import random


import numpy as np
import torch

from semcom.models.training.config import CRITIC_BATCHES, PRECISIONS, TrainConfig  # noqa: F401  (re-exported)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` means CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch, numpy and random; return a dedicated generator for shuffling."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def iterate_batches(n: int, batch_size: int, generator: torch.Generator, drop_last: bool = True):
    """Shuffled index batches of one epoch."""
    perm = torch.randperm(n, generator=generator)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        yield perm[start : start + batch_size]


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


@torch.no_grad()
def batched(fn, tensor: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    return torch.cat([fn(tensor[i : i + batch_size]) for i in range(0, len(tensor), batch_size)])
