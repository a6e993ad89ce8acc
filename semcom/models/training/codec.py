"""Training learned codecs: one loop, several objectives.

The generator (encoder + quantizer + decoder) loss is

    lambda_mse * MSE(x, x_hat)                           pixels ("only compression")
  + lambda_feature * MSE(phi(x), phi(x_hat))             "Deep Feat": classifier features
  + lambda_ce * CE(classifier(x_hat), y)                 task-aware
  + sum_b lambda_b * (E h_b(X) - E h_b(X_hat))           WGAN-GP critics (eq. 8 / eq. 10)

with each term present only when its weight is set (the weights: :mod:`semcom.models.training.objectives`). Critics are trained as in
Algorithm 1 (``critic_steps`` updates per generator update, gradient penalty). A
training channel (bit flips or erasures on the symbols) can sit between quantizer and
decoder, so the decoder learns what a noisy link delivers. Every epoch is checkpointed:
an interrupted training resumes where it stopped, with the same result.
"""

from __future__ import annotations

import math
import os
import time

from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from semcom.bitstream import gray_decode, gray_encode
from semcom.codecs.networks import DigitClassifier
from semcom.codecs.base import Codec
from semcom.errors import TrainingDivergedError
from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig
from semcom.progress import Progress, log
from semcom.models.training.adversarial import CriticSet, adversarial_step, critic_step
from semcom.models.training.objectives import LossWeights, loss_weights
from semcom.models.training.common import TrainConfig, iterate_batches, resolve_device, seed_everything, set_lr

def symbol_corruptor(spec: dict, levels: int, generator: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor]:
    """Bit flips (``bsc``, p) or erasures (``bec``, epsilon) applied to symbol indices in training.

    Flips act on each symbol's natural-binary bits (``mapping = "gray"`` for Gray-coded
    links); an erased symbol becomes the batch's most frequent level of that coordinate,
    as the receiver's "mode" policy would substitute the training prior's.
    """
    bits = levels.bit_length() - 1
    if levels != 1 << bits:
        raise ValueError(f"channel-aware training needs L a power of two, got L={levels}")
    kind = spec.get("kind")
    gray = spec.get("mapping", "natural") == "gray"

    def to_code(idx):
        return gray_encode(idx) if gray else idx

    def from_code(code):
        return gray_decode(code, bits) if gray else code

    if kind == "bsc":
        p = float(spec["p"])

        def flip(idx: torch.Tensor) -> torch.Tensor:
            flips = (torch.rand(*idx.shape, bits, generator=generator) < p).to(idx.device)
            mask = (flips.long() << torch.arange(bits, device=idx.device)).sum(-1)
            return from_code(to_code(idx) ^ mask)

        return flip
    if kind == "bec":
        eps = float(spec["epsilon"])
        p_symbol = 1.0 - (1.0 - eps) ** bits

        def erase(idx: torch.Tensor) -> torch.Tensor:
            lost = (torch.rand(idx.shape, generator=generator) < p_symbol).to(idx.device)
            mode = torch.stack([torch.bincount(idx[:, j], minlength=levels).argmax() for j in range(idx.shape[1])])
            return torch.where(lost, mode.unsqueeze(0).expand_as(idx), idx)

        return erase
    raise ValueError(f"training channel must be 'bsc' (p) or 'bec' (epsilon), got {kind!r}")


@torch.no_grad()
def evaluate_codec(
    codec: Codec, images: torch.Tensor, labels: torch.Tensor | None, classifier: DigitClassifier | None,
    batch_size: int = 1000,
) -> dict[str, float]:
    """Hard-quantized MSE (eq. 4) and, with a classifier, accuracy on reconstructions."""
    tensors = list(codec.parameters()) + list(codec.buffers())
    device = tensors[0].device if tensors else torch.device("cpu")
    codec.eval()
    sq, correct = 0.0, 0
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(device)
        seq = torch.arange(i, i + len(x))  # digits numbered in order: the shared dither follows them
        x_hat = codec.decode(codec.encode(x, seq), seq)
        sq += float(((x_hat - x) ** 2).mean(dim=(1, 2, 3)).sum())
        if classifier is not None and labels is not None:
            classifier.to(device).eval()
            correct += int((classifier(x_hat).argmax(1).cpu() == labels[i : i + batch_size]).sum())
    out = {"mse": sq / len(images)}
    if classifier is not None and labels is not None:
        out["accuracy"] = correct / len(images)
    return out


