"""The paper's Table 3, and our reproduction of it side by side.

Numbers from *Rate-Distortion-Classification tradeoff* (Le, Duhamel, Wautier 2024),
accuracy and distortion (per-pixel MSE) on the MNIST test set at 8 and 12 bits/digit.
A reproduction scenario names its codecs ``<case>`` with ``bits = [8, 12]`` (so they
expand to ``<case>-8b`` and ``<case>-12b``), case being one of :data:`CASES`.
"""

from __future__ import annotations

import math
from pathlib import Path

from semcom.results import write_csv
from semcom.store import atomic_write_text

CASES = ("only_compression", "deep_feature", "NA1", "NA2", "NA3")
CASE_TITLES = {"original": "Original Img", "only_compression": "Only Comp", "deep_feature": "Deep Feat",
               "NA1": "NA1", "NA2": "NA2", "NA3": "NA3"}

# case -> bits -> (accuracy, distortion); distortion is not reported for original images
TABLE3: dict[str, dict[int, tuple[float, float | None]]] = {
    "original": {8: (0.991, None), 12: (0.991, None)},
    "only_compression": {8: (0.8566, 0.032), 12: (0.9048, 0.025)},
    "deep_feature": {8: (0.8639, 0.039), 12: (0.9220, 0.029)},
    "NA1": {8: (0.8604, 0.039), 12: (0.9400, 0.031)},
    "NA2": {8: (0.8801, 0.045), 12: (0.9526, 0.040)},
    "NA3": {8: (0.8702, 0.040), 12: (0.9467, 0.034)},
}


PAPER_EPOCHS = 25  # section 5.1


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def table3_rows(rows: list[dict], channel: str | None = None) -> list[dict]:
    """Our accuracy/MSE per case and rate (mean over seeds, clean channel) beside the paper's."""
    coded = [r for r in rows if r["codec"] != "original"]
    channel = channel or next((r["channel"] for r in coded if r["channel_kind"] == "clean"), None)
    out = []
    original = [float(r["accuracy"]) for r in rows if r["codec"] == "original"]
    for case, by_bits in TABLE3.items():
        for bits, (paper_acc, paper_mse) in by_bits.items():
            if case == "original":
                acc, mse, n = _mean(original), math.nan, len(original)
            else:
                sel = [r for r in coded if r["codec"] == f"{case}-{bits}b" and r["channel"] == channel]
                if not sel:
                    continue
                acc, mse, n = _mean([float(r["accuracy"]) for r in sel]), _mean([float(r["mse"]) for r in sel]), len(sel)
            out.append({"case": case, "bits_per_digit": bits, "accuracy": acc, "mse": mse,
                        "paper_accuracy": paper_acc, "paper_mse": paper_mse if paper_mse is not None else math.nan,
                        "accuracy_diff_pts": 100 * (acc - paper_acc),
                        "mse_diff": mse - paper_mse if paper_mse is not None else math.nan, "seeds": n})
    return out


def _pct(v: float) -> str:
    return "–" if math.isnan(v) else f"{100 * v:.2f}%"


def _num(v: float, fmt: str = "{:.4f}") -> str:
    return "–" if math.isnan(v) else fmt.format(v)


def table3_markdown(table: list[dict]) -> str:
    """Table 3's layout (cases x rates), each cell 'ours (paper, difference)'."""
    rates = sorted({r["bits_per_digit"] for r in table})
    head = "| case | " + " | ".join(f"acc @ {b} bits | MSE @ {b} bits" for b in rates) + " |"
    lines = [head, "|---|" + "---|---|" * len(rates)]
    for case in CASE_TITLES:
        cells = []
        for b in rates:
            r = next((x for x in table if x["case"] == case and x["bits_per_digit"] == b), None)
            if r is None:
                cells += ["not run", "not run"]
                continue
            cells.append(f"{_pct(r['accuracy'])} (paper {_pct(r['paper_accuracy'])}, "
                         f"{r['accuracy_diff_pts']:+.2f} pts)")
            cells.append("–" if math.isnan(r["mse"]) else
                         f"{_num(r['mse'])} (paper {_num(r['paper_mse'], '{:.3f}')}, {_num(r['mse_diff'], '{:+.4f}')})")
        if any(c != "not run" for c in cells):
            lines.append(f"| {CASE_TITLES[case]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ordering_findings(table: list[dict]) -> list[str]:
    """Does the paper's headline hold here: NA2 above only-compression in accuracy, at some MSE cost?"""
    notes = []
    for bits in sorted({r["bits_per_digit"] for r in table}):
        na2 = next((r for r in table if r["case"] == "NA2" and r["bits_per_digit"] == bits), None)
        oc = next((r for r in table if r["case"] == "only_compression" and r["bits_per_digit"] == bits), None)
        if na2 is None or oc is None:
            continue
        acc = "above" if na2["accuracy"] > oc["accuracy"] else "not above"
        cost = "higher" if na2["mse"] > oc["mse"] else "not higher"
        notes.append(f"{bits} bits/digit: NA2 accuracy {100 * na2['accuracy']:.2f}% is {acc} only-compression "
                     f"({100 * oc['accuracy']:.2f}%); its MSE {na2['mse']:.4f} is {cost} ({oc['mse']:.4f}).")
    return notes


def write_table3(rows: list[dict], run_dir: Path, epochs: dict[str, int] | None = None) -> list[Path]:
    """table3.csv and table3.md; ``epochs`` (codec name -> training epochs) is stated in the text."""
    table = table3_rows(rows)
    if not table:
        return []
    write_csv(run_dir / "table3.csv", table)
    text = "# Table 3, reproduced\n\nClean channel, mean over seeds; each cell: ours (paper, ours - paper).\n"
    if epochs:
        counts = sorted(set(epochs.values()))
        text += (f"Codecs trained for {' / '.join(str(c) for c in counts)} epochs "
                 f"(the paper: {PAPER_EPOCHS}); settings of each model in manifest.json.\n")
    text += "\n"
    text += table3_markdown(table)
    findings = ordering_findings(table)
    if findings:
        text += "\n" + "\n".join(f"- {f}" for f in findings) + "\n"
    atomic_write_text(run_dir / "table3.md", text)
    return [run_dir / "table3.csv", run_dir / "table3.md"]
