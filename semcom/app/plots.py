"""Figures from a run's rows, so ``semcom plot`` can redraw them without recomputing.

Conventions shared by every figure (see :mod:`semcom.app.figstyle`): one colour per codec
entry and one marker per rate, fixed by name; accuracy in percent, as in the tables; axes
labelled in words with units; legends outside the data. A codec trained with several
seeds is drawn as the mean over its trained models with a 95% Student-t interval over
training seeds; a single model shows ±1 standard deviation over channel seeds. The
caption of each figure says which. A figure or panel whose sweep has one value is skipped.
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

from semcom.app.figstyle import WIDTH, codec_colour, codec_colours, new_figure, rate_line, rate_marker, style_context
from semcom.models.store import atomic_write_bytes
from semcom.sweep import parameter_axis_label

_LOG_PARAMS = {"p", "epsilon", "loss"}
METRIC_AXIS = {"accuracy": "classification accuracy (%)", "mse": "MSE per pixel (eq. 4)"}


def _scale(metric: str) -> float:
    return 100.0 if metric == "accuracy" else 1.0


# no creation date: redrawing a figure from the same numbers gives the same bytes
_METADATA = {"png": {"Creator": "semcom"}, "pdf": {"Creator": "semcom", "CreationDate": None},
             "svg": {"Creator": "semcom", "Date": None}}


def _save(fig, out_dir: Path, stem: str, formats: list[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    tight = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.03) if formats else None
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        buf = io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": "semcom"}):  # SVG element ids: fixed, not random
            fig.savefig(buf, format=fmt, bbox_inches=tight, metadata=_METADATA.get(fmt))
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


# ------------------------------------------------------------------ aggregation over seeds

@dataclass(frozen=True)
class Stat:
    mean: float
    bar: float  # half-width of the error bar
    n_models: int
    n_channel_seeds: int


def _t95(n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


def _sample_std(values: list[float]) -> float:
    """Sample std, exactly 0 for equal values: numpy's mean of three equal floats can round off
    them, leaving a 1e-18 spread that tables would print as a "±0.0000" of noise there is not."""
    return 0.0 if len(values) < 2 or len(set(values)) == 1 else float(np.std(values, ddof=1))


def aggregate(rows: list[dict], metric: str) -> Stat:
    """Mean over trained models of each model's mean over channel seeds; the bar is the 95%
    interval over models when there are several, else ±1 std over channel seeds."""
    by_model: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        by_model[str(r["codec"])].append(float(r[metric]))
    means = [float(np.mean(v)) for v in by_model.values()]
    seeds = max(len(v) for v in by_model.values())
    if len(means) > 1:
        bar = _t95(len(means)) * _sample_std(means) / math.sqrt(len(means))
    else:
        bar = _sample_std(next(iter(by_model.values())))
    return Stat(float(np.mean(means)), bar, len(means), seeds)


def training_seed_phrase(stats: list[Stat]) -> str:
    """'3 training seeds', or '2–3 training seeds' where codecs differ in how many models they
    have (each codec's interval is over its own), plus what a codec with one model shows."""
    counts = sorted({s.n_models for s in stats if s.n_models > 1})
    text = (str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}") + " training seeds"
    if any(s.n_models == 1 for s in stats):
        one_seed = max((s.n_channel_seeds for s in stats), default=1) == 1
        text += (" (a codec with one trained model has no bar)" if one_seed else
                 " (a codec with one trained model: ±1 std over channel seeds)")
    return text


def _yerr(stats: list[Stat], scale: float, metric: str) -> list[list[float]]:
    """Error bars cut at the metric's own bounds (accuracy within 0-100%, MSE at least 0): a
    Student-t interval over two or three models can reach past them; tables keep the full width."""
    top = 100.0 if metric == "accuracy" else math.inf
    low = [min(scale * s.bar, scale * s.mean) for s in stats]
    high = [min(scale * s.bar, top - scale * s.mean) for s in stats]
    return [low, high]


def _is_cut(stats: list[Stat], scale: float, metric: str) -> bool:
    """Whether :func:`_yerr` cut any of these bars at the metric's bounds."""
    low, high = _yerr(stats, scale, metric)
    return any(min(lo, hi) < scale * s.bar for s, lo, hi in zip(stats, low, high))


def _bars_caption(stats: list[Stat], cut: bool = False) -> str:
    """The bars' meaning; ``cut`` says that some bar stops at 0 or 100%, so a reader does not
    take the axis bound for the interval's end (with two training seeds, t = 12.7 makes wide ones)."""
    models = max((s.n_models for s in stats), default=1)
    seeds = max((s.n_channel_seeds for s in stats), default=1)
    if models > 1:
        per_model = f"each model averaged over {seeds} channel seeds" if seeds > 1 else "one channel draw per model"
        text = f"bars: 95% interval over {training_seed_phrase(stats)}; {per_model}"
    elif seeds > 1:
        text = f"bars: ±1 std over {seeds} channel seeds (one trained model per codec)"
    else:
        return "one trained model, one channel seed: no bars"
    return text + ("; bars that reach past 0 or 100% stop there (tables give the full interval)" if cut else "")


def _fit(fig, text: str, size: str = "small") -> str:
    """Wrap a caption to the figure's width: a caption wider than the figure made the saved
    (tight) image that much wider, with the plot a narrow strip in it."""
    from matplotlib.font_manager import FontProperties

    points = FontProperties(size=size).get_size_in_points()
    chars = max(40, int(fig.get_figwidth() * 72 / (0.5 * points)))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) for line in text.split("\n"))


