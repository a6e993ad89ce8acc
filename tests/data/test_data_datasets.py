"""Dataset resolution, verification and helpers, on small synthetic IDX files (no network)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semcom.data import (
    DATASETS,
    ROLES,
    Dataset,
    DatasetError,
    DatasetNotFoundError,
    DatasetSpec,
    KnownSubset,
    dataset_fingerprint,
    default_cache_dir,
    get_spec,
    load_dataset,
    to_float_tensor,
    train_val_split,
    write_idx,
)

NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def make_fake(folder: Path, n_train=6, n_test=4, *, gz=True, seed=0, roles=ROLES) -> dict[str, np.ndarray]:
    """Write small, valid MNIST-shaped IDX files into ``folder``; return the arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for role in roles:
        name = NAMES[role] if gz else NAMES[role][:-3]
        write_idx(folder / name, arrays[role])
    return arrays


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def no_system_dirs(monkeypatch, tmp_path):
    """Hide /usr/share/datasets/... so results do not depend on installed packages."""
    for name, spec in list(DATASETS.items()):
        monkeypatch.setitem(
            DATASETS, name, dataclasses.replace(spec, system_dirs=(str(tmp_path / "no-system" / name),))
        )


# ----------------------------------------------------------------------------- specs


def test_specs_are_complete():
    for name in ("mnist", "fashion-mnist"):
        spec = DATASETS[name]
        assert spec.name == name
        assert set(spec.files) == set(ROLES) == set(spec.md5)
        assert all(len(v) == 32 for v in spec.md5.values())
        assert spec.image_shape == (28, 28) and spec.num_classes == 10
        assert len(spec.class_names) == 10
        assert dict(spec.full_counts) == {"train": 60000, "test": 10000}
        assert spec.mirrors and all(m.startswith("http") and m.endswith("/") for m in spec.mirrors)
        assert spec.candidate_names("train_images")[:2] == (
            "train-images-idx3-ubyte.gz",
            "train-images-idx3-ubyte",
        )
    assert DATASETS["mnist"].md5["test_images"] == "9fb629c4189551a2d022fa330f9573f3"
    assert DATASETS["fashion-mnist"].md5["train_images"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert DATASETS["mnist"].class_names[0] == "0"
    assert DATASETS["fashion-mnist"].class_names[0] == "T-shirt/top"
    assert DATASETS["fashion-mnist"].class_names[9] == "Ankle boot"
    assert "/usr/share/datasets/fashion-mnist" in DATASETS["fashion-mnist"].system_dirs
    subsets = DATASETS["mnist"].known_subsets
    assert {s.role for s in subsets} == {"train_images", "train_labels"}
    assert all(s.n_items == 19690 and "19,690" in s.note for s in subsets)
    assert "af7b408284bb4e013e50d6b8366d1a860764683916c78dd3cf7adf0e91672373" in {s.sha256 for s in subsets}
    hash(DATASETS["mnist"])  # frozen specs are hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        DATASETS["mnist"].name = "x"  # type: ignore[misc]


def test_unknown_dataset_lists_known_names():
    with pytest.raises(DatasetError, match=r"unknown dataset 'cifar'.*fashion-mnist.*mnist"):
        load_dataset("cifar", download=False)
    assert get_spec("Fashion_MNIST").name == "fashion-mnist"


# ----------------------------------------------------------------------------- resolution order


def test_semcom_data_env_is_used(tmp_path, monkeypatch, no_system_dirs):
    arrays = make_fake(tmp_path / "root" / "mnist", n_train=7)
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "root"))
    ds = load_dataset("mnist", download=False)
    assert isinstance(ds, Dataset)
    assert ds.source == tmp_path / "root" / "mnist"
    assert ds.n_train == 7 and ds.n_test == 4
    np.testing.assert_array_equal(ds.train_images, arrays["train_images"])
    np.testing.assert_array_equal(ds.test_labels, arrays["test_labels"])
    assert ds.train_images.dtype == np.uint8 and ds.train_images.shape == (7, 28, 28)
    assert ds.files["test_images"] == tmp_path / "root" / "mnist" / "t10k-images-idx3-ubyte.gz"


