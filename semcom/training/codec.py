"""Training learned codecs. Objectives: pixel MSE ("only compression") and deep features.

Adversarial objectives (WGAN-GP, Haar critics) plug in as further objectives.
Every epoch is checkpointed so an interrupted training resumes where it stopped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from semcom.classifier import DigitClassifier
from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig
from semcom.progress import Progress, log
from semcom.training.common import TrainConfig, iterate_batches, resolve_device, seed_everything, set_lr

OBJECTIVES = ("mse", "deep_feature")


def _distortion_fn(objective: str, extra: dict, classifier: DigitClassifier | None) -> Callable:
    lambda_mse = float(extra.get("lambda_mse", 1.0))
    if objective == "mse":
        return lambda x, x_hat: lambda_mse * F.mse_loss(x_hat, x)
    if objective == "deep_feature":
        if classifier is None:
            raise ValueError("the deep_feature objective needs the pretrained classifier")
        lambda_feat = float(extra.get("lambda_feature", 1.0))
        for p in classifier.parameters():
            p.requires_grad_(False)
        classifier.eval()

        def loss(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                target = classifier.embed(x)
            return lambda_mse * F.mse_loss(x_hat, x) + lambda_feat * F.mse_loss(classifier.embed(x_hat), target)

        return loss
    raise ValueError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")


@torch.no_grad()
def evaluate_codec(
    codec: LearnedCodec, images: torch.Tensor, labels: torch.Tensor | None, classifier: DigitClassifier | None,
    batch_size: int = 1000,
) -> dict[str, float]:
    """Hard-quantized MSE (eq. 4) and, with a classifier, accuracy on reconstructions."""
    device = next(codec.parameters()).device
    codec.eval()
    sq, correct = 0.0, 0
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(device)
        x_hat = codec.decode(codec.encode(x))
        sq += float(((x_hat - x) ** 2).mean(dim=(1, 2, 3)).sum())
        if classifier is not None and labels is not None:
            classifier.to(device).eval()
            correct += int((classifier(x_hat).argmax(1).cpu() == labels[i : i + batch_size]).sum())
    out = {"mse": sq / len(images)}
    if classifier is not None and labels is not None:
        out["accuracy"] = correct / len(images)
    return out


def train_codec(
    codec_config: LearnedCodecConfig,
    train: TrainConfig,
    objective: str,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor | None = None,
    classifier: DigitClassifier | None = None,
    *,
    checkpoint: Path | None = None,
    progress: bool = True,
    label: str = "codec",
) -> tuple[LearnedCodec, dict]:
    gen = seed_everything(train.seed)
    device = resolve_device(train.device)
    codec = LearnedCodec(codec_config).to(device)
    opt = torch.optim.Adam(codec.parameters(), lr=train.lr)
    distortion = _distortion_fn(objective, train.extra, classifier.to(device) if classifier is not None else None)
    history: dict[str, list[float]] = {"loss": [], "val_mse": [], "val_accuracy": [], "seconds": []}
    start_epoch = 0
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        codec.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = state["history"]
        start_epoch = int(state["epoch"])
        if progress:
            log(f"{label}: resuming from checkpoint after epoch {start_epoch}")
    train_x = train_x.to(device)
    for epoch in range(start_epoch, train.epochs):
        set_lr(opt, train.lr * train.lr_factor(epoch))
        codec.train()
        t0 = time.perf_counter()
        n_batches = len(train_x) // train.batch_size
        bar = Progress(n_batches, f"{label} epoch {epoch + 1}/{train.epochs}", enabled=progress)
        total = 0.0
        for batch in iterate_batches(len(train_x), train.batch_size, gen):
            x = train_x[batch]
            loss = distortion(x, codec(x))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            bar.update(postfix=f"loss {loss.item():.4f}")
        metrics = evaluate_codec(codec, val_x, val_y, classifier)
        dt = time.perf_counter() - t0
        history["loss"].append(total / max(n_batches, 1))
        history["val_mse"].append(metrics["mse"])
        history["val_accuracy"].append(metrics.get("accuracy", float("nan")))
        history["seconds"].append(dt)
        if progress:
            acc = f", val accuracy {100 * metrics['accuracy']:.2f}%" if "accuracy" in metrics else ""
            bar.close(f"{label} epoch {epoch + 1}/{train.epochs}: loss {history['loss'][-1]:.5f}, "
                      f"val MSE {metrics['mse']:.4f}{acc} ({dt:.1f} s)")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, {
                "model": codec.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                "torch_rng": torch.get_rng_state(), "history": history, "epoch": epoch + 1,
            })
    codec.eval()
    return codec.cpu(), history


def _save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)
