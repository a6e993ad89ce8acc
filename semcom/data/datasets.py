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

import hashlib
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

import numpy as np

from ..errors import SemcomError
from . import download as _download
from .idx import IDX_TYPES, IdxFormatError, idx_header, read_idx

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "ROLES",
    "KnownSubset",
    "DatasetSpec",
    "DATASETS",
    "Dataset",
    "DatasetError",
    "DatasetNotFoundError",
    "get_spec",
    "default_cache_dir",
    "load_dataset",
    "train_val_split",
    "to_float_tensor",
    "dataset_fingerprint",
]

log = logging.getLogger("semcom.data")

PathLike = Union[str, "os.PathLike[str]"]

#: the four files of every dataset, in canonical order
ROLES: tuple[str, ...] = ("train_images", "train_labels", "test_images", "test_labels")

STATUS_OFFICIAL = "official"
STATUS_SUBSET = "subset"
STATUS_UNVERIFIED = "unverified"


class DatasetError(SemcomError):
    """A dataset is unknown, inconsistent or malformed (the message names the file)."""


class DatasetNotFoundError(DatasetError):
    """The files of a dataset could not be found (nor downloaded)."""


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class KnownSubset:
    """A file known to be a documented subset of an official file.

    ``sha256`` is that of the file as stored (a gzip file and its
    uncompressed form are listed as two entries).
    """

    role: str
    sha256: str
    n_items: int
    note: str


def _frozen_map(m: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(m))


@dataclass(frozen=True)
class DatasetSpec:
    """Static description of a dataset and its official release."""

    name: str
    #: role -> official (gzip) file name
    files: Mapping[str, str] = field(hash=False)
    #: role -> official MD5 of that gzip file
    md5: Mapping[str, str] = field(hash=False)
    #: base URLs; a file's URL is base + official file name
    mirrors: tuple[str, ...] = ()
    image_shape: tuple[int, int] = (28, 28)
    num_classes: int = 10
    class_names: tuple[str, ...] = ()
    #: expected item counts of the full release: {"train": ..., "test": ...}
    full_counts: Mapping[str, int] = field(default_factory=dict, hash=False)
    #: role -> MD5 of the official *decompressed* IDX file, where known
    raw_md5: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: folders where an OS package may have installed the files
    system_dirs: tuple[str, ...] = ()
    known_subsets: tuple[KnownSubset, ...] = ()
    #: one line shown in "not found" errors (e.g. an apt-get command)
    install_hint: str = ""
    homepage: str = ""
    license: str = ""

    def __post_init__(self) -> None:
        for attr in ("files", "md5", "full_counts", "raw_md5"):
            object.__setattr__(self, attr, _frozen_map(getattr(self, attr)))
        for attr in ("mirrors", "class_names", "system_dirs", "known_subsets"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        missing = [r for r in ROLES if r not in self.files or r not in self.md5]
        if missing:
            raise ValueError(f"DatasetSpec {self.name!r}: no file name / md5 for {missing}")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"DatasetSpec {self.name!r}: {len(self.class_names)} class names "
                f"for {self.num_classes} classes"
            )

    def candidate_names(self, role: str) -> tuple[str, ...]:
        """File names accepted for ``role``: the official gzip name first,
        then the uncompressed name (and its ``name.idxN-ubyte`` spelling)."""
        official = self.files[role]
        raw = official[:-3] if official.endswith(".gz") else official
        names = [official, raw]
        dotted = raw.replace("-idx", ".idx", 1)
        if dotted != raw:
            names.append(dotted)
        return tuple(dict.fromkeys(names))

    def urls(self, role: str) -> list[str]:
        return [m.rstrip("/") + "/" + self.files[role] for m in self.mirrors]

    def split_of(self, role: str) -> str:
        return role.split("_", 1)[0]


_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

_MNIST_SUBSET_NOTE_IMAGES = "first 19,690 of the 60,000 official MNIST training images"
_MNIST_SUBSET_NOTE_LABELS = "first 19,690 of the 60,000 official MNIST training labels"

