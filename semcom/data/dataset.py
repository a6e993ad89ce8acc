"""MNIST and Fashion-MNIST: where to find them, how to check them, how to load them.

:func:`load_dataset` looks for the four IDX files of a dataset, in this order:

1. ``path`` (e.g. from ``--data FOLDER`` or ``dataset.path`` in a scenario):
   a folder holding the files directly (a folder holding a ``<name>/``
   subfolder with them is accepted too).  If given and incomplete, the load
   fails right away: an explicit choice never silently falls through;
2. ``$SEMCOM_DATA/<name>/``;
3. the per-user cache ``<cache_dir>/<name>/``, ``cache_dir`` defaulting to
   ``$XDG_CACHE_HOME/semcom/datasets`` (``~/.cache/semcom/datasets``);
4. the spec's system folders (``/usr/share/datasets/fashion-mnist`` from the
   Debian/Ubuntu package ``dataset-fashion-mnist``).

If none holds all four files and ``download`` is true, the missing official
files are downloaded into the cache (MD5-verified, atomic).  Each file is
accepted gzip-compressed (official name) or uncompressed (name without
``.gz``).

Every file is checked against the official release: its status is
``"official"`` (MD5 of the file equals the official MD5, or its decompressed
IDX content equals the official content), ``"subset"`` (a known, documented
subset of an official file, e.g. the first 19,690 MNIST training images) or
``"unverified"``.  Anything not official is reported in ``Dataset.notes``
and logged as a warning on the ``semcom.data`` logger.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Optional, Union

import numpy as np

from . import download as _download
from .idx import IdxFormatError, read_idx
from .locate import _describe, _find_files, _missing_names, _not_found_message, default_cache_dir
from .registry import (ROLES, STATUS_OFFICIAL, STATUS_UNVERIFIED, DatasetError,
                       DatasetNotFoundError, DatasetSpec, get_spec)
from .verify import _REPACKED, _check_array, _file_digests, _verify

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = logging.getLogger("semcom.data")

PathLike = Union[str, "os.PathLike[str]"]

@dataclass
class Dataset:
    """A loaded dataset: arrays plus where they came from and how trustworthy they are.

    Images are ``uint8`` arrays of shape (N, 28, 28); labels are ``int64``
    arrays of shape (N,).  ``files``, ``checksums`` (SHA-256 of each file as
    stored) and ``status`` are keyed by role (see :data:`ROLES`).
    """

    name: str
    train_images: np.ndarray = field(repr=False)
    train_labels: np.ndarray = field(repr=False)
    test_images: np.ndarray = field(repr=False)
    test_labels: np.ndarray = field(repr=False)
    source: Path
    files: dict[str, Path]
    checksums: dict[str, str]
    status: dict[str, str]
    notes: list[str] = field(default_factory=list)
    spec: Optional[DatasetSpec] = field(default=None, repr=False, compare=False)

    @property
    def n_train(self) -> int:
        return int(self.train_images.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.test_images.shape[0])

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes if self.spec else 10

    @property
    def class_names(self) -> tuple[str, ...]:
        if self.spec and self.spec.class_names:
            return self.spec.class_names
        return tuple(str(i) for i in range(self.num_classes))

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train_images.shape[1:])

    @property
    def is_official(self) -> bool:
        return all(s == STATUS_OFFICIAL for s in self.status.values())

    def _split_status(self, split: str) -> str:
        a, b = self.status.get(f"{split}_images", "?"), self.status.get(f"{split}_labels", "?")
        return a if a == b else f"images {a}, labels {b}"

    def summary(self) -> str:
        """One line: name, sizes, per-split status, source folder."""
        h, w = self.image_shape
        notes = f"; {len(self.notes)} note(s)" if self.notes else ""
        return (
            f"{self.name}: {self.n_train} train ({self._split_status('train')}) + "
            f"{self.n_test} test ({self._split_status('test')}) images {h}x{w}, "
            f"{self.num_classes} classes, from {self.source}{notes}"
        )


def _load_from(spec: DatasetSpec, folder: Path, files: Mapping[str, Path]) -> Dataset:
    arrays: dict[str, np.ndarray] = {}
    checksums: dict[str, str] = {}
    status: dict[str, str] = {}
    notes: list[tuple[int, str]] = []
    repacked: list[str] = []
    for role in ROLES:
        path = files[role]
        try:
            md5, sha = _file_digests(path)
            arr = read_idx(path)
        except IdxFormatError as exc:
            raise DatasetError(f"{spec.name} {role}: {exc}") from exc
        except OSError as exc:
            raise DatasetError(f"{spec.name} {role}: cannot read {path}: {exc}") from exc
        _check_array(spec, role, path, arr)
        st, note, level = _verify(spec, role, path, md5, sha, arr)
        arrays[role], checksums[role], status[role] = arr, sha, st
        if note == _REPACKED:
            repacked.append(path.name)
        elif note:
            notes.append((level, note))
        if st == STATUS_UNVERIFIED:
            full = spec.full_counts.get(spec.split_of(role))
            if full is not None and arr.shape[0] != full:
                notes.append(
                    (
                        logging.WARNING,
                        f"{role}: {arr.shape[0]} items, the official release has {full}",
                    )
                )
    for split in ("train", "test"):
        ni, nl = arrays[f"{split}_images"].shape[0], arrays[f"{split}_labels"].shape[0]
        if ni != nl:
            raise DatasetError(
                f"{spec.name}: {files[f'{split}_images']} holds {ni} images but "
                f"{files[f'{split}_labels']} holds {nl} labels"
            )
    if repacked:
        notes.append(
            (
                logging.INFO,
                "gzip container differs from the official download, IDX content identical "
                f"to the official release (verified by MD5): {', '.join(repacked)}",
            )
        )
    for level, note in notes:
        log.log(level, "%s: %s", spec.name, note)
    if all(s == STATUS_OFFICIAL for s in status.values()):
        log.info("%s: using official files at %s", spec.name, folder)
    else:
        log.info(
            "%s: using files at %s (%s)",
            spec.name,
            folder,
            ", ".join(f"{r}: {s}" for r, s in status.items()),
        )
    return Dataset(
        name=spec.name,
        train_images=arrays["train_images"],
        train_labels=arrays["train_labels"].astype(np.int64),
        test_images=arrays["test_images"],
        test_labels=arrays["test_labels"].astype(np.int64),
        source=folder,
        files=dict(files),
        checksums=checksums,
        status=status,
        notes=[n for _, n in notes],
        spec=spec,
    )


def load_dataset(
    name: str,
    path: Optional[PathLike] = None,
    *,
    download: bool = True,
    cache_dir: Optional[PathLike] = None,
) -> Dataset:
    """Find, check and load a dataset (see the module docstring for the search order).

    ``path``: folder holding the four files (or a ``<name>/`` subfolder with
    them); if given, nothing else is searched.  ``cache_dir``: root of the
    download cache (files go to ``<cache_dir>/<name>/``).

    Raises :class:`DatasetNotFoundError` when the files cannot be found or
    downloaded, :class:`DatasetError` for an unknown name or malformed or
    inconsistent files.
    """
    spec = get_spec(name)
    if path is not None:
        return _load_given_folder(spec, Path(path).expanduser())
    cache = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()) / spec.name
    found = _search(spec, cache)
    if isinstance(found, Dataset):
        return found
    if not download:
        raise DatasetNotFoundError(_not_found_message(spec, found.searched, "disabled (download=False)"))
    return _download_into_cache(spec, cache, found)


def _load_given_folder(spec: DatasetSpec, folder: Path) -> Dataset:
    """An explicit folder (``--data``) is the only place looked at: incomplete means an error, never a fallback."""
    if folder.exists() and not folder.is_dir():
        raise DatasetNotFoundError(f"dataset {spec.name!r}: the data path given (--data / dataset.path) "
                                   f"{folder} is a file, not a folder; give the folder holding the four files")
    found, missing = _find_files(folder, spec)
    if not missing:
        return _load_from(spec, folder, found)
    sub_found, sub_missing = _find_files(folder / spec.name, spec)
    if not sub_missing:
        return _load_from(spec, folder / spec.name, sub_found)
    where = f"folder {folder} does not exist" if not folder.is_dir() else f"missing in {folder}"
    # one line: the CLI prints it as is
    raise DatasetNotFoundError(
        f"dataset {spec.name!r}: the data folder given (--data / dataset.path) is "
        f"incomplete: {where}: {_missing_names(spec, missing)} "
        f"(each also accepted uncompressed, without .gz)"
        + (f"; or {spec.install_hint}" if spec.install_hint else "")
    )


class _NotFound(NamedTuple):
    """What a search that found no complete folder leaves for the download and the error message."""

    cache_found: dict[str, Path]  # files the cache already holds
    cache_missing: list[str]  # roles a download must fetch
    searched: list[str]  # one line per place looked at


def _search(spec: DatasetSpec, cache: Path) -> Dataset | _NotFound:
    """$SEMCOM_DATA, the cache, the system folders: the first complete one is loaded."""
    candidates: list[tuple[str, Path]] = []
    env = os.environ.get("SEMCOM_DATA", "")
    searched: list[str] = []
    if env:
        candidates.append(("$SEMCOM_DATA", Path(env).expanduser() / spec.name))
    else:
        searched.append("$SEMCOM_DATA: not set")
    candidates.append(("cache", cache))
    candidates.extend(("system", Path(d)) for d in spec.system_dirs)

    cache_found: dict[str, Path] = {}
    cache_missing: list[str] = list(ROLES)
    for label, folder in candidates:
        found, missing = _find_files(folder, spec)
        if not missing:
            return _load_from(spec, folder, found)
        if folder.is_dir() and found:
            log.warning(
                "%s: %s folder %s is incomplete (missing %s), skipped",
                spec.name,
                label,
                folder,
                ", ".join(spec.files[r] for r in missing),
            )
        if label == "cache":
            cache_found, cache_missing = found, missing
        searched.append(_describe(label, folder, spec, missing))
    return _NotFound(cache_found, cache_missing, searched)


def _download_into_cache(spec: DatasetSpec, cache: Path, found: _NotFound) -> Dataset:
    """Fetch the files the cache lacks; on failure leave no empty cache folder behind."""
    failures: list[str] = []
    cache_existed = cache.is_dir()
    cache_found = dict(found.cache_found)
    for role in found.cache_missing:
        dest = cache / spec.files[role]
        log.info("%s: downloading %s into %s", spec.name, spec.files[role], cache)
        try:
            cache_found[role] = _download.download_file(spec.urls(role), dest, spec.md5[role])
        except OSError as exc:  # DownloadError, or the cache folder is not writable
            failures.append(str(exc))
            break
    if not failures:
        return _load_from(spec, cache, cache_found)
    if not cache_existed:
        try:
            cache.rmdir()
        except OSError:
            pass
    raise DatasetNotFoundError(_not_found_message(spec, found.searched, "failed: " + "; ".join(failures)))


def train_val_split(
    n: int, val_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into (train indices, validation indices).

    Deterministic: a ``numpy.random.default_rng(seed).permutation(n)``; the
    first ``round(n * val_fraction)`` positions are the validation set.  Both
    index arrays are sorted (int64), disjoint, and together cover ``range(n)``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float, np.floating, np.integer)):
        raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}")
    vf = float(val_fraction)
    if not (0.0 <= vf < 1.0) or math.isnan(vf):
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    n = int(n)
    n_val = int(round(n * vf))
    perm = np.random.default_rng(seed).permutation(n)
    val = np.sort(perm[:n_val]).astype(np.int64)
    train = np.sort(perm[n_val:]).astype(np.int64)
    return train, val


def to_float_tensor(images: np.ndarray) -> "torch.Tensor":
    """uint8 images (N, H, W) -> float32 tensor in [0, 1] of shape (N, 1, H, W).

    A single (H, W) image gives (1, 1, H, W); (N, 1, H, W) is kept.  Float
    input is taken as already scaled and must lie in [0, 1].
    """
    import torch  # lazy: the data module must import without torch

    arr = np.asarray(images)
    if arr.ndim == 2:
        arr = arr[None, None]
    elif arr.ndim == 3:
        arr = arr[:, None]
    elif not (arr.ndim == 4 and arr.shape[1] == 1):
        raise ValueError(f"expected images of shape (N, H, W), got {arr.shape}")
    if arr.dtype == np.uint8:
        t = torch.from_numpy(np.ascontiguousarray(arr)).to(torch.float32).div_(255.0)
    elif arr.dtype.kind == "f":
        if arr.size and (float(np.nanmin(arr)) < 0.0 or float(np.nanmax(arr)) > 1.0 or np.isnan(arr).any()):
            raise ValueError("float images must lie in [0, 1]")
        t = torch.from_numpy(np.array(arr, dtype=np.float32, copy=True))
    else:
        raise TypeError(f"expected uint8 or float images, got {arr.dtype}")
    return t


def dataset_fingerprint(ds: Dataset) -> dict[str, Any]:
    """JSON-ready record of exactly which data a run used (for manifests)."""
    arrays = {
        "train_images": ds.train_images,
        "train_labels": ds.train_labels,
        "test_images": ds.test_images,
        "test_labels": ds.test_labels,
    }
    return {
        "name": ds.name,
        "source": str(ds.source),
        "files": {
            role: {
                "file": Path(ds.files[role]).name,
                "sha256": ds.checksums[role],
                "status": ds.status[role],
                "count": int(arrays[role].shape[0]),
            }
            for role in ROLES
        },
        "counts": {"train": ds.n_train, "test": ds.n_test},
        "official": ds.is_official,
        "notes": list(ds.notes),
    }
