"""Where a learned codec loses MSE: its encoder's partition, its decoder's codewords, or its latent size.

    python scripts/codec_diagnostics.py --data ../shared/data/mnist [--codec only_compression NA2] [--bits 8]

For a shipped (or stored) codec of the paper's family, on the official test set, with the
Table 2 classifier on the reconstructions:

- network encoder: the codec as it is (encoder f, hard quantizer, decoder g);
- nearest codeword: the same decoder, each image sent as the index of the nearest of the
  L**dim decoded codewords (the best encoder this decoder admits; an exhaustive search);
- unquantized latent: the decoder fed f's continuous output (what the latent size alone allows);
- centroid oracle: the network encoder's cells, each reconstructed by the mean of the test
  images in it (the best decoder for this encoder; optimistic, fitted on the test set itself);
- cell-purity bound: each cell of the network encoder labelled with its most frequent true
  label. No decoder and classifier can beat it with this encoder, since every image of a cell
  gets the same reconstruction (optimistic, fitted on the test set; it has no MSE). The gap
  between it and the network encoder's accuracy is what decoding and classifying lose; the
  bound itself is what the partition allows. At 12 bits the 4,096 cells hold about 2.4 test
  images each, so this bound flatters; hence
- cell majority, labels from the training split: each cell labelled by the most frequent
  label of the 48,000 training images the encoder puts in it (a cell no training image
  reaches keeps the classifier's reading of its codeword), scored on the test set. Not a
  bound, but an estimate of what the partition allows that is not fitted on the test set.

It answers why the only-compression codec stops near MSE 0.037 at 8 bits while 256-codeword
k-means reaches 0.032, and where deep feature's accuracy comes from (README, Table 3).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import semcom  # noqa: E402


@torch.no_grad()
def decoded_codebook(codec) -> tuple[torch.Tensor, torch.Tensor]:
    """Every codeword's indices (L**dim, dim), first symbol most significant, and its decoded image."""
    levels, dim = codec.config.levels, codec.config.dim
    grid = torch.cartesian_prod(*[torch.arange(levels)] * dim).reshape(-1, dim)
    return grid, torch.cat([codec.decode(grid[i : i + 1024]) for i in range(0, len(grid), 1024)])


@torch.no_grad()
def nearest_codewords(images: torch.Tensor, book: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Row number of the decoded codeword nearest (in MSE) to each image: the best encoder the
    decoder admits. Chunked, so 48,000 images against 4,096 codewords stay in memory."""
    cb = book.flatten(1)
    cb_sq = (cb**2).sum(1)
    return torch.cat([(cb_sq - 2 * images[i : i + chunk].flatten(1) @ cb.T).argmin(1)
                      for i in range(0, len(images), chunk)])


@torch.no_grad()
def diagnose(codec, classifier, images: torch.Tensor, labels: torch.Tensor,
             train: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, tuple[float, float]]:
    """name -> (MSE, accuracy) of each way of using the codec's networks (MSE NaN: accuracy only).

    ``train`` (images, labels) adds the cell-majority row fitted on those images."""
    def score(x_hat: torch.Tensor) -> tuple[float, float]:
        return float(((x_hat - images) ** 2).mean()), float((classifier.predict(x_hat) == labels).float().mean())

    levels, dim = codec.config.levels, codec.config.dim
    idx = codec.encode(images)
    out = {"network encoder": score(codec.decode(idx))}
    _, book = decoded_codebook(codec)
    out["nearest codeword"] = score(book[nearest_codewords(images, book)])
    out["unquantized latent"] = score(codec.decoder(codec.encoder(images)))
    flat = images.flatten(1)
    place = levels ** torch.arange(dim - 1, -1, -1)  # codeword number: first symbol most significant
    cell = (idx * place).sum(1)
    count = torch.bincount(cell, minlength=levels**dim).float()
    centroids = torch.zeros(levels**dim, flat.shape[1]).index_add_(0, cell, flat) / count.clamp(min=1)[:, None]
    out["centroid oracle (test set)"] = score(centroids[cell].view_as(images))
    out["cell-purity bound (test set)"] = (float("nan"), purity_bound(cell, labels, levels**dim))
    if train is not None:
        train_cell = (torch.cat([codec.encode(train[0][i : i + 4096]) for i in range(0, len(train[0]), 4096)])
                      * place).sum(1)
        fallback = classifier.predict(book)  # the book's rows are in the same codeword-number order
        cell_label = majority_labels(train_cell, train[1], levels**dim, fallback)
        out["cell majority, labels from the training split"] = (
            float("nan"), float((cell_label[cell] == torch.as_tensor(labels)).float().mean()))
    return out


def label_counts(cell: torch.Tensor, labels, n_cells: int, n_classes: int = 10) -> torch.Tensor:
    """(n_cells, n_classes): how many images of each label fall in each cell."""
    counts = torch.zeros(n_cells, n_classes, dtype=torch.long)
    counts.index_put_((cell, torch.as_tensor(labels).long()), torch.ones_like(cell), accumulate=True)
    return counts


def majority_labels(cell: torch.Tensor, labels, n_cells: int, fallback: torch.Tensor) -> torch.Tensor:
    """(n_cells,) the most frequent label of each cell's images; ``fallback`` where a cell has none."""
    counts = label_counts(cell, labels, n_cells)
    return torch.where(counts.sum(1) > 0, counts.argmax(1), torch.as_tensor(fallback).long())


def purity_bound(cell: torch.Tensor, labels, n_cells: int) -> float:
    """Fraction of images whose label is their cell's most frequent label: the best accuracy any
    reconstruction of the cells can give (each cell decodes to one image, so to one prediction)."""
    return float(label_counts(cell, labels, n_cells).max(1).values.sum()) / len(labels)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--codec", nargs="+", default=["only_compression", "NA2"])
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0, help="training seed of the stored codec")
    args = ap.parse_args(argv)
    images, labels = semcom.mnist_test(data=args.data)
    images = images.float()
    split = semcom.zoo.paper_data(data=args.data)  # the training images of the shipped models
    train = split.train_x.float(), split.train_y
    classifier = semcom.zoo.classifier(data=args.data)
    print("| codec | decoding | MSE | accuracy |\n|---|---|---|---|")
    for name in args.codec:
        codec = semcom.zoo.codec(name, bits=args.bits, train_seed=args.seed, data=args.data).float().eval()
        for how, (mse, acc) in diagnose(codec, classifier, images, labels, train).items():
            shown = "–" if mse != mse else f"{mse:.4f}"  # NaN: a bound on accuracy only
            print(f"| {name}-{args.bits}b-s{args.seed} | {how} | {shown} | {100 * acc:.2f}% |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
