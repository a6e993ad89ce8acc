"""The paper's networks: Table 1 (after Blau & Michaeli 2019), encoder f, decoder g, critic h;
and Table 2, the MNIST classifier that judges reconstructions."""

from __future__ import annotations

import torch
from torch import nn

IMAGE_SHAPE = (1, 28, 28)
_SLOPE = 0.2


def _fc(n_in: int, n_out: int) -> list[nn.Module]:
    return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.LeakyReLU(_SLOPE)]


class Encoder(nn.Module):
    """784 -> 512 -> 256 -> 128 -> 128 -> dim, FC+BN+leaky ReLU, last FC+BN+Tanh."""

    def __init__(self, dim: int, width: int = 128, final: nn.Module | None = None) -> None:
        """``final`` replaces the closing BN + Tanh (the analog codec ends in a power normalization)."""
        super().__init__()
        tail = [nn.BatchNorm1d(dim), nn.Tanh()] if final is None else [final]
        self.net = nn.Sequential(
            nn.Flatten(),
            *_fc(784, 4 * width),
            *_fc(4 * width, 2 * width),
            *_fc(2 * width, width),
            *_fc(width, width),
            nn.Linear(width, dim),
            *tail,
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class Decoder(nn.Module):
    """dim -> 128 -> 512 -> 32x4x4 -> ConvT 64x11x11 -> ConvT 128x25x25 -> ConvT 1x28x28, Sigmoid."""

    def __init__(self, dim: int, width: int = 128) -> None:
        super().__init__()
        c1, c2 = width // 2, width  # 64 and 128 channels at the paper's width
        self.expand = nn.Sequential(*_fc(dim, 128), *_fc(128, 512))
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(32, c1, kernel_size=5, stride=2),
            nn.BatchNorm2d(c1),
            nn.LeakyReLU(_SLOPE),
            nn.ConvTranspose2d(c1, c2, kernel_size=5, stride=2),
            nn.BatchNorm2d(c2),
            nn.LeakyReLU(_SLOPE),
            nn.ConvTranspose2d(c2, 1, kernel_size=4, stride=1),
            nn.Sigmoid(),
        )

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.expand(latent).view(-1, 32, 4, 4))


class Critic(nn.Module):
    """Conv(stride 2) 64 -> 128 -> 256 (14 -> 7 -> 4), flatten 4096, FC -> 1. No BN (WGAN-GP)."""

    def __init__(self, in_channels: int = 1, size: int = 28, width: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for mult in (1, 2, 4):
            layers += [nn.Conv2d(channels, width * mult, kernel_size=5, stride=2, padding=2), nn.LeakyReLU(_SLOPE)]
            channels = width * mult
            size = (size + 1) // 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(channels * size * size, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images)).squeeze(-1)


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
