import numpy as np
import pytest

from semcom.app.plots import examples_grid, examples_mosaic


def test_examples_mosaic_places_each_digit_in_its_row_and_column():
    rng = np.random.default_rng(0)
    examples = {"original": rng.random((3, 784)), "empty": np.zeros((0, 784)), "codec|BSC(p=0.1)": rng.random((2, 784))}
    mosaic, names = examples_mosaic(examples)
    assert names == ["original", "codec|BSC(p=0.1)"]  # empty rows are skipped
    assert mosaic.shape == (2 * 30 - 2, 3 * 30 - 2)
    for r, name in enumerate(names):
        for c, image in enumerate(examples[name]):
            np.testing.assert_array_equal(mosaic[30 * r : 30 * r + 28, 30 * c : 30 * c + 28],
                                          image.reshape(28, 28).astype(np.float32))
    assert (mosaic[28:30, :] == 1).all() and (mosaic[:, 28:30] == 1).all()  # white gaps
    assert (mosaic[30:, 60:] == 1).all()  # the shorter row is padded white


def test_examples_grid_writes_each_format_and_skips_nothing_to_draw(tmp_path):
    examples = {"original": np.zeros((2, 784)), "c|Clean()": np.ones((2, 784))}
    paths = examples_grid(examples, tmp_path, ["png", "pdf"])
    assert [p.name for p in paths] == ["reconstructions.png", "reconstructions.pdf"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"
    assert examples_grid({"original": np.zeros((0, 784))}, tmp_path / "none", ["png"]) == []


def test_examples_grid_keeps_codecs_whole_and_names_those_left_out(tmp_path, drawn):
    examples = {"original": np.zeros((2, 784))}
    for codec in ("a", "b", "c"):
        for setting in ("clean", "BSC p=0.1", "BEC e=0.2"):
            examples[f"{codec}|{setting}"] = np.ones((2, 784))
    examples_grid(examples, tmp_path, ["png"], max_rows=8)  # room for the original and two codecs
    ax = drawn[0].axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["original", "a  clean", "a  BSC p=0.1", "a  BEC e=0.2", "b  clean", "b  BSC p=0.1", "b  BEC e=0.2"]
    assert ax.get_title().endswith("not shown (over 8 rows): c")
    drawn.clear()
    examples_grid(examples, tmp_path, ["png"])  # the default holds all three: nothing said missing
    assert len(drawn[0].axes[0].get_yticklabels()) == 10 and "not shown" not in drawn[0].axes[0].get_title()


def test_importing_the_plots_leaves_the_notebook_backend_alone():
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import semcom.app.plots, semcom.app.figstyle; "
            "print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "svg", out.stderr


@pytest.fixture
def drawn(monkeypatch):
    """The figures a plotting function draws, kept instead of saved."""
    from semcom.app import plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, *a, **k: figures.append(fig) or [])
    return figures


def _rows(spec):
    """spec: (codec, group, base, bits, channel, kind, param, value, seed, acc, mse)."""
    keys = ("codec", "codec_group", "codec_base", "bits_per_digit", "channel", "channel_kind", "param",
            "param_value", "seed", "accuracy", "mse")
    return [dict(zip(keys, s)) for s in spec]


def test_bars_are_training_seed_intervals_when_there_are_several_models():
    import math

    from scipy import stats

    from semcom.app.plots import aggregate

    rows = _rows([("a-s0", "a", "a", 8, "clean", "clean", "", math.nan, 0, 0.70, 0.04),
                  ("a-s0", "a", "a", 8, "clean", "clean", "", math.nan, 1, 0.72, 0.04),  # channel seeds pooled first
                  ("a-s1", "a", "a", 8, "clean", "clean", "", math.nan, 0, 0.75, 0.04),
                  ("a-s2", "a", "a", 8, "clean", "clean", "", math.nan, 0, 0.77, 0.04)])
    st = aggregate(rows, "accuracy")
    means = [0.71, 0.75, 0.77]
    assert st.n_models == 3 and st.mean == pytest.approx(np.mean(means))
    assert st.bar == pytest.approx(stats.t.ppf(0.975, 2) * np.std(means, ddof=1) / np.sqrt(3))
    single = aggregate(rows[:2], "accuracy")  # one model: ±1 std over its channel seeds
    assert single.n_models == 1 and single.bar == pytest.approx(np.std([0.70, 0.72], ddof=1))