def _group(row: dict) -> str:
    g = row.get("codec_group")
    return g if isinstance(g, str) and g else str(row["codec"])


def _base(row: dict) -> str:
    b = row.get("codec_base")
    return b if isinstance(b, str) and b else _group(row)


def _run_colours(draw):
    """Draw inside the colour scope of the rows' entries (see figstyle.codec_colours), unless
    a caller (draw_run) already opened one for the whole run."""
    @functools.wraps(draw)
    def wrapper(rows, *args, **kwargs):
        with codec_colours(_base(r) for r in rows if r["codec"] != "original"):
            return draw(rows, *args, **kwargs)
    return wrapper


def _series(row: dict) -> str:
    """The line a row belongs to: its codec (training seeds pooled), plus the link and bitstream settings."""
    parts = [_group(row)] + [row[k] for k in ("link", "bitstream") if isinstance(row.get(k), str) and row.get(k)]
    return " ".join(parts)


# the transport variants of one codec (link and bitstream settings) share its colour; these tell them apart
_VARIANT_STYLES = [("-", None), ((0, (5, 2)), "s"), ((0, (1, 1.5)), "^"), ((0, (6, 2, 1, 2)), "D"),
                   ((0, (3, 3)), "v"), ((0, (8, 2, 1, 2, 1, 2)), "P")]


_HATCHES = [None, "////", "....", "xxxx", "\\\\\\\\", "++++"]


def _variant(row: dict) -> str:
    return " ".join(row[k] for k in ("link", "bitstream") if isinstance(row.get(k), str) and row.get(k))


def _bits(row: dict) -> float:
    """The row's rate, inf where it has none (an analog codec): a key that compares equal to itself."""
    return float(row["bits_per_digit"]) if row.get("bits_per_digit") not in (None, "") else math.inf


def _style(rows: list[dict], variants: list[str] | None = None) -> dict:
    """Colour from the codec entry, marker and line from the rate; where one codec is sent several
    ways (``variants``: the figure's link/bitstream settings), marker and line from the way instead."""
    r = rows[0]
    bits = float(r["bits_per_digit"]) if r.get("bits_per_digit") not in (None, "") else None
    style = {"color": codec_colour(_base(r)), "marker": rate_marker(bits), "linestyle": rate_line(bits)}
    if variants and len(variants) > 1:
        line, marker = _VARIANT_STYLES[variants.index(_variant(r)) % len(_VARIANT_STYLES)]
        style["linestyle"] = line
        style["marker"] = marker or rate_marker(bits)
    return style


def _axis_label(rows: list[dict]) -> str:
    """The swept parameter's axis words: as the channel named them in the rows (runs since the
    column exists), else from its declaration."""
    named = rows[0].get("channel_axis")
    return named if isinstance(named, str) and named else parameter_axis_label(rows[0]["channel_kind"], rows[0]["param"])


def _channel_of(row: dict) -> str:
    label = row.get("channel_label")
    return label if isinstance(label, str) and label else str(row["channel"])


def _legend_below(fig, axes, ncol: int | None = None) -> None:
    handles, labels = [], []
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=ncol or min(len(labels), 5 if max(map(len, labels)) < 28 else 2),
                   handlelength=2.6, columnspacing=1.2)


