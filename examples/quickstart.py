"""semcom from a notebook: a shipped codec of the paper's family, the MNIST test set, two channels.

    python examples/quickstart.py [--data ../shared/data/mnist] [--out quickstart.png]

Everything here is the library API a notebook uses (no scenario file, no training): the
zoo gives the Table 2 classifier and the NA2 codec at 8 bits/digit, ``semcom.evaluate``
sends the 10,000 test digits over a clean channel and a BSC, and the reconstructions of
the first digits are saved as one figure. Under a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import channels
import semcom

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mnist"), help="MNIST folder")
    ap.add_argument("--out", default="quickstart.png", help="figure to write")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    images, labels = semcom.mnist_test(data=args.data)
    classifier = semcom.zoo.classifier(data=args.data)
    codec = semcom.zoo.codec("NA2", bits=8, data=args.data)  # shipped: trained on the paper's schedule
    prior = np.asarray(codec.card["symbol_prior"])  # level frequencies: what the receiver puts for a lost symbol

    shown = {"original": images[:8].reshape(8, -1).numpy()}
    for channel in (channels.Clean(), channels.BinarySymmetric(p=0.01)):
        m = semcom.evaluate(codec, classifier, channel, images, labels, prior=prior, n_examples=8)
        print(f"{channel.describe():>20}: accuracy {100 * m.accuracy:.2f}%, MSE {m.mse:.4f}, "
              f"bit error rate {m.bit_error_rate:.4f}")
        shown[f"NA2-8b {semcom.ChannelPoint.of(channel).label}"] = m.reconstructions

    from semcom.app.figstyle import new_figure, style_context

    with style_context("paper"):
        fig = new_figure(3.5, 1.4)
        ax = fig.subplots()
        ax.imshow(np.concatenate([np.concatenate(list(v.reshape(-1, 28, 28)), axis=1) for v in shown.values()]),
                  cmap="gray_r", vmin=0, vmax=1)
        ax.set_yticks([14 + 28 * i for i in range(len(shown))], list(shown))
        ax.set_xticks([])
        ax.grid(False)
        fig.savefig(args.out, bbox_inches="tight", dpi=200)
    print(f"wrote {args.out} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
