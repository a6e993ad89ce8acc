"""Table 3 beside the paper's: cells, differences, the NA2-vs-only-compression finding."""

import csv

import pytest

from semcom.paper import TABLE3, table3_rows, write_table3


def _row(codec, acc, mse, seed=0, channel="clean", kind="clean"):
    return {"codec": codec, "channel": channel, "channel_kind": kind, "seed": seed, "accuracy": acc, "mse": mse}


ROWS = [
    _row("original", 0.9885, float("nan")),
    _row("only_compression-8b", 0.70, 0.039), _row("only_compression-8b", 0.72, 0.041, seed=1),
    _row("NA2-8b", 0.74, 0.043),
    _row("NA2-8b", 0.10, 0.2, channel="BSC(p=0.1)", kind="bsc"),  # not the clean channel: ignored
    _row("only_compression-12b", 0.80, 0.030), _row("NA2-12b", 0.79, 0.029),
]


def test_rows_average_seeds_on_the_clean_channel_beside_the_paper():
    table = {(r["case"], r["bits_per_digit"]): r for r in table3_rows(ROWS)}
    oc8 = table[("only_compression", 8)]
    assert oc8["accuracy"] == pytest.approx(0.71) and oc8["mse"] == pytest.approx(0.040) and oc8["seeds"] == 2
    assert oc8["paper_accuracy"] == 0.8566 and oc8["accuracy_diff_pts"] == pytest.approx(100 * (0.71 - 0.8566))
    assert table[("NA2", 8)]["mse_diff"] == pytest.approx(0.043 - TABLE3["NA2"][8][1])
    assert table[("original", 12)]["accuracy"] == 0.9885
    assert ("NA1", 8) not in table  # not run: no row


def test_written_table_states_cells_schedule_and_ordering(tmp_path):
    paths = write_table3(ROWS, tmp_path, {"only_compression-8b": 6, "NA2-8b": 6})
    assert {p.name for p in paths} == {"table3.md", "table3.csv"}
    text = (tmp_path / "table3.md").read_text()
    assert "| Only Comp | 71.00% (paper 85.66%, -14.66 pts) | 0.0400 (paper 0.032, +0.0080) |" in text
    assert "| NA1 |" not in text  # a case run at no rate gets no row
    assert "Codecs trained for 6 epochs (the paper: 25)" in text
    assert "8 bits/digit: NA2 accuracy 74.00% is above only-compression (71.00%); its MSE 0.0430 is higher (0.0400)." in text
    assert "12 bits/digit: NA2 accuracy 79.00% is not above only-compression (80.00%); its MSE 0.0290 is not higher" in text
    with open(tmp_path / "table3.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["case"], r["bits_per_digit"]) for r in rows} == {
        ("original", "8"), ("original", "12"), ("only_compression", "8"), ("NA2", "8"),
        ("only_compression", "12"), ("NA2", "12")}
