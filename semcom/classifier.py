"""The MNIST classifier of Table 2, used to judge reconstructions."""

from __future__ import annotations

import torch
from torch import nn


class DigitClassifier(nn.Module):
    """Conv 32 -> pool -> dropout -> Conv 64 -> pool -> dropout -> FC 128 -> FC 10.

    Parameter counts match Table 2 (320, 18,496, 401,536, 1,290).
    """

    def __init__(self, n_classes: int = 10, dropout: float = 0.25) -> None:
        # Table 2 lists dropout only after the two pooling layers; the head has none.
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout2d(dropout),
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout2d(dropout),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, n_classes))

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features (the 128-d layer), used by the deep-feature distortion."""
        return self.head[:2](self.features(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
        was_training = self.training
        self.eval()
        out = torch.cat([self(images[i : i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])
        self.train(was_training)
        return out
