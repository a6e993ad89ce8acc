"""Table 3 beside the paper's: cells with intervals over training seeds, the NA2-vs-only-compression finding."""

import csv
import math

import pytest
from scipy import stats

from semcom.app.paper import TABLE3, compare_intervals, interval, table3_rows, write_table3


def _row(codec, acc, mse, seed=0, channel="clean", kind="clean", group=None, train_seed=0):
    return {"codec": codec, "codec_group": group or codec, "train_seed": train_seed, "channel": channel,
            "channel_kind": kind, "seed": seed, "accuracy": acc, "mse": mse}


ROWS = [
    _row("original", 0.9885, float("nan")),
    # only compression at 8 bits: three training seeds, the first with two channel seeds
    _row("only_compression-8b-s0", 0.70, 0.039, group="only_compression-8b"),
    _row("only_compression-8b-s0", 0.70, 0.039, seed=1, group="only_compression-8b"),
    _row("only_compression-8b-s1", 0.72, 0.041, group="only_compression-8b", train_seed=1),
    _row("only_compression-8b-s2", 0.71, 0.040, group="only_compression-8b", train_seed=2),
    _row("NA2-8b-s0", 0.80, 0.043, group="NA2-8b"), _row("NA2-8b-s1", 0.81, 0.044, group="NA2-8b", train_seed=1),
    _row("NA2-8b-s2", 0.79, 0.045, group="NA2-8b", train_seed=2),
    _row("NA2-8b-s0", 0.10, 0.2, channel="BSC(p=0.1)", kind="bsc", group="NA2-8b"),  # not the clean channel
    # 12 bits: overlapping intervals
    _row("only_compression-12b-s0", 0.80, 0.030, group="only_compression-12b"),
    _row("only_compression-12b-s1", 0.84, 0.031, group="only_compression-12b", train_seed=1),
    _row("NA2-12b-s0", 0.81, 0.029, group="NA2-12b"), _row("NA2-12b-s1", 0.83, 0.032, group="NA2-12b", train_seed=1),
    # deep feature at 8 bits only: two training seeds, less accurate than only compression at a lower MSE
    _row("deep_feature-8b-s0", 0.60, 0.035, group="deep_feature-8b"),
    _row("deep_feature-8b-s1", 0.61, 0.036, group="deep_feature-8b", train_seed=1),
]


def test_interval_is_the_student_t_half_width():
    m, h = interval([0.70, 0.72, 0.71])
    assert m == pytest.approx(0.71)
    assert h == pytest.approx(stats.t.ppf(0.975, 2) * 0.01 / math.sqrt(3))
    assert math.isnan(interval([0.5])[1]) and interval([0.5])[0] == 0.5


def test_rows_average_training_seeds_with_an_interval_beside_the_paper():
    table = {(r["case"], r["bits_per_digit"]): r for r in table3_rows(ROWS)}
    oc8 = table[("only_compression", 8)]
    # seed 0's two channel seeds count once: the spread is over trained models
    assert oc8["accuracy"] == pytest.approx(0.71) and oc8["mse"] == pytest.approx(0.040) and oc8["train_seeds"] == 3
    assert oc8["accuracy_ci95"] == pytest.approx(interval([0.70, 0.72, 0.71])[1])
    assert oc8["models"] == "only_compression-8b-s0 only_compression-8b-s1 only_compression-8b-s2"
    assert oc8["paper_accuracy"] == 0.8566 and oc8["accuracy_diff_pts"] == pytest.approx(100 * (0.71 - 0.8566))
    assert table[("NA2", 8)]["mse_diff"] == pytest.approx(0.044 - TABLE3["NA2"][8][1])
    assert table[("original", 12)]["accuracy"] == 0.9885
    assert ("NA1", 8) not in table  # not run: no row


def test_rows_without_groups_are_single_models():
    rows = [{"codec": "NA2-8b", "channel": "clean", "channel_kind": "clean", "seed": 0, "accuracy": 0.8, "mse": 0.04}]
    (na2,) = [r for r in table3_rows(rows) if r["case"] == "NA2"]
    assert na2["train_seeds"] == 1 and math.isnan(na2["accuracy_ci95"])


def test_orderings_only_where_intervals_separate():
    assert compare_intervals(0.80, 0.01, 0.70, 0.02) == "above"
    assert compare_intervals(0.70, 0.01, 0.80, 0.02) == "below"
    assert compare_intervals(0.80, 0.06, 0.70, 0.05) == "not distinguishable"
    assert compare_intervals(0.80, math.nan, 0.70, 0.01).startswith("not distinguishable")


def test_written_table_states_cells_intervals_schedule_and_ordering(tmp_path):
    paths = write_table3(ROWS, tmp_path, {"only_compression-8b-s0": 25, "NA2-8b-s0": 25})
    assert {p.name for p in paths} == {"table3.md", "table3.csv"}
    text = (tmp_path / "table3.md").read_text()
    h = 100 * interval([0.70, 0.72, 0.71])[1]
    assert f"| Only Comp | 71.00% ± {h:.2f} (n=3); paper 85.66%, -14.66 pts |" in text
    assert "| NA1 |" not in text  # a case run at no rate gets no row
    assert "Codecs trained for 25 epochs (the paper: 25)" in text
    assert "8 bits/digit: NA2 accuracy 80.00% (n=3) vs only compression 71.00% (n=3): above;" in text
    assert "12 bits/digit: NA2 accuracy 82.00% (n=2) vs only compression 82.00% (n=2): not distinguishable;" in text
    findings = [line for line in text.splitlines() if line.startswith("- ")]
    assert findings == [  # NA2, the headline, first at each rate; every learned case against only compression
        "- 8 bits/digit: NA2 accuracy 80.00% (n=3) vs only compression 71.00% (n=3): above; NA2 MSE 0.0440 vs 0.0400: "
        "not distinguishable.",  # 3 seeds: each 0.001 apart gives ±0.0025
        "- 8 bits/digit: deep feature accuracy 60.50% (n=2) vs only compression 71.00% (n=3): below; "
        "deep feature MSE 0.0355 vs 0.0400: not distinguishable.",  # 2 seeds: t = 12.7 widens it to ±0.0064
        "- 12 bits/digit: NA2 accuracy 82.00% (n=2) vs only compression 82.00% (n=2): not distinguishable; "
        "NA2 MSE 0.0305 vs 0.0305: not distinguishable."]
    with open(tmp_path / "table3.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["case"], r["bits_per_digit"]) for r in rows} == {
        ("original", "8"), ("original", "12"), ("only_compression", "8"), ("NA2", "8"), ("deep_feature", "8"),
        ("only_compression", "12"), ("NA2", "12")}
    assert {"accuracy_ci95", "mse_ci95", "train_seeds"} <= set(rows[0])