MNIST = DatasetSpec(
    name="mnist",
    files=_MNIST_FILES,
    md5={
        "train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
        "test_images": "9fb629c4189551a2d022fa330f9573f3",
        "test_labels": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    image_shape=(28, 28),
    num_classes=10,
    class_names=tuple(str(d) for d in range(10)),
    full_counts={"train": 60000, "test": 10000},
    # MD5 of the decompressed official files: a recompressed gzip (other header,
    # other compression level) is still the official release by content.
    raw_md5={
        "train_images": "6bbc9ace898e44ae57da46a324031adb",
        "train_labels": "a25bea736e30d166cdddb491f175f624",
        "test_images": "2646ac647ad5339dbf082846283269ea",
        "test_labels": "27ae3e4e09519cfbb04c329615203637",
    },
    known_subsets=(
        KnownSubset(
            "train_images",
            "af7b408284bb4e013e50d6b8366d1a860764683916c78dd3cf7adf0e91672373",
            19690,
            _MNIST_SUBSET_NOTE_IMAGES,
        ),
        KnownSubset(
            "train_labels",
            "02eae816f7601595b25ce09124c8c0e610359cc8bf80674bc1e0d13986d8f313",
            19690,
            _MNIST_SUBSET_NOTE_LABELS,
        ),
        # the same two subsets, uncompressed
        KnownSubset(
            "train_images",
            "8aaa4d3cb30af79cbf6d27457b4496157003df14b08d7c423799b933e0b4a8aa",
            19690,
            _MNIST_SUBSET_NOTE_IMAGES,
        ),
        KnownSubset(
            "train_labels",
            "f75aa630074fb1d8a84e8b943ce744defe33b2269c60d6085ab424f61938d060",
            19690,
            _MNIST_SUBSET_NOTE_LABELS,
        ),
    ),
    homepage="http://yann.lecun.com/exdb/mnist/",
    license="CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. J. C. Burges)",
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    files=dict(_MNIST_FILES),
    md5={
        "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
        "test_images": "bef4ecab320f06d8554ea6380940ec79",
        "test_labels": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    image_shape=(28, 28),
    num_classes=10,
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    full_counts={"train": 60000, "test": 10000},
    # MD5 of the decompressed official files.  The Debian package's gzip files
    # differ from the official ones only in the gzip header (file name and
    # mtime stripped by strip-nondeterminism): restoring the original header
    # reproduces the official MD5 of all four files, so these are the
    # official contents.
    raw_md5={
        "train_images": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train_labels": "9018921c3c673c538a1fc5bad174d6f9",
        "test_images": "8181f5470baa50b63fa0f6fddb340f0a",
        "test_labels": "15d484375f8d13e6eb1aabb0c3f46965",
    },
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    install_hint=(
        "on Debian/Ubuntu: apt-get install dataset-fashion-mnist "
        "(installs to /usr/share/datasets/fashion-mnist)"
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    license="MIT (Zalando SE)",
)

#: known datasets by name
DATASETS: dict[str, DatasetSpec] = {MNIST.name: MNIST, FASHION_MNIST.name: FASHION_MNIST}


def get_spec(name: str) -> DatasetSpec:
    """The spec of a known dataset (``fashion_mnist`` and case variants accepted)."""
    key = str(name).strip().lower().replace("_", "-")
    try:
        return DATASETS[key]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r}: known datasets are {', '.join(sorted(DATASETS))}"
        ) from None


# --------------------------------------------------------------------------- Dataset


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


# --------------------------------------------------------------------------- helpers


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/semcom/datasets`` (default ``~/.cache/semcom/datasets``)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "semcom" / "datasets"


def _find_files(folder: Path, spec: DatasetSpec) -> tuple[dict[str, Path], list[str]]:
    """Return (role -> existing file, missing roles) for one folder."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for role in ROLES:
        for fname in spec.candidate_names(role):
            p = folder / fname
            if p.is_file():
                found[role] = p
                break
        else:
            missing.append(role)
    return found, missing


def _missing_names(spec: DatasetSpec, roles: Sequence[str]) -> str:
    return ", ".join(spec.files[r] for r in roles)


def _file_digests(path: Path) -> tuple[str, str]:
    """(md5, sha256) of a file, in one pass."""
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


def _content_digest(arr: np.ndarray, algo: str) -> str:
    """Digest of the uncompressed IDX file that ``arr`` was read from."""
    h = hashlib.new(algo)
    header = idx_header(arr)
    h.update(header)
    stored = np.ascontiguousarray(arr, dtype=IDX_TYPES[header[2]][0])
    h.update(stored.reshape(-1).view(np.uint8).data)
    return h.hexdigest()


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


_REPACKED = "<repacked>"  # marker: official content in a non-official gzip container


def _verify(
    spec: DatasetSpec, role: str, path: Path, md5: str, sha: str, arr: np.ndarray
) -> tuple[str, Optional[str], int]:
    """Return (status, note or None, log level of the note)."""
    if md5 == spec.md5[role]:
        return STATUS_OFFICIAL, None, logging.INFO
    gz = _is_gzip(path)
    raw_md5 = spec.raw_md5.get(role)
    if raw_md5 is not None:
        content_md5 = _content_digest(arr, "md5") if gz else md5
        if content_md5 == raw_md5:
            # a recompressed / header-normalised gzip (e.g. the Debian package)
            return STATUS_OFFICIAL, _REPACKED if gz else None, logging.INFO
    subsets = [s for s in spec.known_subsets if s.role == role]
    if subsets:
        content_sha = _content_digest(arr, "sha256") if gz else sha
        for s in subsets:
            if s.sha256 in (sha, content_sha) and s.n_items == arr.shape[0]:
                return STATUS_SUBSET, f"{role}: known subset: {s.note}", logging.WARNING
    return (
        STATUS_UNVERIFIED,
        f"{role}: checksum matches no known release (unverified): {path}",
        logging.WARNING,
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


def _check_array(spec: DatasetSpec, role: str, path: Path, arr: np.ndarray) -> None:
    if role.endswith("_images"):
        if arr.ndim != 3 or tuple(arr.shape[1:]) != tuple(spec.image_shape):
            raise DatasetError(
                f"{spec.name} {role}: {path} has shape {arr.shape}, expected "
                f"N x {' x '.join(str(d) for d in spec.image_shape)} images"
            )
        if arr.dtype != np.uint8:
            raise DatasetError(f"{spec.name} {role}: {path} holds {arr.dtype} pixels, expected uint8")
    else:
        if arr.ndim != 1:
            raise DatasetError(
                f"{spec.name} {role}: {path} has shape {arr.shape}, expected a 1-D label vector"
            )
        if arr.dtype.kind not in "iu":
            raise DatasetError(f"{spec.name} {role}: {path} holds {arr.dtype} labels, expected integers")
        if arr.size:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < 0 or hi >= spec.num_classes:
                raise DatasetError(
                    f"{spec.name} {role}: {path} has labels in [{lo}, {hi}], "
                    f"expected [0, {spec.num_classes - 1}]"
                )


def _not_found_message(
    spec: DatasetSpec, searched: Sequence[str], download_note: str
) -> str:
    needed = ", ".join(spec.files[r] for r in ROLES)
    fix = (
        f"fix: pass --data FOLDER (or dataset.path in the scenario) naming a folder with "
        f"these files, or set SEMCOM_DATA=ROOT with the files in ROOT/{spec.name}/"
    )
    if spec.install_hint:
        fix += f", or {spec.install_hint}"
    lines = [
        f"dataset {spec.name!r} not found: need {needed} (gzip-compressed or uncompressed)",
        "searched:",
        *(f"  {s}" for s in searched),
        f"download: {download_note}",
        fix,
    ]
    return "\n".join(lines)


def _describe(label: str, folder: Path, spec: DatasetSpec, missing: Sequence[str]) -> str:
    if not folder.is_dir():
        return f"{label}: {folder} (no such folder)"
    if len(missing) == len(ROLES):
        return f"{label}: {folder} (none of the files)"
    return f"{label}: {folder} (missing {', '.join(spec.files[r] for r in missing)})"


# --------------------------------------------------------------------------- public API


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
        folder = Path(path).expanduser()
        if folder.exists() and not folder.is_dir():
            raise DatasetNotFoundError(f"dataset {spec.name!r}: the data path given (--data / dataset.path) "
                                       f"{folder} is a file, not a folder; give the folder holding the four files")
        found, missing = _find_files(folder, spec)
        if missing:
            sub_found, sub_missing = _find_files(folder / spec.name, spec)
            if not sub_missing:
                return _load_from(spec, folder / spec.name, sub_found)
            where = (
                f"folder {folder} does not exist" if not folder.is_dir() else f"missing in {folder}"
            )
            # one line: the CLI prints it as is
            raise DatasetNotFoundError(
                f"dataset {spec.name!r}: the data folder given (--data / dataset.path) is "
                f"incomplete: {where}: {_missing_names(spec, missing)} "
                f"(each also accepted uncompressed, without .gz)"
                + (f"; or {spec.install_hint}" if spec.install_hint else "")
            )
        return _load_from(spec, folder, found)

    candidates: list[tuple[str, Path]] = []
    env = os.environ.get("SEMCOM_DATA", "")
    searched: list[str] = []
    if env:
        candidates.append(("$SEMCOM_DATA", Path(env).expanduser() / spec.name))
    else:
        searched.append("$SEMCOM_DATA: not set")
    cache = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()) / spec.name
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

    if not download:
        note = "disabled (download=False)"
    else:
        failures: list[str] = []
        cache_existed = cache.is_dir()
        for role in cache_missing:
            dest = cache / spec.files[role]
            log.info("%s: downloading %s into %s", spec.name, spec.files[role], cache)
            try:
                cache_found[role] = _download.download_file(spec.urls(role), dest, spec.md5[role])
            except OSError as exc:  # DownloadError, or the cache folder is not writable
                failures.append(str(exc))
                break
        if not failures:
            return _load_from(spec, cache, cache_found)
        if not cache_existed:  # leave no empty folders behind
            try:
                cache.rmdir()
            except OSError:
                pass
        note = "failed: " + "; ".join(failures)
    raise DatasetNotFoundError(_not_found_message(spec, searched, note))


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