def test_equal_values_over_channel_seeds_have_no_spread_and_tables_print_no_interval():
    """A clean channel gives every channel seed the same MSE; numpy's mean of three equal floats
    can round off them (std 4e-18 here), which the table printed as "0.0290 ±0.0000"."""
    import math

    from semcom.app.plots import aggregate
    from semcom.app.summary import _cell

    mse = 0.028977492302731285
    assert np.std([mse] * 3, ddof=1) > 0  # the rounding this guards against
    rows = _rows([("a", "a", "a", 12, "clean", "clean", "", math.nan, k, 0.8619, mse) for k in range(3)])
    st = aggregate(rows, "mse")
    assert st.bar == 0.0 and st.mean == pytest.approx(mse)
    assert _cell(st, "mse") == "0.0290"


def test_pareto_front_keeps_only_undominated_codecs():
    from semcom.app.plots import pareto_front

    pts = [(0.037, 75.0), (0.038, 69.0), (0.042, 86.0), (0.033, 88.9), (0.050, 71.0)]
    assert pareto_front(pts) == [(0.033, 88.9)]
    assert pareto_front([(0.03, 80.0), (0.04, 90.0), (0.05, 85.0)]) == [(0.03, 80.0), (0.04, 90.0)]


def test_codec_colours_and_markers_are_fixed_by_name_not_by_order():
    from semcom.app.figstyle import codec_colour, rate_marker

    assert codec_colour("NA2") == codec_colour("NA2") != codec_colour("NA3")
    assert codec_colour("some-new-codec") == codec_colour("some-new-codec")
    assert rate_marker(8) != rate_marker(12) and rate_marker(8.0) == rate_marker(8)


def test_single_valued_sweeps_get_bars_not_degenerate_curves(tmp_path):
    import math

    from semcom.app.plots import draw_run

    rows = _rows([("a", "a", "a", 8, "clean", "clean", "", math.nan, 0, 0.8, 0.04),
                  ("a", "a", "a", 8, "BSC p=0.002", "bsc", "p", 0.002, 0, 0.7, 0.05),
                  ("b", "b", "b", 8, "clean", "clean", "", math.nan, 0, 0.9, 0.03),
                  ("b", "b", "b", 8, "BSC p=0.002", "bsc", "p", 0.002, 0, 0.8, 0.04)])
    names = [p.name for p in draw_run(rows, None, tmp_path, ["png"])]
    assert "accuracy_vs_channel.png" not in names and "accuracy_by_channel.png" in names
    assert "accuracy_vs_mse.png" in names
    rows += _rows([("a", "a", "a", 8, "BSC p=0.01", "bsc", "p", 0.01, 0, 0.6, 0.06),
                   ("b", "b", "b", 8, "BSC p=0.01", "bsc", "p", 0.01, 0, 0.7, 0.05)])
    names = [p.name for p in draw_run(rows, None, tmp_path / "2", ["png"])]
    assert "accuracy_vs_channel.png" in names and "accuracy_by_channel.png" not in names


def test_bars_of_one_codec_at_two_rates_share_its_colour_and_differ_in_hatch(tmp_path, drawn):
    """Table 3 runs draw bars: only_compression-8b and -12b have one colour (one entry), so
    without a hatch the two bars could not be told apart."""
    import math

    from matplotlib.patches import Rectangle

    from semcom.app import plots

    rows = _rows([("oc-8b", "oc-8b", "oc", 8, "clean", "clean", "", math.nan, 0, 0.77, 0.037),
                  ("oc-12b", "oc-12b", "oc", 12, "clean", "clean", "", math.nan, 0, 0.86, 0.029),
                  ("na2-8b", "na2-8b", "na2", 8, "clean", "clean", "", math.nan, 0, 0.76, 0.043)])
    plots.metric_by_setting(rows, "accuracy", tmp_path, ["png"], "acc")
    bars = {round(p.get_height(), 6): p for p in drawn[0].axes[0].patches if isinstance(p, Rectangle)}
    oc8, oc12, na2 = bars[77.0], bars[86.0], bars[76.0]
    assert oc8.get_facecolor() == oc12.get_facecolor() != na2.get_facecolor()
    assert oc8.get_hatch() is None and na2.get_hatch() is None and oc12.get_hatch()