# ------------------------------------------------------------------ figures

def _panel(row: dict) -> str:
    g = row.get("channel_group")
    return g if isinstance(g, str) and g else str(row["channel_kind"])


@_run_colours
def metric_vs_channel(rows: list[dict], metric: str, out_dir: Path, formats: list[str], stem: str,
                      style: str = "paper") -> list[Path]:
    """One panel per group of channel settings whose swept parameter takes several values
    (a channel kind, and the values of its other parameters); a line per codec."""
    coded = [r for r in rows if r["codec"] != "original"]
    panels = [g for g in dict.fromkeys(_panel(r) for r in coded if r["channel_kind"] != "clean")
              if len({float(r["param_value"]) for r in coded if _panel(r) == g}) > 1]
    if not panels:
        return []
    series = list(dict.fromkeys(_series(r) for r in coded))
    variants = list(dict.fromkeys(_variant(r) for r in coded))
    original = [float(r["accuracy"]) for r in rows if r["codec"] == "original"]
    scale = _scale(metric)
    with style_context(style):
        col, full = WIDTH[style]
        fig = new_figure(min(full, col * 0.95 * len(panels)) if len(panels) > 1 else col, col * 0.8)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        stats_all = []
        for ax, panel in zip(axes, panels):
            sel = [r for r in coded if _panel(r) == panel]
            kind, param = sel[0]["channel_kind"], sel[0]["param"]
            for name in series:
                mine = [r for r in sel if _series(r) == name]
                if not mine:
                    continue
                xs = sorted({float(r["param_value"]) for r in mine})
                stats = [aggregate([r for r in mine if float(r["param_value"]) == x], metric) for x in xs]
                stats_all += stats
                st = _style(mine, variants)
                ax.errorbar(xs, [scale * s.mean for s in stats], yerr=_yerr(stats, scale, metric), label=name,
                            color=st["color"], marker=st["marker"], linestyle=st["linestyle"])
                clean = [r for r in coded if _series(r) == name and r["channel_kind"] == "clean"]
                if clean:
                    ax.axhline(scale * aggregate(clean, metric).mean, color=st["color"], linestyle=":",
                               linewidth=0.7, alpha=0.8)
            if metric == "accuracy" and original:
                ax.axhline(100 * original[0], color="0.45", linestyle=(0, (4, 2)), linewidth=0.8,
                           label="original images")
            if param in _LOG_PARAMS and all(float(r["param_value"]) > 0 for r in sel):
                ax.set_xscale("log")
            ax.set_xlabel(_axis_label(sel))
            if len(panels) > 1 or panel != kind:
                ax.set_title(panel, fontsize="small")
        axes[0].set_ylabel(METRIC_AXIS[metric])
        _legend_below(fig, axes)
        cut = _is_cut(stats_all, scale, metric)
        fig.suptitle(_fit(fig, f"dotted: clean channel; {_bars_caption(stats_all, cut)}"), fontsize="small", y=1.0)
        fig.tight_layout()
        return _save(fig, out_dir, stem, formats)


