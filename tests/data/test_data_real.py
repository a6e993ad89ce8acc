"""The real MNIST / Fashion-MNIST files, where present (skipped otherwise).

MNIST folder: ``$SEMCOM_TEST_DATA``, else ``<repo root>/../shared/data/mnist``.
Fashion-MNIST: the Debian package's ``/usr/share/datasets/fashion-mnist``.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from semcom.data import DATASETS, ROLES, dataset_fingerprint, load_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]


def _mnist_dir() -> Path:
    """$SEMCOM_TEST_DATA if it holds the files, else <repo root>/../shared/data/mnist."""
    env = os.environ.get("SEMCOM_TEST_DATA")
    if env and (Path(env) / "t10k-images-idx3-ubyte.gz").is_file():
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "mnist"


MNIST_DIR = _mnist_dir()
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

MNIST_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]

needs_mnist = pytest.mark.skipif(
    not all((MNIST_DIR / f).is_file() for f in MNIST_FILES),
    reason=f"MNIST files not found in {MNIST_DIR} (set SEMCOM_TEST_DATA to a folder holding them)",
)
needs_fashion = pytest.mark.skipif(
    not all((FASHION_DIR / f).is_file() for f in MNIST_FILES),
    reason=f"Fashion-MNIST not installed in {FASHION_DIR} (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    import semcom.data.download as dl

    monkeypatch.delenv("SEMCOM_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))

    def offline(*a, **k):
        raise dl.urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(dl, "urlopen", offline)


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", path=MNIST_DIR, download=False)


@needs_mnist
def test_mnist_shared_subset(mnist):
    ds = mnist
    assert ds.n_train == 19690 and ds.n_test == 10000
    assert ds.train_images.shape == (19690, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    assert ds.status["test_images"] == "official" and ds.status["test_labels"] == "official"
    assert ds.status["train_images"] == "subset" and ds.status["train_labels"] == "subset"
    assert any("19,690" in n and "60,000" in n for n in ds.notes)
    assert not ds.is_official
    # well-known facts about MNIST
    assert int(ds.test_labels[0]) == 7 and int(ds.train_labels[0]) == 5
    assert list(ds.train_labels[:5]) == [5, 0, 4, 1, 9]
    assert ds.train_images.dtype == np.uint8 and int(ds.train_images.max()) == 255
    assert int(ds.test_images.max()) == 255 and int(ds.train_images.min()) == 0
    # class counts: official test set, and the subset's as documented in SOURCES.md
    assert list(np.bincount(ds.test_labels, minlength=10)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert list(np.bincount(ds.train_labels, minlength=10)) == [1955, 2248, 1901, 2048, 1919, 1738, 1940, 2067, 1894, 1980]
    fp = dataset_fingerprint(ds)
    assert fp["files"]["train_images"]["sha256"] == "af7b408284bb4e013e50d6b8366d1a860764683916c78dd3cf7adf0e91672373"
    assert fp["counts"] == {"train": 19690, "test": 10000}
    assert "19690 train (subset)" in ds.summary() and "10000 test (official)" in ds.summary()


@needs_mnist
def test_mnist_uncompressed_copy_keeps_its_status(tmp_path, mnist):
    for f in MNIST_FILES:
        (tmp_path / f[:-3]).write_bytes(gzip.decompress((MNIST_DIR / f).read_bytes()))
    ds = load_dataset("mnist", path=tmp_path, download=False)
    assert ds.status == {"train_images": "subset", "train_labels": "subset",
                         "test_images": "official", "test_labels": "official"}
    np.testing.assert_array_equal(ds.test_images, mnist.test_images)


@needs_mnist
def test_mnist_found_via_semcom_data(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "mnist").mkdir(parents=True)
    for f in MNIST_FILES[2:]:
        shutil.copy(MNIST_DIR / f, root / "mnist" / f)
    for f in MNIST_FILES[:2]:  # symlinks are followed too
        (root / "mnist" / f).symlink_to(MNIST_DIR / f)
    monkeypatch.setenv("SEMCOM_DATA", str(root))
    ds = load_dataset("mnist", download=False, cache_dir=tmp_path / "cache")
    assert ds.source == root / "mnist" and ds.n_test == 10000


@needs_mnist
def test_mnist_recompressed_official_test_set_is_still_official(tmp_path):
    for f in MNIST_FILES[:3]:
        (tmp_path / f).symlink_to(MNIST_DIR / f)
    raw = gzip.decompress((MNIST_DIR / MNIST_FILES[3]).read_bytes())
    (tmp_path / MNIST_FILES[3]).write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    ds = load_dataset("mnist", path=tmp_path, download=False)
    assert ds.status["test_labels"] == "official"
    assert any("gzip container" in n for n in ds.notes)


@needs_fashion
def test_fashion_mnist_from_debian_package(tmp_path):
    ds = load_dataset("fashion-mnist", download=False, cache_dir=tmp_path / "empty-cache")
    assert ds.source == FASHION_DIR
    assert ds.n_train == 60000 and ds.n_test == 10000
    assert ds.status == {r: "official" for r in ROLES} and ds.is_official
    assert ds.train_images.dtype == np.uint8 and ds.train_images.shape[1:] == (28, 28)
    # Fashion-MNIST is exactly balanced
    assert list(np.bincount(ds.train_labels, minlength=10)) == [6000] * 10
    assert list(np.bincount(ds.test_labels, minlength=10)) == [1000] * 10
    assert ds.class_names == DATASETS["fashion-mnist"].class_names
    assert int(ds.test_labels[0]) == 9  # first test item: an ankle boot
