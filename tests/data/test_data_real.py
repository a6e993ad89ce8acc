"""The real MNIST / Fashion-MNIST files, where present (skipped otherwise).

MNIST folder: ``$SEMCOM_TEST_DATA``, else ``<repo root>/../shared/data/mnist``.
Fashion-MNIST: the Debian package's ``/usr/share/datasets/fashion-mnist``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from semcom.data import DATASETS, ROLES, dataset_fingerprint, load_dataset
from semcom.data.idx import write_idx

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


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", path=MNIST_DIR, download=False)


@needs_mnist
def test_mnist_shared_folder_is_the_official_release(mnist):
    ds = mnist
    assert ds.n_train == 60000 and ds.n_test == 10000
    assert ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    # the training .gz files are recompressed: recognised as official by their content
    assert ds.status == {r: "official" for r in ROLES} and ds.is_official
    assert any("gzip container" in n and "train-images-idx3-ubyte.gz" in n for n in ds.notes)
    assert not any("subset" in n or "unverified" in n for n in ds.notes)
    # well-known facts about MNIST
    assert int(ds.test_labels[0]) == 7 and int(ds.train_labels[0]) == 5
    assert list(ds.train_labels[:5]) == [5, 0, 4, 1, 9]
    assert ds.train_images.dtype == np.uint8 and int(ds.train_images.max()) == 255
    assert int(ds.test_images.max()) == 255 and int(ds.train_images.min()) == 0
    # the official class counts (SOURCES.md)
    assert list(np.bincount(ds.test_labels, minlength=10)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert list(np.bincount(ds.train_labels, minlength=10)) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                                                 5851, 5949]
    fp = dataset_fingerprint(ds)
    assert fp["counts"] == {"train": 60000, "test": 10000} and fp["official"] is True
    assert "60000 train (official)" in ds.summary() and "10000 test (official)" in ds.summary()


@needs_mnist
def test_mnist_uncompressed_copy_is_official_by_md5(tmp_path, mnist):
    raw = {}
    for f in MNIST_FILES:
        raw[f] = gzip.decompress((MNIST_DIR / f).read_bytes())
        (tmp_path / f[:-3]).write_bytes(raw[f])
    # the uncompressed files are byte for byte the official ones (SOURCES.md)
    assert hashlib.md5(raw["train-images-idx3-ubyte.gz"]).hexdigest() == "6bbc9ace898e44ae57da46a324031adb"
    assert hashlib.md5(raw["train-labels-idx1-ubyte.gz"]).hexdigest() == "a25bea736e30d166cdddb491f175f624"
    ds = load_dataset("mnist", path=tmp_path, download=False)
    assert ds.status == {r: "official" for r in ROLES}
    assert not any("gzip container" in n for n in ds.notes)  # raw files: no container to mention
    np.testing.assert_array_equal(ds.test_images, mnist.test_images)
    np.testing.assert_array_equal(ds.train_images, mnist.train_images)


@needs_mnist
def test_the_older_19690_image_subset_is_still_recognised(tmp_path, mnist):
    """Copies of the earlier shared folder held the first 19,690 training images."""
    for f in MNIST_FILES[2:]:
        (tmp_path / f).symlink_to(MNIST_DIR / f)
    write_idx(tmp_path / "train-images-idx3-ubyte", mnist.train_images[:19690])
    write_idx(tmp_path / "train-labels-idx1-ubyte", mnist.train_labels[:19690].astype(np.uint8))
    ds = load_dataset("mnist", path=tmp_path, download=False)
    assert ds.status == {"train_images": "subset", "train_labels": "subset",
                         "test_images": "official", "test_labels": "official"}
    assert any("19,690" in n and "60,000" in n for n in ds.notes)
    assert list(np.bincount(ds.train_labels, minlength=10)) == [1955, 2248, 1901, 2048, 1919, 1738, 1940, 2067,
                                                                 1894, 1980]


@needs_mnist
def test_a_corrupted_training_file_is_not_official(tmp_path, mnist):
    for f in MNIST_FILES[1:]:
        (tmp_path / f).symlink_to(MNIST_DIR / f)
    images = mnist.train_images.copy()
    images[123, 14, 14] ^= 1  # one pixel
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    ds = load_dataset("mnist", path=tmp_path, download=False)
    assert ds.status["train_images"] == "unverified" and ds.status["train_labels"] == "official"
    assert not ds.is_official


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
