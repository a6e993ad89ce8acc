"""Downloading into the cache: md5 verification, mirror fallback, atomic placement (no network)."""

from __future__ import annotations

import hashlib
import io
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import semcom.data.download as dl
from semcom.data import DATASETS, ROLES, DatasetNotFoundError, DatasetSpec, load_dataset, write_idx
from semcom.data.download import DownloadError, download_file

NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
M1, M2 = "http://mirror-one.invalid/toy/", "http://mirror-two.invalid/toy/"


@pytest.fixture
def served(tmp_path):
    """Small synthetic official files, their bytes and md5s."""
    src = tmp_path / "upstream"
    src.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, 6, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, 4, dtype=np.uint8),
    }
    blobs = {r: write_idx(src / NAMES[r], arrays[r]).read_bytes() for r in ROLES}
    return arrays, blobs, {r: hashlib.md5(b).hexdigest() for r, b in blobs.items()}


class FakeServer:
    """Stands in for urllib.request.urlopen: url -> bytes, or an exception."""

    def __init__(self, routes, watch_dir: Path | None = None):
        self.routes = routes
        self.requested: list[str] = []
        self.watch_dir = watch_dir
        self.seen_during_transfer: list[list[str]] = []

    def __call__(self, req, timeout=None):
        url = req.full_url if hasattr(req, "full_url") else req
        assert timeout is not None and timeout <= 60  # short timeouts
        self.requested.append(url)
        body = self.routes.get(url)
        if body is None:
            raise urllib.error.URLError(f"no route to {url}")
        if isinstance(body, Exception):
            raise body
        server = self

        class Resp(io.BytesIO):
            def read(self, n=-1):
                # what is in the cache folder while bytes are still arriving?
                if server.watch_dir is not None and server.watch_dir.exists():
                    server.seen_during_transfer.append(sorted(p.name for p in server.watch_dir.iterdir()))
                return super().read(n)

        return Resp(body)


def _spec(md5s) -> DatasetSpec:
    return DatasetSpec(
        name="toy", files=dict(NAMES), md5=md5s, mirrors=(M1, M2), full_counts={"train": 6, "test": 4}
    )


def test_download_into_cache_atomically(tmp_path, monkeypatch, served):
    arrays, blobs, md5s = served
    monkeypatch.setitem(DATASETS, "toy", _spec(md5s))
    cache = tmp_path / "cache"
    server = FakeServer({M1 + NAMES[r]: blobs[r] for r in ROLES}, watch_dir=cache / "toy")
    monkeypatch.setattr(dl, "urlopen", server)
    ds = load_dataset("toy", cache_dir=cache)
    assert ds.source == cache / "toy"
    assert ds.status == {r: "official" for r in ROLES}
    np.testing.assert_array_equal(ds.train_images, arrays["train_images"])
    assert sorted(p.name for p in (cache / "toy").iterdir()) == sorted(NAMES.values())  # no temp files left
    for r in ROLES:
        assert (cache / "toy" / NAMES[r]).read_bytes() == blobs[r]
    # while a file was streaming, it existed only as a temporary ".part" file, never under its final name
    assert server.seen_during_transfer
    first = server.seen_during_transfer[0]
    assert NAMES["train_images"] not in first and any(n.endswith(".part") for n in first)
    assert server.requested == [M1 + NAMES[r] for r in ROLES]
    # second load: served from the cache, no network
    monkeypatch.setattr(dl, "urlopen", FakeServer({}))
    assert load_dataset("toy", cache_dir=cache).source == cache / "toy"


def test_only_missing_files_are_downloaded(tmp_path, monkeypatch, served):
    _, blobs, md5s = served
    monkeypatch.setitem(DATASETS, "toy", _spec(md5s))
    cache = tmp_path / "cache" / "toy"
    cache.mkdir(parents=True)
    for r in ("train_images", "train_labels"):
        (cache / NAMES[r]).write_bytes(blobs[r])
    server = FakeServer({M1 + NAMES[r]: blobs[r] for r in ROLES})
    monkeypatch.setattr(dl, "urlopen", server)
    load_dataset("toy", cache_dir=tmp_path / "cache")
    assert server.requested == [M1 + NAMES["test_images"], M1 + NAMES["test_labels"]]