HISTORY_KEYS = ("loss", "mse", "critic_loss", "w_estimate", "val_mse", "val_accuracy", "seconds")

#: a batch's classifier-based generator terms (deep features, cross-entropy), given x and y
TaskTerms = Callable[[torch.Tensor, torch.Tensor | None], Callable[[torch.Tensor], list[torch.Tensor]] | None]


def _task_terms(weights: LossWeights, classifier: DigitClassifier | None) -> TaskTerms:
    """Deep features and cross-entropy read the frozen classifier; other objectives add nothing."""

    def for_batch(x: torch.Tensor, y: torch.Tensor | None):
        if not weights.needs_classifier:
            return None

        def terms(x_hat: torch.Tensor) -> list[torch.Tensor]:
            out = []
            if weights.feature_weight > 0:
                with torch.no_grad():
                    target = classifier.embed(x)  # type: ignore[union-attr]
                out.append(weights.feature_weight * F.mse_loss(classifier.embed(x_hat), target))  # type: ignore[union-attr]
            if weights.ce_weight > 0:
                out.append(weights.ce_weight * F.cross_entropy(classifier(x_hat), y))  # type: ignore[misc]
            return out

        return terms

    return for_batch


class _Run:
    """The state one training carries across epochs: models, optimizers, random generator.
    Kept together so that a checkpoint saves and restores exactly this, and nothing else."""

    def __init__(self, codec_config: LearnedCodecConfig, train: TrainConfig, weights: LossWeights,
                 gen: torch.Generator, device: torch.device) -> None:
        self.train, self.weights, self.gen, self.device = train, weights, gen, device
        self.codec = LearnedCodec(codec_config).to(device)
        self.critics = CriticSet(weights.adversarial.active_bands).to(device)
        betas = tuple(train.adam_betas)
        self.opt = torch.optim.Adam(self.codec.parameters(), lr=train.lr, betas=betas)
        self.opt_critic = (torch.optim.Adam(self.critics.parameters(), lr=train.critic_lr, betas=betas)
                           if len(self.critics) else None)
        #: critic and generator updates on separate batches (critic_steps critic batches, then one generator batch)
        self.separate = self.opt_critic is not None and train.critic_batches == "separate"
        self.history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
        self.epoch = 0

    def resume(self, checkpoint: Path) -> None:
        # Loaded to the CPU on every device: load_state_dict copies weights and optimizer state onto the
        # parameters' device, and the RNG states must stay on the CPU, so CPU and GPU share one tested path.
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        self.codec.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        if self.opt_critic is not None:
            self.critics.load_state_dict(state["critics"])
            self.opt_critic.load_state_dict(state["critic_optimizer"])
        self.gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.history = state["history"]
        self.epoch = int(state["epoch"])

    def save(self, checkpoint: Path) -> None:
        state = {"model": self.codec.state_dict(), "optimizer": self.opt.state_dict(), "generator": self.gen.get_state(),
                 "torch_rng": torch.get_rng_state(), "history": self.history, "epoch": self.epoch}
        if self.opt_critic is not None:
            state.update(critics=self.critics.state_dict(), critic_optimizer=self.opt_critic.state_dict())
        _save_checkpoint(checkpoint, state)

    def train_epoch(self, train_x: torch.Tensor, train_y: torch.Tensor | None, corrupt, task_terms: TaskTerms,
                    bar: Progress) -> tuple[dict[str, float], dict[str, int]]:
        """One pass over the training images; returns the summed losses and how many updates each has."""
        train, gen = self.train, self.gen
        factor = train.lr_factor(self.epoch)
        set_lr(self.opt, train.lr * factor)
        if self.opt_critic is not None:
            set_lr(self.opt_critic, train.critic_lr * factor)
        self.codec.train()
        cycle = train.critic_steps + 1
        sums = {"loss": 0.0, "mse": 0.0, "critic_loss": 0.0, "w_estimate": 0.0}
        counts = {"gen": 0, "critic": 0}
        for i, batch in enumerate(iterate_batches(len(train_x), train.batch_size, gen)):
            x = train_x[batch]
            with train.autocast(self.device):
                if self.separate and i % cycle != cycle - 1:
                    out = critic_step(self.codec, self.critics, self.opt_critic, x, gp_lambda=train.gp_lambda,
                                      generator=gen, corrupt=corrupt)
                    sums["critic_loss"] += out["loss_critic"]
                    counts["critic"] += 1
                    bar.update()
                    continue
                out = adversarial_step(self.codec, self.critics, self.opt, self.opt_critic, x, self.weights.adversarial,
                                       critic_steps=0 if self.separate else train.critic_steps,
                                       gp_lambda=train.gp_lambda, generator=gen, corrupt=corrupt,
                                       extra_terms=task_terms(x, train_y[batch] if train_y is not None else None))
            counts["gen"] += 1
            sums["loss"] += out["loss_gen"]
            sums["mse"] += out["mse"]
            if not self.separate:
                sums["critic_loss"] += out["loss_critic"]
                counts["critic"] += 1
            sums["w_estimate"] += out["w_estimate"]  # unweighted sum over bands of E h(X) - E h(X_hat)
            bar.update(postfix=f"loss {out['loss_gen']:.5f}")
        return sums, counts

    def record(self, sums: dict[str, float], counts: dict[str, int], metrics: dict[str, float], seconds: float) -> None:
        for k, v in sums.items():
            self.history[k].append(v / max(counts["critic" if k == "critic_loss" else "gen"], 1))
        self.history["val_mse"].append(metrics["mse"])
        self.history["val_accuracy"].append(metrics.get("accuracy", float("nan")))
        self.history["seconds"].append(seconds)
        self.epoch += 1


