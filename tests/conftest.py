"""Shared fixtures. Test data comes from SEMCOM_TEST_DATA, else ../shared/data/mnist beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def mnist_folder() -> Path | None:
    env = os.environ.get("SEMCOM_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data" / "mnist")
    for c in candidates:
        if (c / "t10k-images-idx3-ubyte.gz").exists():
            return c
    return None


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    folder = mnist_folder()
    if folder is None:
        pytest.skip("MNIST test data not found: set SEMCOM_TEST_DATA to a folder with the IDX files")
    return folder


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """Keep the user's caches out of tests: a private store and data cache."""
    monkeypatch.setenv("SEMCOM_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SEMCOM_DATA", raising=False)
    return tmp_path