def test_wrong_md5_falls_back_to_next_mirror(tmp_path, monkeypatch, served):
    _, blobs, md5s = served
    monkeypatch.setitem(DATASETS, "toy", _spec(md5s))
    routes = {M1 + NAMES[r]: b"<html>captive portal</html>" for r in ROLES}
    routes.update({M2 + NAMES[r]: blobs[r] for r in ROLES})
    server = FakeServer(routes)
    monkeypatch.setattr(dl, "urlopen", server)
    ds = load_dataset("toy", cache_dir=tmp_path / "cache")
    assert ds.status == {r: "official" for r in ROLES}
    assert server.requested[:2] == [M1 + NAMES["train_images"], M2 + NAMES["train_images"]]


def test_wrong_md5_everywhere_leaves_nothing(tmp_path, monkeypatch, served):
    _, blobs, md5s = served
    monkeypatch.setitem(DATASETS, "toy", _spec(md5s))
    bad = {M1 + NAMES[r]: blobs[r][:-1] + b"!" for r in ROLES}
    bad.update({M2 + NAMES[r]: b"garbage" for r in ROLES})
    monkeypatch.setattr(dl, "urlopen", FakeServer(bad))
    with pytest.raises(DatasetNotFoundError) as ei:
        load_dataset("toy", cache_dir=tmp_path / "cache")
    msg = str(ei.value)
    assert "md5" in msg and md5s["train_images"] in msg and "--data" in msg
    assert not (tmp_path / "cache" / "toy").exists() or not list((tmp_path / "cache" / "toy").iterdir())


def test_network_errors_are_reported(tmp_path, monkeypatch, served):
    _, _, md5s = served
    monkeypatch.setitem(DATASETS, "toy", _spec(md5s))
    routes = {M1 + NAMES["train_images"]: TimeoutError("timed out"),
              M2 + NAMES["train_images"]: urllib.error.URLError("Name or service not known")}
    monkeypatch.setattr(dl, "urlopen", FakeServer(routes))
    with pytest.raises(DatasetNotFoundError) as ei:
        load_dataset("toy", cache_dir=tmp_path / "cache")
    msg = str(ei.value)
    assert "timed out" in msg and "Name or service not known" in msg
    assert "SEMCOM_DATA" in msg and "--data" in msg


def test_download_false_never_touches_network(tmp_path, monkeypatch, served):
    _, _, md5s = served
    monkeypatch.setitem(DATASETS, "toy", _spec(md5s))

    def forbidden(*a, **k):  # pragma: no cover - must not be called
        raise AssertionError("network used although download=False")

    monkeypatch.setattr(dl, "urlopen", forbidden)
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        load_dataset("toy", download=False, cache_dir=tmp_path / "cache")


def test_download_file_interrupted_transfer_leaves_nothing(tmp_path, monkeypatch):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(4)

    monkeypatch.setattr(dl, "urlopen", lambda req, timeout=None: Broken(b"0123456789"))
    dest = tmp_path / "out" / "f.gz"
    with pytest.raises(DownloadError, match="connection reset by peer"):
        download_file(["http://a.invalid/f.gz"], dest, hashlib.md5(b"0123456789").hexdigest())
    assert list(dest.parent.iterdir()) == []


def test_download_file_success_and_replaces_existing(tmp_path, monkeypatch):
    payload = b"payload bytes" * 1000
    monkeypatch.setattr(dl, "urlopen", lambda req, timeout=None: io.BytesIO(payload))
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"stale")
    assert download_file(["http://a.invalid/f.bin"], dest, hashlib.md5(payload).hexdigest()) == dest
    assert dest.read_bytes() == payload
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