def test_reconstruction_grid_marks_exactly_the_misclassified_tiles():
    from semcom.app.plots import misclassified_tiles

    examples = {"original": np.zeros((3, 784)), "original#label": np.array([7, 2, 1]),
                "original#pred": np.array([7, 2, 1]), "c|clean": np.zeros((3, 784)), "c|clean#pred": np.array([7, 3, 1])}
    assert misclassified_tiles(examples, ["original", "c|clean"], 3) == [(1, 1)]


def test_a_runs_entries_never_share_a_colour_and_keep_it_across_its_figures(tmp_path):
    from semcom.app.figstyle import codec_colour, codec_colours, colour_table

    # the pilot_recipe names: under a hash of the name alone, L16 took only_compression's
    # blue and adam999 the same blue; sigma1 and lr1e3 shared a brown
    names = ["base", "L2", "L16", "sigma1", "noise", "lr1e3", "adam999", "NA2", "only_compression"]
    table = colour_table(names)
    assert len(set(table.values())) == len(names)
    assert table["NA2"] == codec_colour("NA2") and table["only_compression"] == codec_colour("only_compression")
    assert colour_table(reversed(names)) == table  # order of appearance does not matter
    with codec_colours(names):
        inside = {n: codec_colour(n) for n in names}
        with codec_colours(["L16"]):  # a figure drawn inside the run keeps the run's colours
            assert codec_colour("L16") == inside["L16"]
    assert inside == table


def test_a_long_sweep_of_one_parameter_is_tabulated_by_value_not_by_setting():
    from semcom.app.summary import pivot

    rows = [{"codec": "original", "accuracy": 0.99}]
    for codec in ("a", "b"):
        rows.append({"codec": codec, "codec_group": codec, "channel_kind": "clean", "channel": "clean",
                     "channel_label": "clean", "param": "", "param_value": float("nan"), "accuracy": 0.9,
                     "mse": 0.03, "bits_per_digit": 8, "seed": 0, "train_seed": ""})
        for fading in ("awgn", "rayleigh"):
            for snr in range(10):
                rows.append({"codec": codec, "codec_group": codec, "channel_kind": "coded",
                             "channel": f"coded SNR={snr} dB, fading={fading}",
                             "channel_label": f"coded SNR={snr} dB, fading={fading}",
                             "channel_group": f"coded fading={fading}", "channel_axis": "coded: Es/N0 (dB)",
                             "param": "snr_db", "param_value": float(snr), "accuracy": snr / 10 + (fading == "awgn") / 100,
                             "mse": 0.05, "bits_per_digit": 8, "seed": 0, "train_seed": ""})
    header, body, _ = pivot(rows)
    assert header[4:] == [f"acc. % Es/N0 (dB) = {v}" for v in range(10)]
    assert [line[0] for line in body] == ["a · coded fading=awgn", "a · coded fading=rayleigh",
                                          "b · coded fading=awgn", "b · coded fading=rayleigh"]
    assert body[0][3] == "90.00" and body[0][4 + 7] == "71.00" and body[1][4 + 7] == "70.00"


def test_interval_captions_name_each_codecs_number_of_training_seeds():
    from semcom.app.plots import Stat, training_seed_phrase

    assert training_seed_phrase([Stat(0.7, 0.01, 3, 1), Stat(0.8, 0.02, 3, 1)]) == "3 training seeds"
    assert training_seed_phrase([Stat(0.7, 0.01, 3, 1), Stat(0.8, 0.2, 2, 1)]) == "2–3 training seeds"
    mixed = training_seed_phrase([Stat(0.7, 0.01, 3, 2), Stat(0.8, 0.002, 1, 2)])
    assert mixed.startswith("3 training seeds") and "one trained model: ±1 std over channel seeds" in mixed
    # Table 3 runs use one channel draw: a one-model codec then has no bar at all, and the caption says so
    from semcom.app.plots import _bars_caption

    clean = [Stat(0.77, 0.014, 3, 1), Stat(0.86, 0.0, 1, 1)]
    assert "a codec with one trained model has no bar" in training_seed_phrase(clean)
    assert _bars_caption(clean).endswith("; one channel draw per model")
    assert _bars_caption([Stat(0.77, 0.014, 3, 2)]).endswith("each model averaged over 2 channel seeds")


