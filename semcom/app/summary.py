"""A run's summary: the codec x channel table a reader wants, printed and in summary.md.

The first table is the pivot: one row per codec (its training seeds pooled), one column
per channel setting, each cell the accuracy in percent with its spread, plus the clean
MSE. The spread is the 95% interval over training seeds when a codec has several
trained models, else ±1 std over channel seeds (the header says which). Link runs add
delivery ratio and median / p95 latency. summary.md ends with the full long table.
"""

from __future__ import annotations

import math
from collections import defaultdict
from operator import itemgetter

import numpy as np

from semcom.app.plots import aggregate, training_seed_phrase
from semcom.metrics import psnr


def _group(r: dict) -> str:
    g = r.get("codec_group")
    return g if isinstance(g, str) and g else str(r["codec"])


def _row_name(r: dict) -> str:
    parts = [_group(r)] + [r[k] for k in ("link", "bitstream") if isinstance(r.get(k), str) and r.get(k)]
    return " ".join(parts)


def _column(r: dict) -> str:
    label = r.get("channel_label")
    return label if isinstance(label, str) and label else str(r["channel"])


def _cell(stat, metric: str = "accuracy") -> str:
    scale = 100.0 if metric == "accuracy" else 1.0
    value = f"{scale * stat.mean:.2f}" if metric == "accuracy" else f"{stat.mean:.4f}"
    if stat.bar > 0:
        value += f" ±{scale * stat.bar:.2f}" if metric == "accuracy" else f" ±{stat.bar:.4f}"
    return value


#: above this many channel settings, one swept parameter is laid out as columns of its values
WIDE = 8


def _swept(coded: list[dict]) -> str | None:
    """The parameter every non-clean setting sweeps, when the table would be too wide otherwise."""
    swept = [r for r in coded if r["channel_kind"] != "clean"]
    params = {r.get("param") for r in swept}
    groups = {r.get("channel_group") for r in swept}
    if len({_column(r) for r in coded}) <= WIDE or len(params) != 1 or not all(isinstance(g, str) and g for g in groups):
        return None
    return params.pop() or None


def _value(r: dict) -> str:
    return f"{float(r['param_value']):g}"


def pivot(rows: list[dict]) -> tuple[list[str], list[list[str]], str]:
    """(header, body, spread note) of the codec x channel accuracy table.

    A sweep of one parameter over many settings (an SNR axis over AWGN and Rayleigh, say)
    gets one row per codec and channel group and one column per parameter value, so the
    table stays readable; otherwise one column per channel setting."""
    coded = [r for r in rows if r["codec"] != "original"]
    swept = _swept(coded)
    if swept is not None:
        label = next((r["channel_axis"] for r in coded if isinstance(r.get("channel_axis"), str) and r["channel_axis"]),
                     "")
        words = label.split(": ", 1)[-1] if label else swept
        groups = list(dict.fromkeys(r["channel_group"] for r in coded if r["channel_kind"] != "clean"))
        expanded = []
        for r in coded:
            if r["channel_kind"] == "clean":  # the clean setting belongs to every group of its codec
                expanded += [dict(r, _row=f"{_row_name(r)} · {g}", _col="clean") for g in groups]
            else:
                expanded.append(dict(r, _row=f"{_row_name(r)} · {r['channel_group']}", _col=f"{words} = {_value(r)}"))
        values = sorted({float(r["param_value"]) for r in coded if r["channel_kind"] != "clean"})
        order = ["clean"] + [f"{words} = {v:g}" for v in values]
        present = {r["_col"] for r in expanded}
        return _pivot(expanded, itemgetter("_row"), itemgetter("_col"), [c for c in order if c in present], rows)
    return _pivot(coded, _row_name, _column, list(dict.fromkeys(_column(r) for r in coded)), rows)


