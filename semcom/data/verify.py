"""Is a file the official release? Digests of the file and of its IDX content, known subsets."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Optional

import numpy as np

from .idx import IDX_TYPES, idx_header
from .registry import STATUS_OFFICIAL, STATUS_SUBSET, STATUS_UNVERIFIED, DatasetError, DatasetSpec

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
