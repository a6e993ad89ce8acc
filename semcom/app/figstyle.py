"""The figure style of semcom: sizes for a paper column or a screen, and one look per codec.

Every figure is a :class:`matplotlib.figure.Figure` drawn on its own Agg canvas, inside
``style_context(style)``: nothing here touches pyplot or the global backend, so importing
the plotting code is safe in a notebook. A codec's colour comes from the name of its
scenario entry (``codec_base``) and its marker from its rate, through fixed tables, so
NA2 is the same orange in every figure of every run, and its 8-bit point is always a circle.
Entries outside that table get colours inside :func:`codec_colours`, the scope a run's
figures are drawn in: distinct from each other and from the fixed ones present, the same in
every figure of the run (a hash of the name alone let two entries share a colour).
"""

from __future__ import annotations

import contextlib
import zlib
from contextvars import ContextVar
from typing import Iterable, Iterator

import matplotlib as mpl

STYLES = {
    # 3.5 in (one column) and 7 in (two columns) figures, fonts that read at that size
    "paper": {"font.size": 7, "axes.titlesize": 7.5, "axes.labelsize": 7, "legend.fontsize": 6.5,
              "xtick.labelsize": 6.5, "ytick.labelsize": 6.5, "lines.linewidth": 1.1, "lines.markersize": 3.8,
              "errorbar.capsize": 2.0, "axes.linewidth": 0.6, "grid.linewidth": 0.4, "legend.frameon": False,
              "savefig.dpi": 300, "pdf.fonttype": 42, "ps.fonttype": 42, "axes.grid": True, "grid.alpha": 0.35,
              "axes.spines.top": False, "axes.spines.right": False},
    "screen": {"font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "legend.fontsize": 9,
               "xtick.labelsize": 9, "ytick.labelsize": 9, "lines.linewidth": 1.6, "lines.markersize": 5.5,
               "errorbar.capsize": 3.0, "legend.frameon": False, "savefig.dpi": 150, "pdf.fonttype": 42,
               "axes.grid": True, "grid.alpha": 0.35, "axes.spines.top": False, "axes.spines.right": False},
}
#: figure widths in inches: one paper column, and the full text width
WIDTH = {"paper": (3.5, 7.0), "screen": (5.5, 11.0)}

# Okabe-Ito (colour-blind safe) first, then tab20 for everything else
_PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#000000",
            "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
            "#F0E442"]  # Okabe-Ito's yellow last: pale on white
#: codecs of the shipped scenarios, always in these colours (others: a stable hash of the name)
_KNOWN = {"only_compression": "#0072B2", "mse": "#8c564b", "deep_feature": "#009E73", "NA1": "#56B4E9",
          "NA2": "#E69F00", "NA3": "#D55E00", "kmeans": "#000000", "pca": "#7f7f7f", "label_refine": "#CC79A7",
          "label_joint": "#9467bd", "task": "#2ca02c", "chan": "#a6761d", "wgan": "#bcbd22", "analog": "#d62728",
          "original": "#555555"}
_RATE_MARKERS = {4: "v", 6: "^", 8: "o", 10: "D", 12: "s", 16: "P"}
_RATE_LINES = {4: ":", 6: "-.", 8: "-", 10: (0, (5, 1)), 12: "--", 16: (0, (1, 1))}


_SCOPE: ContextVar[dict[str, str] | None] = ContextVar("semcom_codec_colours", default=None)


def _fixed_colour(base: str) -> str | None:
    if base in _KNOWN:
        return _KNOWN[base]
    head, _, tail = base.rpartition("-")
    if head in _KNOWN and tail.rstrip("b").isdigit():  # "NA2-8": the NA2 entry at a rate
        return _KNOWN[head]
    return None


def colour_table(bases: Iterable[str]) -> dict[str, str]:
    """Entry -> colour for a set of entries: the fixed ones keep theirs, the others take, in
    name order, the palette colours no entry of the set holds (cycling only past 24 entries)."""
    names = sorted(set(bases))
    table = {b: c for b in names if (c := _fixed_colour(b)) is not None}
    free = [c for c in _PALETTE if c not in table.values()] or _PALETTE
    for i, b in enumerate(b for b in names if b not in table):
        table[b] = free[i % len(free)]
    return table


@contextlib.contextmanager
def codec_colours(bases: Iterable[str]) -> Iterator[dict[str, str]]:
    """The colours of one run's figures (see :func:`colour_table`); nested scopes keep the outer one."""
    if _SCOPE.get() is not None:
        yield _SCOPE.get()  # type: ignore[misc]
        return
    token = _SCOPE.set(colour_table(bases))
    try:
        yield _SCOPE.get()  # type: ignore[misc]
    finally:
        _SCOPE.reset(token)


def codec_colour(base: str) -> str:
    table = _SCOPE.get()
    if table is not None and base in table:
        return table[base]
    fixed = _fixed_colour(base)
    return fixed if fixed is not None else _PALETTE[zlib.crc32(base.encode()) % len(_PALETTE)]


def rate_marker(bits: float | None) -> str:
    return _RATE_MARKERS.get(int(bits), "X") if bits is not None and float(bits).is_integer() else "X"


def rate_line(bits: float | None):
    return _RATE_LINES.get(int(bits), "-") if bits is not None and float(bits).is_integer() else "-"


@contextlib.contextmanager
def style_context(style: str = "paper") -> Iterator[None]:
    if style not in STYLES:
        raise ValueError(f"figure style must be one of {sorted(STYLES)}, got {style!r}")
    with mpl.rc_context(STYLES[style]):
        yield


def new_figure(width: float, height: float):
    """A figure on its own Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig
