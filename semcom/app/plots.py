"""Figures from a run's rows (so ``semcom plot`` can redraw them without recomputing)."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from semcom.models.store import atomic_write_bytes  # noqa: E402

_LOG_PARAMS = {"p", "epsilon", "loss"}


def _save(fig, out_dir: Path, stem: str, formats: list[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    # one tight bounding box for every format (bbox_inches="tight" would lay out the figure again per format)
    tight = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"]) if formats else None
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=150, bbox_inches=tight)
        atomic_write_bytes(path, buf.getvalue())
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
    coded = [{**r, "codec": _series(r)} for r in rows if r["codec"] != "original"]
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


_TILE, _GAP = 28, 2


def examples_mosaic(examples: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """One row of 28x28 digits per non-empty entry, white gaps between; and the row names."""
    names = [n for n in examples if len(examples[n])]
    k = max((len(examples[n]) for n in names), default=0)
    step = _TILE + _GAP
    mosaic = np.ones((max(len(names) * step - _GAP, 0), max(k * step - _GAP, 0)), np.float32)
    for r, name in enumerate(names):
        for c, image in enumerate(np.asarray(examples[name])):
            mosaic[r * step : r * step + _TILE, c * step : c * step + _TILE] = np.reshape(image, (_TILE, _TILE))
    return mosaic, names


def examples_grid(examples: dict[str, np.ndarray], out_dir: Path, formats: list[str],
                  stem: str = "reconstructions") -> list[Path]:
    """Originals on top, then one row per codec and channel setting.

    The digits are one mosaic drawn by a single ``imshow``: a grid of hundreds of small
    axes took most of a run's plotting time.
    """
    mosaic, names = examples_mosaic(examples)
    if not names:
        return []
    k = (mosaic.shape[1] + _GAP) // (_TILE + _GAP)
    fig, ax = plt.subplots(figsize=(0.4 * k + 2.4, 0.4 * len(names) + 0.4))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([r * (_TILE + _GAP) + _TILE / 2 for r in range(len(names))],
                  [name.replace("|", " | ") for name in names], fontsize=7)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _save(fig, out_dir, stem, formats)


def draw_run(rows: list[dict], examples: dict[str, np.ndarray] | None, out_dir: Path,
             formats: list[str], latencies: dict[tuple[str, str, str], np.ndarray] | None = None) -> list[Path]:
    """Every figure a run's rows support: channel curves always; rate curves, accuracy-vs-MSE
    and surfaces when several rates were swept; a latency CDF for packet-link runs."""
    coded = [r for r in rows if r["codec"] != "original"]
    paths = metric_vs_channel(rows, "accuracy", "classification accuracy", out_dir, formats, "accuracy_vs_channel")
    paths += metric_vs_channel(rows, "mse", "MSE per pixel", out_dir, formats, "mse_vs_channel")
    if len({float(r["bits_per_digit"]) for r in coded}) > 1:
        paths += metric_vs_rate(rows, "accuracy", "classification accuracy", out_dir, formats, "accuracy_vs_rate")
        paths += metric_vs_rate(rows, "mse", "MSE per pixel", out_dir, formats, "mse_vs_rate")
        paths += rate_channel_heatmaps(rows, out_dir, formats)
    if coded:
        paths += accuracy_vs_mse(rows, out_dir, formats)
    if latencies:
        paths += latency_cdf(latencies, out_dir, formats)
    if examples:
        paths += examples_grid(examples, out_dir, formats)
    return paths


def _series(row: dict) -> str:
    """Codec name, plus the link setting when the run swept one (so ARQ modes stay apart)."""
    link = row.get("link")
    return f"{row['codec']} {link}" if isinstance(link, str) and link else str(row["codec"])


def _family_series(row: dict) -> str:
    link = row.get("link")
    return f"{_family(row)} {link}" if isinstance(link, str) and link else _family(row)


def _family(row: dict) -> str:
    """A codec's family name: the rate suffix of an expanded rate list removed."""
    name = str(row["codec"])
    head, _, tail = name.rpartition("-")
    return head if head and tail.endswith("b") and tail[:-1].isdigit() else name


def _channel_of(row: dict) -> str:
    label = row.get("channel_label")
    return label if isinstance(label, str) and label else str(row["channel"])


def _representative_settings(rows: list[dict]) -> list[str]:
    """Per channel kind, its mildest and harshest setting (clean once): the panels of rate plots."""
    chosen: list[str] = []
    for kind in dict.fromkeys(r["channel_kind"] for r in rows):
        sel = sorted({(float(r["param_value"]) if r["param"] else 0.0, _channel_of(r))
                      for r in rows if r["channel_kind"] == kind})
        for _, label in (sel[:1] + sel[-1:]) if len(sel) > 1 else sel:
            if label not in chosen:
                chosen.append(label)
    return chosen


