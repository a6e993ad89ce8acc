"""Reading and writing IDX files (the MNIST / Fashion-MNIST container format).

An IDX file is::

    2 zero bytes | 1 type-code byte | 1 byte ndim | ndim big-endian uint32 dims | data

with the data stored big-endian, C order.  Files are often gzip-compressed;
:func:`read_idx` detects that from the gzip magic bytes (``1f 8b``), not from
the file name.

Every way a file can be malformed (bad magic, unknown type code, truncated
header or data, trailing bytes, corrupt gzip stream) raises
:class:`IdxFormatError` with a one-line message that names the file.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Optional, Union

import numpy as np

__all__ = [
    "IDX_TYPES",
    "IdxFormatError",
    "idx_header",
    "read_idx",
    "write_idx",
]

PathLike = Union[str, "os.PathLike[str]"]

#: IDX type code -> (big-endian numpy dtype as stored, short name)
IDX_TYPES: dict[int, tuple[np.dtype, str]] = {
    0x08: (np.dtype("u1"), "uint8"),
    0x09: (np.dtype("i1"), "int8"),
    0x0B: (np.dtype(">i2"), "int16"),
    0x0C: (np.dtype(">i4"), "int32"),
    0x0D: (np.dtype(">f4"), "float32"),
    0x0E: (np.dtype(">f8"), "float64"),
}

# native dtype -> type code (for writing)
_CODE_FOR_DTYPE: dict[np.dtype, int] = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file (or its gzip stream is corrupt)."""


def _fmt_dims(dims: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in dims) if dims else "()"


def _parse_header(name: str, buf: bytes) -> tuple[np.dtype, str, tuple[int, ...], int]:
    """Parse the IDX header at the start of ``buf``.

    Returns (stored dtype, type name, dims, header length).
    """
    if len(buf) < 4:
        raise IdxFormatError(
            f"{name}: truncated IDX header: expected at least 4 bytes, found {len(buf)}"
        )
    magic = int.from_bytes(buf[:4], "big")
    if buf[0] != 0 or buf[1] != 0:
        raise IdxFormatError(
            f"{name}: bad IDX magic 0x{magic:08x}: expected two zero bytes then a type code"
        )
    code, ndim = buf[2], buf[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X} {n}" for c, (_, n) in IDX_TYPES.items())
        raise IdxFormatError(
            f"{name}: unknown IDX type code 0x{code:02X} (magic 0x{magic:08x}): expected one of {known}"
        )
    if ndim < 1:
        raise IdxFormatError(f"{name}: bad IDX header: ndim is 0, expected at least 1 dimension")
    header_len = 4 + 4 * ndim
    if len(buf) < header_len:
        raise IdxFormatError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header_len} header bytes, "
            f"found {len(buf)}"
        )
    dims = struct.unpack(f">{ndim}I", bytes(buf[4:header_len]))
    dtype, tname = IDX_TYPES[code]
    return dtype, tname, tuple(int(d) for d in dims), header_len


def _read_all(name: str, path: PathLike) -> bytearray:
    """Return the (decompressed) file content as a writable bytearray."""
    with open(path, "rb") as f:  # open errors (missing file, permissions) propagate unchanged
        head = f.read(2)
        f.seek(0)
        if head != _GZIP_MAGIC:
            size = os.fstat(f.fileno()).st_size
            buf = bytearray(size)
            n = f.readinto(buf)
            if n != size:  # file shrank while reading
                del buf[n:]
            return buf
        buf = bytearray()
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as gz:
                while True:
                    chunk = gz.read(_CHUNK)
                    if not chunk:
                        break
                    buf += chunk
        except (EOFError, zlib.error, OSError) as exc:  # gzip.BadGzipFile is an OSError
            detail = str(exc) or type(exc).__name__
            raise IdxFormatError(
                f"{name}: corrupt or truncated gzip stream ({type(exc).__name__}: {detail})"
            ) from exc
        return buf


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a native-endian array.

    The array has the shape declared in the header and a native-endian
    version of the stored dtype (uint8, int8, int16, int32, float32 or
    float64).  The returned array is writable and owns (or exclusively
    shares) its memory.

    Raises :class:`IdxFormatError` for any malformed content and lets
    ``FileNotFoundError`` / ``PermissionError`` from opening the file through.
    """
    name = os.fspath(path)
    buf = _read_all(name, path)
    dtype, tname, dims, header_len = _parse_header(name, buf[: 4 + 4 * 255])
    count = math.prod(dims)
    expected = count * dtype.itemsize
    found = len(buf) - header_len
    if found != expected:
        what = "truncated IDX data" if found < expected else "trailing bytes after IDX data"
        raise IdxFormatError(
            f"{name}: {what}: header declares {_fmt_dims(dims)} {tname} "
            f"({expected} bytes), found {found} bytes"
        )
    arr = np.frombuffer(buf, dtype=dtype, count=count, offset=header_len).reshape(dims)
    if dtype.itemsize > 1 and not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def idx_header(array: np.ndarray) -> bytes:
    """The IDX header bytes (magic + dims) that describe ``array``."""
    arr = np.asarray(array)
    dt = arr.dtype.newbyteorder("=") if arr.dtype.byteorder not in ("=", "|") else arr.dtype
    code = _CODE_FOR_DTYPE.get(np.dtype(dt))
    if code is None:
        supported = ", ".join(str(d) for d in _CODE_FOR_DTYPE)
        raise ValueError(f"cannot store dtype {arr.dtype} in an IDX file; supported: {supported}")
    if arr.ndim < 1 or arr.ndim > 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {arr.ndim}")
    if any(d >= 2**32 for d in arr.shape):
        raise ValueError(f"IDX dimensions must be < 2**32, got shape {arr.shape}")
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)


def write_idx(path: PathLike, array: np.ndarray, compress: Optional[bool] = None) -> Path:
    """Write ``array`` as an IDX file; the inverse of :func:`read_idx`.

    ``compress=None`` gzip-compresses when the path ends in ``.gz``; pass
    True/False to force either.  The gzip header has mtime 0 so output is
    deterministic.  Returns the path written.
    """
    path = Path(path)
    arr = np.asarray(array)
    header = idx_header(arr)
    payload = np.ascontiguousarray(arr, dtype=IDX_TYPES[header[2]][0])
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        with open(path, "wb") as raw, gzip.GzipFile(
            filename=path.name[:-3] if path.name.endswith(".gz") else path.name,
            mode="wb",
            fileobj=raw,
            mtime=0,
        ) as f:
            f.write(header)
            f.write(payload.reshape(-1).view(np.uint8).data)
    else:
        with open(path, "wb") as f:
            f.write(header)
            f.write(payload.reshape(-1).view(np.uint8).data)
    return path