@_run_colours
def metric_by_setting(rows: list[dict], metric: str, out_dir: Path, formats: list[str], stem: str,
                      style: str = "paper") -> list[Path]:
    """Grouped bars, one group per channel setting and one bar per codec: for runs whose channel
    parameters each take one value (no curve to draw)."""
    coded = [r for r in rows if r["codec"] != "original"]
    settings = list(dict.fromkeys(_channel_of(r) for r in coded))
    series = list(dict.fromkeys(_series(r) for r in coded))
    if len(settings) < 2 and len(series) < 2:
        return []
    scale = _scale(metric)
    original = [float(r["accuracy"]) for r in rows if r["codec"] == "original"]
    with style_context(style):
        col, full = WIDTH[style]
        fig = new_figure(min(full, max(col, 0.35 * len(settings) * max(len(series), 2))), col * 0.75)
        ax = fig.subplots()
        width = 0.8 / len(series)
        variants = list(dict.fromkeys(_variant(r) for r in coded))
        rates = sorted({_bits(r) for r in coded})
        stats_all = []
        for i, name in enumerate(series):
            mine = [r for r in coded if _series(r) == name]
            # the rates and transport variants of one codec share its colour: a hatch tells them apart
            kind = variants.index(_variant(mine[0])) * len(rates) + rates.index(_bits(mine[0]))
            hatch = _HATCHES[kind % len(_HATCHES)]
            xs, ys, bars = [], [], []
            for j, setting in enumerate(settings):
                sel = [r for r in mine if _channel_of(r) == setting]
                if sel:
                    st = aggregate(sel, metric)
                    stats_all.append(st)
                    xs.append(j - 0.4 + width * (i + 0.5))
                    ys.append(scale * st.mean)
                    bars.append(st)
            yerr = _yerr(bars, scale, metric) if any(s.bar for s in bars) else None
            ax.bar(xs, ys, width * 0.9, yerr=yerr, color=_style(mine)["color"], label=name, capsize=1.5,
                   hatch=hatch, edgecolor="white" if hatch else None, linewidth=0)
        if metric == "accuracy" and original:
            ax.axhline(100 * original[0], color="0.45", linestyle=(0, (4, 2)), linewidth=0.8, label="original images")
        ax.set_xticks(range(len(settings)), settings)
        ax.set_ylabel(METRIC_AXIS[metric])
        ax.set_title(_fit(fig, _bars_caption(stats_all, _is_cut(stats_all, scale, metric))), fontsize="small")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        fig.tight_layout()
        return _save(fig, out_dir, stem, formats)


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