def metric_vs_rate(rows: list[dict], metric: str, ylabel: str, out_dir: Path, formats: list[str],
                   stem: str, settings: list[str] | None = None) -> list[Path]:
    """Tradeoff curves: metric vs bits per digit, one line per codec family, one panel per setting."""
    coded = [r for r in rows if r["codec"] != "original"]
    settings = settings or _representative_settings(coded)
    fig, axes = plt.subplots(1, len(settings), figsize=(3.6 * len(settings), 3.4), squeeze=False, sharey=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    families = list(dict.fromkeys(_family_series(r) for r in coded))
    original = [r for r in rows if r["codec"] == "original"]
    for ax, setting in zip(axes[0], settings):
        for fi, fam in enumerate(families):
            by_rate: dict[float, list[float]] = defaultdict(list)
            for r in coded:
                if _family_series(r) == fam and _channel_of(r) == setting:
                    by_rate[float(r["bits_per_digit"])].append(float(r[metric]))
            if by_rate:
                xs = sorted(by_rate)
                stats = [_mean_std(by_rate[x]) for x in xs]
                ax.errorbar(xs, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", capsize=3,
                            color=colors[fi % len(colors)], label=fam)
        if metric == "accuracy" and original:
            ax.axhline(float(original[0]["accuracy"]), color="0.4", linestyle="--", linewidth=1, label="original")
        ax.set_title(setting, fontsize=9)
        ax.set_xlabel("bits per digit")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out_dir, stem, formats)


def accuracy_vs_mse(rows: list[dict], out_dir: Path, formats: list[str], stem: str = "accuracy_vs_mse",
                    setting: str | None = None) -> list[Path]:
    """Distortion-classification plane at each rate: every codec is one point per rate."""
    coded = [r for r in rows if r["codec"] != "original"]
    if not coded:
        return []
    setting = setting or str(coded[0]["channel"])
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in coded:
        if r["channel"] == setting:
            groups[str(r["codec"])].append(r)
    rates = sorted({float(r[0]["bits_per_digit"]) for r in groups.values()})
    markers = "os^Dv<>p*h"
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    families = list(dict.fromkeys(_family(r[0]) for r in groups.values()))
    for name, rs in groups.items():
        acc, acc_sd = _mean_std([float(r["accuracy"]) for r in rs])
        mse, mse_sd = _mean_std([float(r["mse"]) for r in rs])
        fam = families.index(_family(rs[0]))
        rate = rates.index(float(rs[0]["bits_per_digit"]))
        ax.errorbar(mse, acc, xerr=mse_sd, yerr=acc_sd, marker=markers[rate % len(markers)],
                    color=colors[fam % len(colors)], capsize=2, linestyle="none")
        ax.annotate(name, (mse, acc), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("MSE per pixel")
    ax.set_ylabel("classification accuracy")
    ax.set_title(f"accuracy vs distortion ({setting}); marker = rate", fontsize=9)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _save(fig, out_dir, stem, formats)


def rate_channel_heatmaps(rows: list[dict], out_dir: Path, formats: list[str]) -> list[Path]:
    """Rate-distortion-classification surfaces as heatmaps over (bits per digit, channel parameter).

    One figure per codec family and channel kind that varies a parameter; accuracy and
    MSE side by side, cells annotated with the mean over seeds.
    """
    coded = [r for r in rows if r["codec"] != "original"]
    paths: list[Path] = []
    kinds = [k for k in dict.fromkeys(r["channel_kind"] for r in coded) if k != "clean"]
    for fam in dict.fromkeys(_family(r) for r in coded):
        for kind in kinds:
            sel = [r for r in coded if _family(r) == fam and r["channel_kind"] == kind]
            clean = [r for r in coded if _family(r) == fam and r["channel_kind"] == "clean"]
            rates = sorted({float(r["bits_per_digit"]) for r in sel})
            params = sorted({float(r["param_value"]) for r in sel})
            if len(rates) < 2 or len(params) < 2:
                continue
            x_labels = (["clean"] if clean else []) + [f"{p:g}" for p in params]
            fig, axes = plt.subplots(1, 2, figsize=(5.0 + 0.7 * len(x_labels), 0.55 * len(rates) + 2.2))
            for ax, metric, cmap in ((axes[0], "accuracy", "viridis"), (axes[1], "mse", "magma_r")):
                grid = np.full((len(rates), len(x_labels)), np.nan)
                for i, rate in enumerate(rates):
                    if clean:
                        vals = [float(r[metric]) for r in clean if float(r["bits_per_digit"]) == rate]
                        grid[i, 0] = np.mean(vals) if vals else np.nan
                    for j, p in enumerate(params):
                        vals = [float(r[metric]) for r in sel
                                if float(r["bits_per_digit"]) == rate and float(r["param_value"]) == p]
                        grid[i, j + (1 if clean else 0)] = np.mean(vals) if vals else np.nan
                im = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap)
                for (i, j), v in np.ndenumerate(grid):
                    if not np.isnan(v):
                        text = f"{100 * v:.0f}" if metric == "accuracy" else f"{v:.3f}"
                        ax.text(j, i, text, ha="center", va="center", fontsize=7,
                                color="white" if (v < np.nanmean(grid)) == (metric == "accuracy") else "black")
                ax.set_xticks(range(len(x_labels)), x_labels, fontsize=7, rotation=45)
                ax.set_yticks(range(len(rates)), [f"{r:g}" for r in rates], fontsize=8)
                ax.set_xlabel(f"{kind}: {sel[0]['param']}")
                ax.set_ylabel("bits per digit")
                ax.set_title("accuracy (%)" if metric == "accuracy" else "MSE per pixel", fontsize=9)
                fig.colorbar(im, ax=ax, fraction=0.046)
            fig.suptitle(f"{fam}: rate x {kind} surface", fontsize=10)
            fig.tight_layout()
            paths += _save(fig, out_dir, f"surface_{fam}_{kind}", formats)
    return paths


def latency_cdf(latencies: dict[tuple[str, str, str], np.ndarray], out_dir: Path, formats: list[str],
                stem: str = "latency_cdf") -> list[Path]:
    """Empirical CDF of per-digit latency: one panel per link setting, one curve per channel.

    Keys are (codec, channel, link); the first codec is shown (latency depends on the
    packet size, not on what the bits mean). Digits never delivered keep the curve below 1.
    """
    if not latencies:
        return []
    first_codec = next(iter(latencies))[0]
    links = list(dict.fromkeys(k[2] for k in latencies if k[0] == first_codec))
    fig, axes = plt.subplots(1, len(links), figsize=(4.4 * len(links), 3.6), squeeze=False, sharey=True, sharex=True)
    for ax, link in zip(axes[0], links):
        for (codec, channel, lk), lat in latencies.items():
            if codec != first_codec or lk != link:
                continue
            lat = np.asarray(lat, dtype=float)
            finite = np.sort(lat[np.isfinite(lat)])
            if len(finite):
                y = np.arange(1, len(finite) + 1) / len(lat)
                ax.step(np.concatenate([[0.0], finite * 1e3]), np.concatenate([[0.0], y]), where="post",
                        label=channel)
        ax.set_title(link, fontsize=9)
        ax.set_xlabel("latency (ms)")
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("fraction of digits delivered by then")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"per-digit latency CDF ({first_codec})", fontsize=10)
    fig.tight_layout()
    return _save(fig, out_dir, stem, formats)


def training_curves(histories: dict[str, dict], out_dir: Path, formats: list[str],
                    stem: str = "training_curves") -> list[Path]:
    """Per-epoch curves from the model cards: training loss, critic loss and Wasserstein
    estimate (adversarial codecs), validation MSE and accuracy."""
    panels = [("loss", "training loss"), ("critic_loss", "critic loss"), ("w_estimate", "W estimate"),
              ("val_mse", "validation MSE"), ("val_accuracy", "validation accuracy")]
    used = [(k, t) for k, t in panels
            if any(h.get(k) and not all(isinstance(v, float) and v != v for v in h[k]) and any(h[k])
                   for h in histories.values())]
    if not used:
        return []
    fig, axes = plt.subplots(1, len(used), figsize=(3.4 * len(used), 3.2), squeeze=False)
    # one colour per model across panels, distinct beyond the default cycle's ten
    palette = plt.get_cmap("tab10" if len(histories) <= 10 else "tab20")
    colours = {name: palette(i % palette.N) for i, name in enumerate(histories)}
    for ax, (key, title) in zip(axes[0], used):
        for name, h in histories.items():
            values = h.get(key) or []
            if key in ("critic_loss", "w_estimate") and not any(values):
                continue  # no critic: an all-zero line says nothing
            if values:
                ax.plot(range(1, len(values) + 1), values, marker=".", label=name, color=colours[name])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out_dir, stem, formats)
