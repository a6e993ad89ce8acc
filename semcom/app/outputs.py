"""A run's files, from its journal: tables (metrics, timings, per class, summary), examples, latencies, plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semcom.app.execution import example_path
from semcom.app.results import save_examples, write_csv, write_json
from semcom.app.summary import summary_markdown
from semcom.models.store import atomic_write_text
from semcom.sweep import SweepPoint


@dataclass
class RunTables:
    """Every row of a finished run, in the canonical point order, the original images first."""

    rows: list[dict]
    class_rows: list[dict]
    examples: dict[str, np.ndarray]
    latencies: dict[tuple, np.ndarray] = field(default_factory=dict)


def collect(entries: dict, points: list[SweepPoint], original, run_dir: Path, scenario_name: str,
            first_seed: int) -> RunTables:
    ordered = [entries[p.point_id] for p in points]
    rows = [{"scenario": scenario_name, **r} for r in [original.row] + [e["row"] for e in ordered]]
    class_rows = original.class_rows + [r for e in ordered for r in e["class_rows"]]
    n = len(original.examples)
    examples = {"original": original.examples, "original#pred": original.example_predictions,
                "original#label": np.asarray(original.labels[:n], np.int64)}
    latencies = {}
    for p in points:
        path = example_path(run_dir, p.point_id)
        if p.seed == first_seed and path.exists():
            examples[f"{p.codec}|{p.setting}"] = np.load(path)
            pred = example_path(run_dir, p.point_id, "predictions")
            if pred.exists():
                examples[f"{p.codec}|{p.setting}#pred"] = np.load(pred)
        lat_path = example_path(run_dir, p.point_id, "latency")
        if lat_path.exists() and p.link is not None:
            latencies[(p.codec, p.channel.label, p.link.label, str(p.seed))] = np.load(lat_path)
    return RunTables(rows, class_rows, examples, latencies)


def write_tables(tables: RunTables, run_dir: Path, notes: list[str] | None = None) -> list[str]:
    """metrics.csv, timings.csv, per_class.csv, summary.md, examples.npz (and latency.npz).

    Wall-clock times go to timings.csv: metrics.csv is byte-identical across reruns and resumes.
    """
    rows = [dict(r) for r in tables.rows]
    timings = [{"codec": r["codec"], "channel": r["channel"], "seed": r["seed"], "seconds": r.pop("seconds", 0.0)}
               for r in rows]
    tables.rows[:] = rows
    files = ["metrics.csv", "timings.csv", "per_class.csv", "summary.md", "examples.npz"]
    write_csv(run_dir / "metrics.csv", rows)
    write_csv(run_dir / "timings.csv", timings)
    write_csv(run_dir / "per_class.csv", tables.class_rows)
    save_examples(run_dir / "examples.npz", tables.examples)
    atomic_write_text(run_dir / "summary.md", summary_markdown(rows, notes))
    if tables.latencies:
        save_examples(run_dir / "latency.npz", {"|".join(k): v for k, v in tables.latencies.items()})
        files.append("latency.npz")
    return files


def first_seed_latencies(latencies: dict[tuple, np.ndarray], seed: int) -> dict[tuple, np.ndarray]:
    """(codec, channel, link, seed) -> latencies, narrowed to one seed for the CDF plot."""
    return {k[:3]: v for k, v in latencies.items() if k[3] == str(seed)}


def write_figures(tables: RunTables, histories: dict, run_dir: Path, formats: list[str], first_seed: int,
                  style: str = "paper") -> list[str]:
    from semcom.app.plots import draw_run, history_styles, training_curves

    write_json(run_dir / "training_histories.json", histories)  # so `semcom plot` can redraw the curves
    paths = draw_run(tables.rows, tables.examples, run_dir / "plots", formats,
                     first_seed_latencies(tables.latencies, first_seed), style=style)
    paths += training_curves(histories, run_dir / "plots", formats, styles=history_styles(tables.rows), style=style)
    return [str(p.relative_to(run_dir)) for p in paths]
