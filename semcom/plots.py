"""Figures from a run's rows (so ``semcom plot`` can redraw them without recomputing)."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_LOG_PARAMS = {"p", "epsilon", "loss"}


def _save(fig, out_dir: Path, stem: str, formats: list[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def metric_vs_channel(rows: list[dict], metric: str, ylabel: str, out_dir: Path, formats: list[str],
                      stem: str) -> list[Path]:
    """One panel per swept channel kind; a line per codec with error bars over seeds.

    The clean channel appears as a dotted horizontal line in each codec's colour, and
    the classifier on original images as a grey dashed line (accuracy only).
    """
    coded = [r for r in rows if r["codec"] != "original"]
    kinds = [k for k in dict.fromkeys(r["channel_kind"] for r in coded) if k != "clean"]
    codecs = list(dict.fromkeys(r["codec"] for r in coded))
    if not kinds:
        kinds = ["clean"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 3.8), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    original = [r for r in rows if r["codec"] == "original"]
    for ax, kind in zip(axes[0], kinds):
        params = [r["param"] for r in coded if r["channel_kind"] == kind]
        param = params[0] if params else ""
        for ci, codec in enumerate(codecs):
            color = colors[ci % len(colors)]
            by_x: dict[float, list[float]] = defaultdict(list)
            for r in coded:
                if r["codec"] == codec and r["channel_kind"] == kind:
                    by_x[float(r["param_value"])].append(float(r[metric]))
            clean = [float(r[metric]) for r in coded if r["codec"] == codec and r["channel_kind"] == "clean"]
            if clean and kind != "clean":
                ax.axhline(np.mean(clean), color=color, linestyle=":", linewidth=1)
            if by_x:
                xs = sorted(by_x)
                stats = [_mean_std(by_x[x]) for x in xs]
                ax.errorbar(xs, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", capsize=3,
                            color=color, label=codec)
        if metric == "accuracy" and original:
            ax.axhline(float(original[0]["accuracy"]), color="0.4", linestyle="--", linewidth=1,
                       label="original images")
        if param in _LOG_PARAMS and all(float(r["param_value"]) > 0 for r in coded if r["channel_kind"] == kind):
            ax.set_xscale("log")
        ax.set_xlabel(f"{kind}: {param}" if param else kind)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{ylabel} vs channel (dotted: clean channel; bars: ±1 std over seeds)", fontsize=10)
    fig.tight_layout()
    return _save(fig, out_dir, stem, formats)


def examples_grid(examples: dict[str, np.ndarray], out_dir: Path, formats: list[str],
                  stem: str = "reconstructions") -> list[Path]:
    """Originals on top, then one row per codec and channel setting."""
    names = list(examples)
    if not names:
        return []
    k = max(len(v) for v in examples.values())
    if k == 0:
        return []
    fig, axes = plt.subplots(len(names), k, figsize=(1.0 * k + 2.2, 1.05 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c in range(k):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(examples[name]):
                ax.imshow(np.asarray(examples[name][c]).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            if c == 0:
                ax.set_ylabel(name.replace("|", "\n"), rotation=0, ha="right", va="center", fontsize=7)
    fig.subplots_adjust(wspace=0.05, hspace=0.08)
    return _save(fig, out_dir, stem, formats)


def draw_run(rows: list[dict], examples: dict[str, np.ndarray] | None, out_dir: Path,
             formats: list[str]) -> list[Path]:
    paths = metric_vs_channel(rows, "accuracy", "classification accuracy", out_dir, formats, "accuracy_vs_channel")
    paths += metric_vs_channel([r for r in rows if not math.isnan(float(r["mse"]))], "mse", "MSE per pixel",
                               out_dir, formats, "mse_vs_channel")
    if examples:
        paths += examples_grid(examples, out_dir, formats)
    return paths
