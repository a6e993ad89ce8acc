"""Training the Table 2 classifier (cross-entropy, eq. 11)."""

from __future__ import annotations

import math
import time


import torch
import torch.nn.functional as F

from semcom.models.training.config import ClassifierTrainConfig  # noqa: F401  (re-exported)
from semcom.codecs.networks import DigitClassifier
from semcom.errors import TrainingDivergedError
from semcom.progress import Progress, log
from semcom.models.training.common import iterate_batches, resolve_device, seed_everything, set_lr


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero fill), batched via padding."""
    if max_shift <= 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :]).to(images.device)  # (n, h)
    cols = (dx[:, None] + torch.arange(w)[None, :]).to(images.device)  # (n, w)
    batch = torch.arange(n, device=images.device)[:, None, None]
    return padded[batch, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def evaluate_classifier(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    device = next(model.parameters()).device
    preds = model.predict(images.to(device))
    return float((preds.cpu() == labels.cpu()).float().mean())


def train_classifier(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    config: ClassifierTrainConfig,
    *,
    progress: bool = True,
) -> tuple[DigitClassifier, dict]:
    gen = seed_everything(config.seed)
    device = resolve_device(config.device)
    model = DigitClassifier().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    train_x, train_y = train_x.to(device), train_y.to(device)
    history: dict[str, list[float]] = {"loss": [], "val_accuracy": [], "seconds": []}
    for epoch in range(config.epochs):
        set_lr(opt, config.lr * config.lr_decay_factor ** (epoch // config.lr_decay_every))
        model.train()
        t0 = time.perf_counter()
        n_batches = len(train_x) // config.batch_size
        bar = Progress(n_batches, f"classifier epoch {epoch + 1}/{config.epochs}", enabled=progress)
        total = 0.0
        for batch in iterate_batches(len(train_x), config.batch_size, gen):
            x = random_shift(train_x[batch], config.max_shift, gen)
            loss = F.cross_entropy(model(x), train_y[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            bar.update(postfix=f"loss {loss.item():.4f}")
        val_acc = evaluate_classifier(model, val_x, val_y)
        if not math.isfinite(total):
            raise TrainingDivergedError(f"classifier: training loss is {total} in epoch {epoch + 1}; "
                                        f"nothing was stored (lower classifier.lr)")
        dt = time.perf_counter() - t0
        history["loss"].append(total / max(n_batches, 1))
        history["val_accuracy"].append(val_acc)
        history["seconds"].append(dt)
        bar.close(
            f"classifier epoch {epoch + 1}/{config.epochs}: loss {history['loss'][-1]:.4f}, "
            f"val accuracy {100 * val_acc:.2f}% ({dt:.1f} s)"
        ) if progress else None
    model.eval()
    chance = 1.0 / (int(val_y.max()) + 1) if len(val_y) else 0.0
    if len(val_y) >= 500 and history["val_accuracy"][-1] <= chance + 0.02:
        raise TrainingDivergedError(f"classifier: validation accuracy {100 * history['val_accuracy'][-1]:.1f}% is "
                                    f"chance level after {config.epochs} epochs; nothing was stored "
                                    f"(check classifier.lr and the data)")
    if progress:
        log(f"classifier trained: val accuracy {100 * history['val_accuracy'][-1]:.2f}%")
    return model.cpu(), history