def test_explicit_path_beats_env(tmp_path, monkeypatch, no_system_dirs):
    make_fake(tmp_path / "root" / "mnist", n_train=7)
    make_fake(tmp_path / "mine", n_train=3)
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "root"))
    ds = load_dataset("mnist", path=tmp_path / "mine", download=False)
    assert ds.source == tmp_path / "mine" and ds.n_train == 3


def test_explicit_path_may_be_a_root_with_dataset_subfolder(tmp_path):
    make_fake(tmp_path / "root" / "mnist", n_train=5)
    ds = load_dataset("mnist", path=str(tmp_path / "root"), download=False)
    assert ds.source == tmp_path / "root" / "mnist" and ds.n_train == 5


def test_incomplete_explicit_path_raises_and_does_not_fall_through(tmp_path, monkeypatch):
    make_fake(tmp_path / "root" / "mnist")  # a complete set elsewhere...
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "root"))
    make_fake(tmp_path / "partial", roles=("train_images", "train_labels"))
    with pytest.raises(DatasetNotFoundError) as ei:
        load_dataset("mnist", path=tmp_path / "partial")  # ...must not be used
    msg = str(ei.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "train-images-idx3-ubyte.gz" not in msg  # present ones are not "missing"
    assert str(tmp_path / "partial") in msg
    assert "\n" not in msg


def test_nonexistent_explicit_path(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset("mnist", path=tmp_path / "nowhere")


def test_not_found_message_explains_the_fix(tmp_path, no_system_dirs):
    with pytest.raises(DatasetNotFoundError) as ei:
        load_dataset("mnist", download=False, cache_dir=tmp_path / "empty-cache")
    msg = str(ei.value)
    for name in NAMES.values():
        assert name in msg
    assert "--data" in msg and "SEMCOM_DATA" in msg and "dataset.path" in msg
    assert str(tmp_path / "empty-cache" / "mnist") in msg  # the folders searched are listed
    assert "download=False" in msg
    assert 3 <= len(msg.splitlines()) <= 10


def test_not_found_fashion_mentions_debian_package(tmp_path, no_system_dirs):
    with pytest.raises(DatasetNotFoundError) as ei:
        load_dataset("fashion-mnist", download=False, cache_dir=tmp_path / "c")
    msg = str(ei.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert str(tmp_path / "no-system" / "fashion-mnist") in msg


def test_offline_download_failure_is_reported(tmp_path, no_system_dirs):
    with pytest.raises(DatasetNotFoundError) as ei:
        load_dataset("mnist", download=True, cache_dir=tmp_path / "c")
    msg = str(ei.value)
    assert "network disabled in tests" in msg and "--data" in msg and "SEMCOM_DATA" in msg
    assert not (tmp_path / "c" / "mnist").exists()  # nothing half-written, no empty folder left


def test_cache_dir_is_used(tmp_path, no_system_dirs):
    make_fake(tmp_path / "mycache" / "mnist", n_train=9)
    ds = load_dataset("mnist", download=False, cache_dir=tmp_path / "mycache")
    assert ds.source == tmp_path / "mycache" / "mnist" and ds.n_train == 9


def test_default_cache_follows_xdg(tmp_path, no_system_dirs):
    assert default_cache_dir() == tmp_path / "xdg-cache" / "semcom" / "datasets"
    make_fake(tmp_path / "xdg-cache" / "semcom" / "datasets" / "mnist", n_train=2)
    ds = load_dataset("mnist", download=False)
    assert ds.source == tmp_path / "xdg-cache" / "semcom" / "datasets" / "mnist"


def test_env_beats_cache_and_incomplete_env_falls_through(tmp_path, monkeypatch, caplog, no_system_dirs):
    make_fake(tmp_path / "cache" / "mnist", n_train=2)
    make_fake(tmp_path / "root" / "mnist", n_train=3)
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "root"))
    assert load_dataset("mnist", download=False, cache_dir=tmp_path / "cache").n_train == 3
    (tmp_path / "root" / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with caplog.at_level(logging.WARNING, logger="semcom.data"):
        ds = load_dataset("mnist", download=False, cache_dir=tmp_path / "cache")
    assert ds.n_train == 2
    assert any("incomplete" in r.getMessage() for r in caplog.records)


def test_system_dirs_are_searched_last(tmp_path, monkeypatch):
    sysdir = tmp_path / "usr-share" / "fashion-mnist"
    make_fake(sysdir, n_train=4)
    spec = dataclasses.replace(DATASETS["fashion-mnist"], system_dirs=(str(sysdir),))
    monkeypatch.setitem(DATASETS, "fashion-mnist", spec)
    assert load_dataset("fashion-mnist", download=False, cache_dir=tmp_path / "c").source == sysdir
    make_fake(tmp_path / "c" / "fashion-mnist", n_train=1)
    assert load_dataset("fashion-mnist", download=False, cache_dir=tmp_path / "c").n_train == 1


def test_uncompressed_file_names_accepted(tmp_path):
    arrays = make_fake(tmp_path / "raw", gz=False)
    ds = load_dataset("mnist", path=tmp_path / "raw", download=False)
    assert ds.files["train_images"].name == "train-images-idx3-ubyte"
    np.testing.assert_array_equal(ds.train_images, arrays["train_images"])


# ----------------------------------------------------------------------------- verification


def test_unverified_files_are_noted_and_logged(tmp_path, caplog):
    make_fake(tmp_path / "d")
    with caplog.at_level(logging.INFO, logger="semcom.data"):
        ds = load_dataset("mnist", path=tmp_path / "d")
    assert ds.status == {r: "unverified" for r in ROLES}
    assert any("train_images" in n and "unverified" in n for n in ds.notes)
    assert any("60000" in n for n in ds.notes)  # count differs from the official release
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "semcom.data"]
    assert any("unverified" in r.getMessage() for r in warned)
    assert ds.checksums["test_labels"] == sha256(tmp_path / "d" / "t10k-labels-idx1-ubyte.gz")
    assert not ds.is_official


def _toy_spec(folder: Path, **overrides) -> DatasetSpec:
    """A spec whose 'official' md5s are those of the files in ``folder``."""
    kw = dict(
        name="toy",
        files=dict(NAMES),
        md5={r: md5(folder / NAMES[r]) for r in ROLES},
        mirrors=("http://mirror-one.invalid/toy/", "http://mirror-two.invalid/toy/"),
        class_names=tuple("abcdefghij"),
        full_counts={"train": 6, "test": 4},
    )
    kw.update(overrides)
    return DatasetSpec(**kw)


def test_official_md5_gives_official_status(tmp_path, monkeypatch, caplog):
    make_fake(tmp_path / "toy")
    monkeypatch.setitem(DATASETS, "toy", _toy_spec(tmp_path / "toy"))
    with caplog.at_level(logging.INFO, logger="semcom.data"):
        ds = load_dataset("toy", path=tmp_path / "toy")
    assert ds.status == {r: "official" for r in ROLES} and ds.is_official
    assert ds.notes == []
    assert any("using official files at" in r.getMessage() and str(tmp_path / "toy") in r.getMessage()
               for r in caplog.records if r.levelno == logging.INFO)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert ds.class_names == tuple("abcdefghij")


def test_recompressed_official_content_is_official(tmp_path, monkeypatch):
    arrays = make_fake(tmp_path / "orig")
    raw_md5 = {r: hashlib.md5(gzip.decompress((tmp_path / "orig" / NAMES[r]).read_bytes())).hexdigest()
               for r in ROLES}
    monkeypatch.setitem(DATASETS, "toy", _toy_spec(tmp_path / "orig", raw_md5=raw_md5))
    # same content, different gzip container (level 1, other mtime) -> md5 of .gz differs
    re_dir = tmp_path / "repacked"
    re_dir.mkdir()
    for r in ROLES:
        raw = gzip.decompress((tmp_path / "orig" / NAMES[r]).read_bytes())
        (re_dir / NAMES[r]).write_bytes(gzip.compress(raw, compresslevel=1, mtime=12345))
        assert md5(re_dir / NAMES[r]) != DATASETS["toy"].md5[r]
    ds = load_dataset("toy", path=re_dir)
    assert ds.status == {r: "official" for r in ROLES}
    assert len(ds.notes) == 1 and "gzip container" in ds.notes[0]
    # uncompressed official content: official, no note
    make_fake(tmp_path / "raw", gz=False)
    ds_raw = load_dataset("toy", path=tmp_path / "raw")
    assert ds_raw.status == {r: "official" for r in ROLES} and ds_raw.notes == []
    np.testing.assert_array_equal(ds_raw.train_images, arrays["train_images"])
    # changed content: not official
    write_idx(re_dir / NAMES["test_labels"], arrays["test_labels"][::-1].copy(), compress=True)
    assert load_dataset("toy", path=re_dir).status["test_labels"] == "unverified"


def test_known_subset_status_and_note(tmp_path, monkeypatch, caplog):
    make_fake(tmp_path / "d", n_train=6)
    spec = _toy_spec(
        tmp_path / "d",
        md5={r: "0" * 32 for r in ROLES},
        known_subsets=(
            KnownSubset("train_images", sha256(tmp_path / "d" / NAMES["train_images"]), 6,
                        "first 6 of the 60 official toy images"),
        ),
    )
    monkeypatch.setitem(DATASETS, "toy", spec)
    with caplog.at_level(logging.WARNING, logger="semcom.data"):
        ds = load_dataset("toy", path=tmp_path / "d")
    assert ds.status["train_images"] == "subset"
    assert ds.status["train_labels"] == "unverified"
    assert "train_images: known subset: first 6 of the 60 official toy images" in ds.notes
    assert any("first 6 of the 60" in r.getMessage() for r in caplog.records)
    assert "subset" in ds.summary()


def test_known_subset_recognised_in_another_gzip_container(tmp_path, monkeypatch):
    make_fake(tmp_path / "d", n_train=6)
    raw = gzip.decompress((tmp_path / "d" / NAMES["train_labels"]).read_bytes())
    spec = _toy_spec(
        tmp_path / "d",
        md5={r: "0" * 32 for r in ROLES},
        known_subsets=(
            KnownSubset("train_labels", hashlib.sha256(raw).hexdigest(), 6, "first 6 toy labels"),
            KnownSubset("train_images", "f" * 64, 6, "never matches"),
        ),
    )
    monkeypatch.setitem(DATASETS, "toy", spec)
    (tmp_path / "d" / NAMES["train_labels"]).write_bytes(gzip.compress(raw, compresslevel=2, mtime=7))
    ds = load_dataset("toy", path=tmp_path / "d")
    assert ds.status["train_labels"] == "subset"
    assert ds.status["train_images"] == "unverified"
    # a subset entry only applies when the item count matches too
    spec2 = dataclasses.replace(
        spec, known_subsets=(KnownSubset("train_labels", hashlib.sha256(raw).hexdigest(), 7, "x"),)
    )
    monkeypatch.setitem(DATASETS, "toy", spec2)
    assert load_dataset("toy", path=tmp_path / "d").status["train_labels"] == "unverified"


def test_summary_and_fingerprint(tmp_path):
    make_fake(tmp_path / "d", n_train=6, n_test=4)
    ds = load_dataset("mnist", path=tmp_path / "d")
    s = ds.summary()
    assert "\n" not in s and "mnist" in s and "6 train" in s and "4 test" in s and str(tmp_path / "d") in s
    fp = dataset_fingerprint(ds)
    json.dumps(fp)  # manifest-ready
    assert fp["name"] == "mnist" and fp["counts"] == {"train": 6, "test": 4}
    for r in ROLES:
        assert fp["files"][r]["sha256"] == sha256(tmp_path / "d" / NAMES[r])
        assert fp["files"][r]["file"] == NAMES[r]
        assert fp["files"][r]["status"] == "unverified"
    assert fp["files"]["train_labels"]["count"] == 6 and fp["files"]["test_images"]["count"] == 4
    assert ds.train_labels.dtype == np.int64


# ----------------------------------------------------------------------------- consistency checks


def test_label_out_of_range(tmp_path):
    make_fake(tmp_path / "d")
    write_idx(tmp_path / "d" / NAMES["train_labels"], np.array([0, 1, 2, 10, 3, 4], np.uint8))
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte\.gz.*labels in \[0, 10\].*\[0, 9\]"):
        load_dataset("mnist", path=tmp_path / "d")


def test_count_mismatch(tmp_path):
    make_fake(tmp_path / "d", n_test=4)
    write_idx(tmp_path / "d" / NAMES["test_labels"], np.zeros(5, np.uint8))
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz holds 4 images.*t10k-labels-idx1-ubyte\.gz holds 5 labels"):
        load_dataset("mnist", path=tmp_path / "d")


def test_wrong_image_shape(tmp_path):
    make_fake(tmp_path / "d")
    write_idx(tmp_path / "d" / NAMES["train_images"], np.zeros((6, 27, 28), np.uint8))
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz has shape \(6, 27, 28\)"):
        load_dataset("mnist", path=tmp_path / "d")


def test_wrong_pixel_dtype(tmp_path):
    make_fake(tmp_path / "d")
    write_idx(tmp_path / "d" / NAMES["test_images"], np.zeros((4, 28, 28), np.float32))
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz holds float32 pixels"):
        load_dataset("mnist", path=tmp_path / "d")


def test_malformed_idx_becomes_dataset_error(tmp_path):
    make_fake(tmp_path / "d")
    p = tmp_path / "d" / NAMES["train_images"]
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz.*gzip"):
        load_dataset("mnist", path=tmp_path / "d")


def test_dataset_errors_are_semcom_errors():
    from semcom.errors import SemcomError

    assert issubclass(DatasetError, SemcomError) and issubclass(DatasetNotFoundError, DatasetError)


# ----------------------------------------------------------------------------- split and tensors


def test_train_val_split_deterministic_and_complete():
    tr, va = train_val_split(1000, 0.2, seed=3)
    tr2, va2 = train_val_split(1000, 0.2, seed=3)
    np.testing.assert_array_equal(tr, tr2)
    np.testing.assert_array_equal(va, va2)
    assert len(va) == 200 and len(tr) == 800
    assert np.all(np.diff(tr) > 0) and np.all(np.diff(va) > 0)  # sorted, no duplicates
    assert np.intersect1d(tr, va).size == 0
    np.testing.assert_array_equal(np.union1d(tr, va), np.arange(1000))
    expected_val = np.sort(np.random.default_rng(3).permutation(1000)[:200])
    np.testing.assert_array_equal(va, expected_val)
    _, va_other = train_val_split(1000, 0.2, seed=4)
    assert not np.array_equal(va, va_other)


def test_train_val_split_sizes_and_validation():
    assert [len(x) for x in train_val_split(19690, 0.1)] == [17721, 1969]
    assert [len(x) for x in train_val_split(10, 0.25)] == [8, 2]  # round(2.5) == 2
    tr, va = train_val_split(5, 0.0)
    assert len(va) == 0 and list(tr) == [0, 1, 2, 3, 4]
    assert [len(x) for x in train_val_split(0, 0.5)] == [0, 0]
    for bad in (1.0, -0.1, float("nan"), 2):
        with pytest.raises(ValueError, match="val_fraction"):
            train_val_split(10, bad)
    with pytest.raises(ValueError, match="n must be"):
        train_val_split(-1)


def test_to_float_tensor():
    import torch

    imgs = np.zeros((3, 28, 28), np.uint8)
    imgs[0, 0, 0] = 255
    imgs[1, 5, 7] = 51
    t = to_float_tensor(imgs)
    assert isinstance(t, torch.Tensor)
    assert t.shape == (3, 1, 28, 28) and t.dtype == torch.float32
    assert float(t[0, 0, 0, 0]) == 1.0 and abs(float(t[1, 0, 5, 7]) - 0.2) < 1e-7
    assert float(t.min()) == 0.0 and float(t.max()) == 1.0
    imgs[2, 0, 0] = 9  # the tensor does not alias the numpy input
    assert float(t[2, 0, 0, 0]) == 0.0
    assert to_float_tensor(imgs[0]).shape == (1, 1, 28, 28)
    with pytest.raises(TypeError):
        to_float_tensor(np.zeros((2, 28, 28), np.int32))


def test_data_module_imports_without_torch():
    code = (
        "import sys; import semcom.data, semcom.data.dataset, semcom.data.registry, semcom.data.verify, semcom.data.locate, semcom.data.idx; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