@_run_colours
def metric_vs_rate(rows: list[dict], metric: str, out_dir: Path, formats: list[str], stem: str,
                   style: str = "paper") -> list[Path]:
    """Tradeoff curves: metric vs bits per digit, one line per codec entry, one panel per setting."""
    coded = [r for r in rows if r["codec"] != "original"]
    settings = _representative_settings(coded)[:4]
    link_of = {r["codec"]: (r.get("link") if isinstance(r.get("link"), str) else "") for r in coded}
    entries = list(dict.fromkeys((_base(r), link_of[r["codec"]]) for r in coded))
    original = [float(r["accuracy"]) for r in rows if r["codec"] == "original"]
    scale = _scale(metric)
    with style_context(style):
        col, full = WIDTH[style]
        fig = new_figure(min(full, col * 0.8 * len(settings)) if len(settings) > 1 else col, col * 0.8)
        axes = fig.subplots(1, len(settings), squeeze=False, sharey=True)[0]
        stats_all = []
        for ax, setting in zip(axes, settings):
            for base, link in entries:
                mine = [r for r in coded if _base(r) == base and link_of[r["codec"]] == link
                        and _channel_of(r) == setting]
                rates = sorted({float(r["bits_per_digit"]) for r in mine})
                if not rates:  # a codec trained at one rate so far is a lone marker, not left out
                    continue
                stats = [aggregate([r for r in mine if float(r["bits_per_digit"]) == b], metric) for b in rates]
                stats_all += stats
                ax.errorbar(rates, [scale * s.mean for s in stats], yerr=_yerr(stats, scale, metric),
                            label=f"{base} {link}".strip(), color=codec_colour(base), marker="o")
            if metric == "accuracy" and original:
                ax.axhline(100 * original[0], color="0.45", linestyle=(0, (4, 2)), linewidth=0.8,
                           label="original images")
            ax.set_title(setting)
            ax.set_xlabel("bits per digit")
        axes[0].set_ylabel(METRIC_AXIS[metric])
        _legend_below(fig, axes)
        fig.suptitle(_fit(fig, _bars_caption(stats_all, _is_cut(stats_all, scale, metric))), fontsize="small", y=1.0)
        fig.tight_layout()
        return _save(fig, out_dir, stem, formats)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both axes (lower MSE and higher accuracy), by MSE."""
    front, best = [], -math.inf
    for mse, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best:
            front.append((mse, acc))
            best = acc
    return front


@_run_colours
def accuracy_vs_mse(rows: list[dict], out_dir: Path, formats: list[str], stem: str = "accuracy_vs_mse",
                    setting: str | None = None, style: str = "paper") -> list[Path]:
    """The distortion-classification plane on one channel setting (default: clean): each codec
    one point with error bars on both axes, and the Pareto front of all of them."""
    from matplotlib.ticker import MaxNLocator

    coded = [r for r in rows if r["codec"] != "original"]
    if not coded:
        return []
    setting = setting or next((r["channel"] for r in coded if r["channel_kind"] == "clean"), coded[0]["channel"])
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in coded:
        if r["channel"] == setting:
            groups[_series(r)].append(r)
    if len(groups) < 2:
        return []
    original = [float(r["accuracy"]) for r in rows if r["codec"] == "original"]
    with style_context(style):
        col, _ = WIDTH[style]
        fig = new_figure(col, col * 0.85)
        ax = fig.subplots()
        pts, stats_all, cut = [], [], False
        for name, rs in groups.items():
            acc, mse = aggregate(rs, "accuracy"), aggregate(rs, "mse")
            stats_all += [acc]
            cut = cut or _is_cut([acc], 100.0, "accuracy") or _is_cut([mse], 1.0, "mse")
            st = _style(rs)
            ax.errorbar(mse.mean, 100 * acc.mean, xerr=np.array(_yerr([mse], 1.0, "mse")),
                        yerr=np.array(_yerr([acc], 100.0, "accuracy")), color=st["color"],
                        marker=st["marker"], linestyle="none", label=name)
            pts.append((mse.mean, 100 * acc.mean))
        front = pareto_front(pts)
        if len(front) > 1:
            xs, ys = zip(*front)
            ax.step(xs, ys, where="post", color="0.6", linewidth=0.8, zorder=0, label="Pareto front")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # MSE ticks like 0.0375 collide otherwise
        ax.set_xlabel(METRIC_AXIS["mse"])
        ax.set_ylabel(METRIC_AXIS["accuracy"])
        ref = f"; original images {100 * original[0]:.2f}%" if original else ""
        ax.set_title(_fit(fig, f"{setting}{ref}\n{_bars_caption(stats_all, cut)}"), fontsize="small")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        fig.tight_layout()
        return _save(fig, out_dir, stem, formats)


def rate_channel_heatmaps(rows: list[dict], out_dir: Path, formats: list[str], style: str = "paper") -> list[Path]:
    """Rate-distortion-classification surfaces as heatmaps over (bits per digit, channel parameter),
    one figure per codec entry and channel kind, accuracy and MSE side by side (means over seeds)."""
    coded = [r for r in rows if r["codec"] != "original"]
    paths: list[Path] = []
    kinds = [k for k in dict.fromkeys(r["channel_kind"] for r in coded) if k != "clean"]
    for base in dict.fromkeys(_base(r) for r in coded):
        for kind in kinds:
            sel = [r for r in coded if _base(r) == base and r["channel_kind"] == kind]
            clean = [r for r in coded if _base(r) == base and r["channel_kind"] == "clean"]
            rates = sorted({float(r["bits_per_digit"]) for r in sel})
            params = sorted({float(r["param_value"]) for r in sel})
            if len(rates) < 2 or len(params) < 2:
                continue
            x_labels = (["clean"] if clean else []) + [f"{p:g}" for p in params]
            with style_context(style):
                col, full = WIDTH[style]
                fig = new_figure(min(full, 2.4 + 0.55 * len(x_labels) * 2), 0.35 * len(rates) + 1.6)
                axes = fig.subplots(1, 2)
                for ax, metric, cmap in ((axes[0], "accuracy", "viridis"), (axes[1], "mse", "magma_r")):
                    grid = np.full((len(rates), len(x_labels)), np.nan)
                    for i, rate in enumerate(rates):
                        cols = ([clean] if clean else []) + [[r for r in sel if float(r["param_value"]) == p]
                                                             for p in params]
                        for j, pool in enumerate(cols):
                            mine = [r for r in pool if float(r["bits_per_digit"]) == rate]
                            grid[i, j] = _scale(metric) * aggregate(mine, metric).mean if mine else np.nan
                    im = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap)
                    for (i, j), v in np.ndenumerate(grid):
                        if not np.isnan(v):
                            ax.text(j, i, f"{v:.0f}" if metric == "accuracy" else f"{v:.3f}", ha="center",
                                    va="center", fontsize="x-small",
                                    color="white" if (v < np.nanmean(grid)) == (metric == "accuracy") else "black")
                    ax.set_xticks(range(len(x_labels)), x_labels, rotation=45)
                    ax.set_yticks(range(len(rates)), [f"{r:g}" for r in rates])
                    ax.set_xlabel(_axis_label(sel))
                    ax.set_ylabel("bits per digit")
                    ax.set_title(METRIC_AXIS[metric])
                    ax.grid(False)
                    fig.colorbar(im, ax=ax, fraction=0.046)
                fig.suptitle(f"{base}: rate x {kind} (means over seeds)", fontsize="small")
                fig.tight_layout()
                paths += _save(fig, out_dir, f"surface_{base}_{kind}", formats)
    return paths


def latency_cdf(latencies: dict[tuple[str, str, str], np.ndarray], out_dir: Path, formats: list[str],
                stem: str = "latency_cdf", deadline: dict[str, float] | None = None,
                style: str = "paper") -> list[Path]:
    """Empirical CDF of per-digit latency: one panel per link setting, one curve per channel.

    Keys are (codec, channel, link); the first codec is shown (latency depends on the packet
    size, not on what the bits mean). Digits never delivered keep the curve below 1. The
    deadline of each link is a vertical line, with the fraction delivered by then (written
    beside it for up to four channels; summary.md's link table has it for any number).
    """
    if not latencies:
        return []
    first_codec = next(iter(latencies))[0]
    links = list(dict.fromkeys(k[2] for k in latencies if k[0] == first_codec))
    with style_context(style):
        col, full = WIDTH[style]
        fig = new_figure(min(full, col * 0.75 * len(links)) if len(links) > 1 else col, col * 0.75)
        axes = fig.subplots(1, len(links), squeeze=False, sharey=True, sharex=True)[0]
        channels_seen = list(dict.fromkeys(k[1] for k in latencies if k[0] == first_codec))
        if len(channels_seen) <= 10:
            colours = {c: f"C{i}" for i, c in enumerate(channels_seen)}
        else:  # more settings than the default cycle has colours (e.g. an SNR sweep x fading)
            from matplotlib import colormaps

            colours = {c: colormaps["tab20"](i % 20) for i, c in enumerate(channels_seen)}
        for ax, link in zip(axes, links):
            dl = (deadline or {}).get(link)
            notes = []
            for (codec, channel, lk), lat in latencies.items():
                if codec != first_codec or lk != link:
                    continue
                lat = np.asarray(lat, dtype=float)
                finite = np.sort(lat[np.isfinite(lat)])
                if len(finite):
                    y = np.arange(1, len(finite) + 1) / len(lat)
                    ax.step(np.concatenate([[0.0], finite * 1e3]), np.concatenate([[0.0], y]), where="post",
                            label=channel, color=colours[channel])
                if dl is not None and math.isfinite(dl):
                    notes.append(f"{100 * float(np.mean(lat <= dl)):.1f}%")
            if dl is not None and math.isfinite(dl):
                ax.axvline(dl * 1e3, color="0.3", linestyle="--", linewidth=0.8, label="deadline")
                if len(notes) <= 4:  # more would run off the panel
                    ax.text(dl * 1e3, 0.04, " by the deadline: " + ", ".join(notes), fontsize="x-small",
                            rotation=90, va="bottom", ha="right")
            ax.set_title(link, fontsize="small")
            ax.set_xlabel("latency (ms)")
            ax.set_ylim(0, 1.02)
        axes[0].set_ylabel("fraction of digits delivered")
        _legend_below(fig, axes)
        fig.suptitle(f"per-digit latency, codec {first_codec}", fontsize="small")
        fig.tight_layout()
        return _save(fig, out_dir, stem, formats)


_TILE, _GAP = 28, 2


def examples_mosaic(examples: dict[str, np.ndarray], fill: float = 1.0) -> tuple[np.ndarray, list[str]]:
    """One row of 28x28 digits per non-empty entry, gaps of value ``fill`` between; and the row names."""
    names = [n for n in examples if len(examples[n]) and "#" not in n]
    k = max((len(examples[n]) for n in names), default=0)
    step = _TILE + _GAP
    mosaic = np.full((max(len(names) * step - _GAP, 0), max(k * step - _GAP, 0)), fill, np.float32)
    for r, name in enumerate(names):
        for c, image in enumerate(np.asarray(examples[name])):
            mosaic[r * step : r * step + _TILE, c * step : c * step + _TILE] = np.reshape(image, (_TILE, _TILE))
    return mosaic, names


def _example_rows(examples: dict[str, np.ndarray], max_rows: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """The originals, then per codec its clean reconstruction and its harshest setting per channel
    kind; and the codecs left out because their rows would pass ``max_rows`` (a codec is shown
    whole or not at all, and the figure names those left out, so none goes missing unsaid)."""
    keys = [k for k in examples if "#" not in k and k != "original" and len(examples[k])]
    codecs = list(dict.fromkeys(k.split("|", 1)[0] for k in keys))
    chosen = ["original"] if "original" in examples else []
    left_out: list[str] = []
    for codec in codecs:
        mine = [k for k in keys if k.split("|", 1)[0] == codec]
        clean = [k for k in mine if k.split("|", 1)[1].startswith("clean")]
        others = [k for k in mine if k not in clean]
        by_kind: dict[str, str] = {}
        for k in others:  # the last (harshest, in sweep order) setting of each channel kind
            by_kind[k.split("|", 1)[1].split(" ")[0]] = k
        block = clean[:1] + list(by_kind.values())
        if left_out or len(chosen) + len(block) > max_rows:
            left_out.append(codec)
        else:
            chosen += block
    return {k: examples[k] for k in chosen}, left_out


def examples_grid(examples: dict[str, np.ndarray], out_dir: Path, formats: list[str],
                  stem: str = "reconstructions", n_digits: int = 8, max_rows: int = 32,
                  style: str = "paper") -> list[Path]:
    """A compact grid: a few digits (columns) x codecs and channel settings (rows), each tile
    with the classifier's label; a misclassified reconstruction is framed and labelled in red."""
    rows, left_out = _example_rows(examples, max_rows)
    rows = {k: np.asarray(v)[:n_digits] for k, v in rows.items()}
    mosaic, names = examples_mosaic(rows, fill=0.0)  # ink is dark on white paper: gaps are 0 under gray_r
    if not names:
        return []
    truth = examples.get("original#label")
    k = (mosaic.shape[1] + _GAP) // (_TILE + _GAP)
    step = _TILE + _GAP
    with style_context(style):
        col, full = WIDTH[style]
        width = min(full, 1.3 + 0.33 * k)
        fig = new_figure(width, 0.2 + 0.33 * len(names))
        ax = fig.subplots()
        ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.grid(False)
        wrong_tiles = set(misclassified_tiles(examples, names, k))
        for r, name in enumerate(names):
            preds = examples.get(f"{name}#pred")
            if preds is None or truth is None:
                continue
            for c in range(min(len(preds), k, len(truth))):
                wrong = (r, c) in wrong_tiles
                ax.text(c * step + _TILE - 1, r * step + 1, str(int(preds[c])), ha="right", va="top",
                        fontsize=5, color="#d62728" if wrong else "#1a7f37", fontweight="bold")
                if wrong:
                    from matplotlib.patches import Rectangle

                    ax.add_patch(Rectangle((c * step - 0.5, r * step - 0.5), _TILE, _TILE, fill=False,
                                           edgecolor="#d62728", linewidth=1.0))
        ax.set_xticks([])
        ax.set_yticks([r * step + _TILE / 2 for r in range(len(names))],
                      [name.replace("|", "  ") for name in names], fontsize="x-small")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        title = "classifier's label on each tile; red: misclassified"
        if left_out:
            title += f"\nnot shown (over {max_rows} rows): " + ", ".join(left_out)
        ax.set_title(title, fontsize="x-small")
        return _save(fig, out_dir, stem, formats)


def misclassified_tiles(examples: dict[str, np.ndarray], names: list[str], k: int) -> list[tuple[int, int]]:
    """(row, column) of every tile whose predicted label differs from the true one."""
    truth = examples.get("original#label")
    out = []
    for r, name in enumerate(names):
        preds = examples.get(f"{name}#pred")
        if preds is None or truth is None:
            continue
        out += [(r, c) for c in range(min(len(preds), k, len(truth))) if int(preds[c]) != int(truth[c])]
    return out


_CURVES = [("mse", "reconstruction MSE, training batches"), ("val_mse", "validation MSE per pixel"),
           ("val_accuracy", "validation accuracy (%)"), ("critic_loss", "critic loss (eq. 9)"),
           ("w_estimate", "Wasserstein estimate, sum over critics")]


def training_curves(histories: dict[str, dict], out_dir: Path, formats: list[str], stem: str = "training_curves",
                    styles: dict[str, dict] | None = None, style: str = "paper") -> list[Path]:
    """Per-epoch curves from the model cards, one panel per quantity (the generator losses of
    different objectives are not comparable, so they are not drawn on one axis)."""
    from matplotlib.ticker import MaxNLocator

    def has(h: dict, key: str) -> bool:
        vals = [v for v in (h.get(key) or []) if isinstance(v, (int, float)) and v == v]
        return bool(vals) and any(vals)

    used = [(k, t) for k, t in _CURVES if any(has(h, k) for h in histories.values())]
    if not used:
        return []
    styles = styles or {}
    with style_context(style):
        col, full = WIDTH[style]
        ncol = min(len(used), 3)
        nrow = math.ceil(len(used) / ncol)
        fig = new_figure(full, 1.75 * nrow + 0.5)
        axes = np.ravel(fig.subplots(nrow, ncol, squeeze=False))
        for ax, (key, title) in zip(axes, used):
            for name, h in histories.items():
                if not has(h, key):
                    continue
                values = [100 * v if key == "val_accuracy" else v for v in h[key]]
                st = styles.get(name, {})
                ax.plot(range(1, len(values) + 1), values, label=name, color=st.get("color"),
                        linestyle=st.get("linestyle", "-"), marker=st.get("marker"), markevery=5, markersize=2.5)
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in axes[len(used):]:
            ax.set_visible(False)
        _legend_below(fig, axes, ncol=5)
        fig.tight_layout()
        return _save(fig, out_dir, stem, formats)


#: second, third, ... training seed of a codec in the training curves, skipping the rate's own line
#: (12 bits draws seed 0 dashed, so its seed 1 must not be dashed too)
_SEED_LINES = ("--", ":", "-.", (0, (3, 1, 1, 1, 1, 1)), "-")


@_run_colours
def history_styles(rows: list[dict]) -> dict[str, dict]:
    """Model name -> the colour and marker of its codec, for the training curves; the training
    seeds of one codec share its colour and differ in line style."""
    out = {"classifier": {"color": "0.35", "linestyle": (0, (4, 2)), "marker": None}}
    seeds_seen: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["codec"] != "original" and r["codec"] not in out:
            style = dict(_style([r]))
            k = seeds_seen[_group(r)]
            seeds_seen[_group(r)] += 1
            if k:
                others = [line for line in _SEED_LINES if line != style["linestyle"]]
                style["linestyle"] = others[(k - 1) % len(others)]
            out[str(r["codec"])] = style
    return out


@_run_colours
def draw_run(rows: list[dict], examples: dict[str, np.ndarray] | None, out_dir: Path, formats: list[str],
             latencies: dict[tuple[str, str, str], np.ndarray] | None = None, *,
             deadlines: dict[str, float] | None = None, style: str = "paper") -> list[Path]:
    """Every figure a run's rows support: channel curves when a channel parameter was swept;
    rate curves and surfaces when several rates were; accuracy vs MSE for two codecs or more;
    a latency CDF for packet-link runs; the reconstructions grid."""
    coded = [r for r in rows if r["codec"] != "original"]
    paths = metric_vs_channel(rows, "accuracy", out_dir, formats, "accuracy_vs_channel", style)
    paths += metric_vs_channel(rows, "mse", out_dir, formats, "mse_vs_channel", style)
    if not paths:  # no channel parameter took two values: bars per setting instead of curves
        paths = metric_by_setting(rows, "accuracy", out_dir, formats, "accuracy_by_channel", style)
        paths += metric_by_setting(rows, "mse", out_dir, formats, "mse_by_channel", style)
    if any(len({float(r["bits_per_digit"]) for r in coded if _base(r) == b}) > 1 for b in {_base(r) for r in coded}):
        paths += metric_vs_rate(rows, "accuracy", out_dir, formats, "accuracy_vs_rate", style)
        paths += metric_vs_rate(rows, "mse", out_dir, formats, "mse_vs_rate", style)
        paths += rate_channel_heatmaps(rows, out_dir, formats, style)
    paths += accuracy_vs_mse(rows, out_dir, formats, style=style)
    if latencies:
        if deadlines is None:
            deadlines = {r["link"]: float(r["link_deadline_s"]) for r in coded
                         if isinstance(r.get("link"), str) and r.get("link_deadline_s") not in (None, "")}
        paths += latency_cdf(latencies, out_dir, formats, deadline=deadlines, style=style)
    if examples:
        paths += examples_grid(examples, out_dir, formats, style=style)
    return paths
