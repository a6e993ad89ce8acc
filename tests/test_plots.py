import numpy as np

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