def train_codec(
    codec_config: LearnedCodecConfig,
    train: TrainConfig,
    objective: LossWeights | str,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor | None = None,
    classifier: DigitClassifier | None = None,
    *,
    train_y: torch.Tensor | None = None,
    checkpoint: Path | None = None,
    progress: bool = True,
    label: str = "codec",
    stop_after_epoch: int | None = None,
) -> tuple[LearnedCodec, dict]:
    """Train a learned codec with ``objective``: typed loss weights, or the name of a registered
    objective with its defaults (``"deep_feature"`` trains deep features, never plain MSE).
    ``stop_after_epoch`` ends early (for resume tests)."""
    weights = loss_weights(objective) if isinstance(objective, str) else objective
    if not isinstance(weights, LossWeights):
        raise TypeError(f"objective must be LossWeights or an objective name, got {type(objective).__name__}")
    gen = seed_everything(train.seed)
    device = resolve_device(train.device)
    run = _Run(codec_config, train, weights, gen, device)
    if weights.needs_classifier:
        if classifier is None:
            raise ValueError("this objective (deep features or cross-entropy) needs the pretrained classifier")
        classifier = classifier.to(device).eval()
        for p in classifier.parameters():
            p.requires_grad_(False)
    if weights.needs_labels and train_y is None:
        raise ValueError("the task-aware objective needs training labels")
    corrupt = symbol_corruptor(weights.train_channel, codec_config.levels, gen) if weights.train_channel else None
    if checkpoint is not None and checkpoint.exists():
        run.resume(checkpoint)
        if progress:
            log(f"{label}: resuming from checkpoint after epoch {run.epoch}")

    task_terms = _task_terms(weights, classifier)
    train_x = train_x.to(device)
    train_y = train_y.to(device) if train_y is not None else None
    while run.epoch < train.epochs:
        title = f"{label} epoch {run.epoch + 1}/{train.epochs}"
        t0 = time.perf_counter()
        bar = Progress(len(train_x) // train.batch_size, title, enabled=progress)
        sums, counts = run.train_epoch(train_x, train_y, corrupt, task_terms, bar)
        metrics = evaluate_codec(run.codec, val_x, val_y, classifier)
        if not (math.isfinite(sums["loss"]) and math.isfinite(metrics["mse"])):
            raise TrainingDivergedError(f"{label}: training diverged in epoch {run.epoch + 1} (loss {sums['loss']}, "
                                        f"validation MSE {metrics['mse']}); nothing was stored (lower train.lr)")
        run.record(sums, counts, metrics, time.perf_counter() - t0)
        if progress:
            h = run.history
            acc = f", val accuracy {100 * metrics['accuracy']:.2f}%" if "accuracy" in metrics else ""
            critic = f", critic {h['critic_loss'][-1]:.4f}" if run.opt_critic is not None else ""
            bar.close(f"{title}: loss {h['loss'][-1]:.5f}{critic}, val MSE {metrics['mse']:.4f}{acc} "
                      f"({h['seconds'][-1]:.1f} s)")
        if checkpoint is not None:
            run.save(checkpoint)
        if stop_after_epoch is not None and run.epoch >= stop_after_epoch:
            break
    run.codec.eval()
    return run.codec.cpu(), run.history


def _save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)
