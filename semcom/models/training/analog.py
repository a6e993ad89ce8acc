"""Training the analog (DeepJSCC-style) codec: the channel in the loop, the objectives' loss weights.

The same loss terms as the digital codecs (:mod:`semcom.models.training.objectives`):
MSE, deep features, the classifier's cross-entropy; critics are not supported here.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from semcom.codecs.analog import AnalogCodec, AnalogCodecConfig, apply_channel
from semcom.errors import TrainingDivergedError
from semcom.models.training.common import iterate_batches, resolve_device, seed_everything, set_lr
from semcom.models.training.config import TrainConfig
from semcom.models.training.objectives import LossWeights
from semcom.progress import Progress, log


@torch.no_grad()
def evaluate_analog(codec: AnalogCodec, images: torch.Tensor, labels: torch.Tensor | None, classifier,
                    snr_db: float, seed: int = 0, batch_size: int = 1000) -> dict[str, float]:
    """MSE (eq. 4) and accuracy on reconstructions at Es/N0 ``snr_db`` over the codec's training channel."""
    codec.eval()
    g = torch.Generator().manual_seed(seed)
    sq, correct = 0.0, 0
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size]
        y = apply_channel(codec.transmit(x), snr_db, codec.config.fading, codec.config.csi, g)
        x_hat = codec.receive(y)
        sq += float(((x_hat - x) ** 2).mean(dim=(1, 2, 3)).sum())
        if classifier is not None and labels is not None:
            correct += int((classifier(x_hat).argmax(1) == labels[i : i + batch_size]).sum())
    out = {"mse": sq / len(images)}
    if classifier is not None and labels is not None:
        out["accuracy"] = correct / len(images)
    return out


def train_analog(config: AnalogCodecConfig, train: TrainConfig, weights: LossWeights, train_x: torch.Tensor,
                 val_x: torch.Tensor, val_y: torch.Tensor | None = None, classifier=None, *,
                 train_y: torch.Tensor | None = None, progress: bool = True,
                 label: str = "analog codec") -> tuple[AnalogCodec, dict]:
    if weights.bands:
        raise ValueError("the analog codec trains without critics: use the mse, deep_feature or task_aware objective")
    if weights.needs_classifier and classifier is None:
        raise ValueError("this objective (deep features or cross-entropy) needs the pretrained classifier")
    if weights.needs_labels and train_y is None:
        raise ValueError("the task-aware objective needs training labels")
    gen = seed_everything(train.seed)
    device = resolve_device(train.device)
    codec = AnalogCodec(config).to(device)
    opt = torch.optim.Adam(codec.parameters(), lr=train.lr, betas=tuple(train.adam_betas))
    if classifier is not None:
        classifier = classifier.to(device).eval().requires_grad_(False)
    history: dict[str, list[float]] = {"mse": [], "val_mse": [], "val_accuracy": [], "seconds": []}
    train_x = train_x.to(device)
    for epoch in range(train.epochs):
        set_lr(opt, train.lr * train.lr_factor(epoch))
        codec.train()
        t0 = time.perf_counter()
        n_batches = len(train_x) // train.batch_size
        bar = Progress(n_batches, f"{label} epoch {epoch + 1}/{train.epochs}", enabled=progress)
        total, count = 0.0, 0
        for batch in iterate_batches(len(train_x), train.batch_size, gen):
            x = train_x[batch]
            x_hat = codec(x, gen)
            mse = F.mse_loss(x_hat, x)
            loss = weights.adversarial.distortion(mse, x)
            if weights.feature_weight > 0:
                loss = loss + weights.feature_weight * F.mse_loss(classifier.embed(x_hat), classifier.embed(x))
            if weights.ce_weight > 0:
                loss = loss + weights.ce_weight * F.cross_entropy(classifier(x_hat), train_y[batch].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(mse.detach())
            count += 1
            bar.update(postfix=f"mse {float(mse.detach()):.4f}")
        metrics = evaluate_analog(codec, val_x.to(device), val_y, classifier, config.train_snr_db)
        if not (math.isfinite(total) and math.isfinite(metrics["mse"])):
            raise TrainingDivergedError(f"{label}: training diverged in epoch {epoch + 1}; nothing was stored")
        dt = time.perf_counter() - t0
        history["mse"].append(total / max(count, 1))
        history["val_mse"].append(metrics["mse"])
        history["val_accuracy"].append(metrics.get("accuracy", float("nan")))
        history["seconds"].append(dt)
        if progress:
            acc = f", val accuracy {100 * metrics['accuracy']:.2f}%" if "accuracy" in metrics else ""
            bar.close(f"{label} epoch {epoch + 1}/{train.epochs}: val MSE {metrics['mse']:.4f}{acc} at "
                      f"{config.train_snr_db:g} dB ({dt:.1f} s)")
    if progress:
        log(f"{label}: trained")
    return codec.eval().cpu(), history