def _pivot(coded: list[dict], row_of, column_of, channels: list[str], rows: list[dict]):
    names = list(dict.fromkeys(row_of(r) for r in coded))
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in coded:
        cells[(row_of(r), column_of(r))].append(r)
    clean = next((c for c in channels if c == "clean" or c.startswith("clean")), None)
    header = ["codec", "bits/digit"] + (["MSE, clean"] if clean else []) + [f"acc. % {c}" for c in channels]
    sent = {name: float(np.mean([float(r["bits_per_digit"]) for r in coded if row_of(r) == name]))
            for name in names}
    body, stats = [], []
    for name in names:
        line = [name, f"{sent[name]:.3g}"]
        if clean:
            sel = cells.get((name, clean))
            line.append(_cell(aggregate(sel, "mse"), "mse") if sel else "–")
        for c in channels:
            sel = cells.get((name, c))
            if sel:
                stat = aggregate(sel, "accuracy")
                stats.append(stat)
                line.append(_cell(stat))
            else:
                line.append("–")
        body.append(line)
    models = max((s.n_models for s in stats), default=1)
    seeds = max((s.n_channel_seeds for s in stats), default=1)
    note = (f"± is the 95% interval over {training_seed_phrase(stats)}" if models > 1 else
            f"± is 1 std over {seeds} channel seeds (one trained model per codec)" if seeds > 1 else
            "one trained model and one channel seed per cell")
    original = [float(r["accuracy"]) for r in rows if r["codec"] == "original"]
    if original:
        note += f"; the classifier on the original images: {100 * original[0]:.2f}%"
    return header, body, note


def link_table(rows: list[dict]) -> tuple[list[str], list[list[str]]] | None:
    """Delivery ratio and median / p95 latency per (codec, link, channel), for packet-link runs."""
    linked = [r for r in rows if isinstance(r.get("link"), str) and r.get("link")]
    if not linked:
        return None
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in linked:
        groups[(_group(r), r["link"], str(r.get("channel_label") or r["channel"]))].append(r)
    header = ["codec", "link", "channel", "delivered %", "median latency (ms)", "p95 latency (ms)", "accuracy %"]
    body = []
    for (codec, link, channel), rs in groups.items():
        def mean(key: str) -> float:
            vals = [float(r[key]) for r in rs if r.get(key) not in (None, "")]
            return float(np.mean(vals)) if vals else math.nan

        body.append([codec, link, channel, f"{100 * mean('link_delivery_ratio'):.1f}",
                     f"{1e3 * mean('link_latency_p50_s'):.1f}", f"{1e3 * mean('link_latency_p95_s'):.1f}",
                     f"{100 * mean('accuracy'):.2f}"])
    return header, body


def long_table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(str(r["codec"]), str(r["channel"]))].append(r)
    header = ["codec", "bits/digit", "channel", "accuracy", "MSE", "PSNR (dB)", "bit error rate", "seeds"]
    body = []
    for (codec, channel), rs in groups.items():
        acc = float(np.mean([float(r["accuracy"]) for r in rs]))
        mse = float(np.mean([float(r["mse"]) for r in rs]))
        ber = float(np.mean([float(r.get("bit_error_rate", 0.0)) for r in rs]))
        original = codec == "original"
        body.append([codec, f"{float(rs[0]['bits_per_digit']):g}", channel, f"{100 * acc:.2f}%",
                     "–" if original else f"{mse:.4f}", "–" if original else f"{psnr(mse):.2f}",
                     "–" if original else f"{ber:.2e}", str(len(rs))])
    return header, body


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def text_table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    fmt = lambda row: "  ".join(str(x).ljust(w) if i < 1 else str(x).rjust(w)  # noqa: E731
                                for i, (x, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body]) + "\n"


def summary_markdown(rows: list[dict], notes: list[str] | None = None) -> str:
    header, body, note = pivot(rows)
    text = "## Accuracy by codec and channel\n\n" + markdown_table(header, body) + f"\n{note}.\n"
    links = link_table(rows)
    if links:
        text += "\n## Packet link\n\n" + markdown_table(*links)
    if notes:
        text += "\n## Notes\n\n" + "".join(f"- {n}\n" for n in notes)
    text += "\n## Every point (means over channel seeds)\n\n" + markdown_table(*long_table(rows))
    return text


def summary_text(rows: list[dict], notes: list[str] | None = None) -> str:
    """What ``semcom run`` prints: the pivot, the link table, the notes (the long table is in summary.md)."""
    header, body, note = pivot(rows)
    text = text_table(header, body) + f"{note}.\n"
    links = link_table(rows)
    if links:
        text += "\n" + text_table(*links)
    if notes:
        text += "\nnotes:\n" + "".join(f"  - {n}\n" for n in notes)
    return text