def test_training_seeds_of_one_codec_share_its_colour_and_differ_in_line_style():
    from semcom.app.plots import history_styles

    rows = [{"codec": f"mse-{b}b-s{s}", "codec_group": f"mse-{b}b", "codec_base": "mse", "bits_per_digit": b}
            for b in (8, 12) for s in range(3)] + [{"codec": "NA2-8b-s0", "codec_group": "NA2-8b",
                                                    "codec_base": "NA2", "bits_per_digit": 8}]
    styles = history_styles(rows)
    for b in (8, 12):  # 12 bits draws seed 0 dashed: its other seeds must not be dashed as well
        seeds = [styles[f"mse-{b}b-s{s}"] for s in range(3)]
        assert len({s["color"] for s in seeds}) == 1 and seeds[0]["color"] != styles["NA2-8b-s0"]["color"]
        assert len({str(s["linestyle"]) for s in seeds}) == 3
    assert styles["NA2-8b-s0"]["linestyle"] == styles["mse-8b-s0"]["linestyle"]


def test_a_codec_trained_at_one_rate_is_a_marker_on_the_rate_figure(tmp_path, drawn):
    """Table 3 grows rate by rate: deep_feature at 8 bits only must still appear beside the
    codecs that have both rates, as a lone marker at its one rate."""
    import math

    from semcom.app import plots

    rows = _rows([("oc-8b", "oc-8b", "oc", 8, "clean", "clean", "", math.nan, 0, 0.77, 0.037),
                  ("oc-12b", "oc-12b", "oc", 12, "clean", "clean", "", math.nan, 0, 0.86, 0.029),
                  ("df-8b", "df-8b", "df", 8, "clean", "clean", "", math.nan, 0, 0.91, 0.040)])
    plots.metric_vs_rate(rows, "accuracy", tmp_path, ["png"], "acc")
    lines = {c.get_label(): c.lines[0] for c in drawn[0].axes[0].containers}
    assert list(lines["oc"].get_xdata()) == [8, 12] and list(lines["oc"].get_ydata()) == pytest.approx([77, 86])
    assert list(lines["df"].get_xdata()) == [8] and list(lines["df"].get_ydata()) == pytest.approx([91])


def test_a_bar_cut_at_100_percent_is_named_in_the_caption_and_an_uncut_one_is_not(tmp_path, drawn):
    """Two training seeds give t = 12.7: NA3-8b's interval reached past 100% and the figure drew
    the bar up to the axis bound, which reads as the interval's end unless the caption says so."""
    import math

    from semcom.app import plots

    def seeds(accs):
        return _rows([(f"na-8b-s{k}", "na-8b", "na", 8, "clean", "clean", "", math.nan, 0, a, 0.048)
                      for k, a in enumerate(accs)]
                     + [(f"oc-8b-s{k}", "oc-8b", "oc", 8, "clean", "clean", "", math.nan, 0, 0.77 + k / 1000, 0.037)
                        for k in range(3)])

    plots.accuracy_vs_mse(seeds([0.70, 0.78]), tmp_path, ["png"])  # 74% ± 50.8
    plots.metric_by_setting(seeds([0.70, 0.78]), "accuracy", tmp_path, ["png"], "acc")
    plots.accuracy_vs_mse(seeds([0.74, 0.75]), tmp_path, ["png"])  # ±6.4 points: inside 0-100%
    titles = [fig.axes[0].get_title() for fig in drawn]
    # captions wrap to the figure's width (3.5 in here), never one line wider than the figure
    assert max(len(line) for title in titles for line in title.split("\n")) <= 3.5 * 72 / (0.5 * 7 * 0.833)
    wide, bars, narrow = (" ".join(title.split()) for title in titles)
    assert "stop there" in wide and "stop there" in bars
    assert "stop there" not in narrow and "95% interval" in narrow
    caps = [c for c in drawn[0].axes[0].containers if c.get_label() == "na-8b"][0]
    assert max(caps.lines[2][1].get_segments()[0][:, 1]) == pytest.approx(100.0)  # the bar itself still stops at 100
