"""IDX reading/writing: round trips, the exact byte format, and every rejection."""

from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semcom.data.idx import IDX_TYPES, IdxFormatError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(7,), (3, 5), (2, 3, 4), (0, 28, 28), (1, 2, 1, 3)]


def _sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 1e3).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)


def _err(path: Path, what: str) -> str:
    """Regex: the file name, then (later on the same line) ``what``."""
    return re.escape(path.name) + r".*" + what


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("suffix", [".gz", ""], ids=["gz", "raw"])
def test_round_trip(tmp_path, dtype, shape, suffix):
    arr = _sample(dtype, shape)
    p = tmp_path / f"a-idx{len(shape)}{suffix}"
    write_idx(p, arr)
    assert (p.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(p)
    assert back.shape == arr.shape
    assert back.dtype == np.dtype(dtype)  # native byte order
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, arr)
    assert back.flags.writeable
    back[...] = 0  # really writable (no read-only buffer underneath)


def test_big_endian_input_array_is_written_correctly(tmp_path):
    arr = np.array([1, -2, 300], dtype=">i4")
    write_idx(tmp_path / "be", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "be"), [1, -2, 300])


def test_exact_bytes_of_written_file(tmp_path):
    p = tmp_path / "x-idx2-ubyte"
    write_idx(p, np.array([[1, 2, 3], [4, 5, 255]], dtype=np.uint8))
    assert p.read_bytes() == bytes.fromhex("00000802" "00000002" "00000003") + bytes(
        [1, 2, 3, 4, 5, 255]
    )
    p16 = tmp_path / "y"
    write_idx(p16, np.array([258, -2], dtype=np.int16))
    assert p16.read_bytes() == bytes.fromhex("00000b01" "00000002" "0102" "fffe")


@pytest.mark.parametrize(
    "code,payload,expected",
    [
        (0x08, bytes([0, 7, 255]), np.array([0, 7, 255], np.uint8)),
        (0x09, bytes([0, 7, 255]), np.array([0, 7, -1], np.int8)),
        (0x0B, bytes.fromhex("0102fffe8000"), np.array([258, -2, -32768], np.int16)),
        (0x0C, bytes.fromhex("00000001fffffffe7fffffff"), np.array([1, -2, 2**31 - 1], np.int32)),
        (0x0D, bytes.fromhex("3f800000c0000000" "00000000"), np.array([1.0, -2.0, 0.0], np.float32)),
        (0x0E, bytes.fromhex("3ff0000000000000" "c000000000000000" "4059000000000000"),
         np.array([1.0, -2.0, 100.0])),
    ],
)
def test_reads_hand_made_big_endian_files(tmp_path, code, payload, expected):
    p = tmp_path / "hand"
    p.write_bytes(bytes([0, 0, code, 1]) + (3).to_bytes(4, "big") + payload)
    got = read_idx(p)
    assert got.dtype == expected.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, expected)


def test_compression_detected_by_magic_not_extension(tmp_path):
    arr = _sample(np.uint8, (4, 28, 28))
    gz_named_raw = write_idx(tmp_path / "data.gz", arr, compress=False)
    raw_named_gz = write_idx(tmp_path / "data-idx3-ubyte", arr, compress=True)
    assert gz_named_raw.read_bytes()[:4] == b"\x00\x00\x08\x03"
    assert raw_named_gz.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(gz_named_raw), arr)
    np.testing.assert_array_equal(read_idx(raw_named_gz), arr)


def test_gzip_output_is_deterministic(tmp_path):
    arr = _sample(np.int16, (10, 3))
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    a = write_idx(tmp_path / "one" / "a.gz", arr).read_bytes()
    b = write_idx(tmp_path / "two" / "a.gz", arr).read_bytes()
    assert a == b
    assert a[4:8] == b"\x00\x00\x00\x00"  # gzip mtime field


def test_write_rejects_unsupported(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_idx(tmp_path / "u16", np.zeros(3, np.uint16))
    with pytest.raises(ValueError, match="dtype"):
        write_idx(tmp_path / "i64", np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "scalar", np.uint8(3))


def test_missing_file_is_not_a_format_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.gz")


# ----------------------------------------------------------------------------- rejections


def _header(code=0x08, dims=(3, 4)):
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_truncated_data(tmp_path, gz):
    p = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    content = _header(0x08, (19690, 28, 28)) + bytes(1000)
    p.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(IdxFormatError) as ei:
        read_idx(p)
    msg = str(ei.value)
    assert re.search(
        _err(p, re.escape(
            "truncated IDX data: header declares 19690x28x28 uint8 (15436960 bytes), found 1000 bytes"
        )),
        msg,
    ), msg
    assert "\n" not in msg


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_trailing_bytes(tmp_path, gz):
    p = tmp_path / ("labels-idx1-ubyte" + (".gz" if gz else ""))
    content = _header(0x0B, (5,)) + bytes(10) + b"xyz"
    p.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(
        IdxFormatError,
        match=_err(p, re.escape("trailing bytes after IDX data: header declares 5 int16 (10 bytes), found 13 bytes")),
    ):
        read_idx(p)


def test_truncated_header(tmp_path):
    p = tmp_path / "short-header"
    p.write_bytes(_header(0x08, (3, 4, 5))[:9])
    with pytest.raises(IdxFormatError, match=_err(p, "truncated IDX header: 3 dimensions need 16 header bytes, found 9")):
        read_idx(p)
    p.write_bytes(b"\x00\x00")
    with pytest.raises(IdxFormatError, match=_err(p, "truncated IDX header")):
        read_idx(p)
    p.write_bytes(b"")
    with pytest.raises(IdxFormatError, match=_err(p, "found 0")):
        read_idx(p)


def test_bad_magic(tmp_path):
    p = tmp_path / "bad-magic.idx"
    p.write_bytes(bytes.fromhex("1234abcd") + bytes(100))
    with pytest.raises(
        IdxFormatError,
        match=_err(p, re.escape("bad IDX magic 0x1234abcd: expected two zero bytes then a type code")),
    ):
        read_idx(p)
    p.write_bytes(bytes.fromhex("00010801") + (1).to_bytes(4, "big") + b"\x00")
    with pytest.raises(IdxFormatError, match=_err(p, "bad IDX magic 0x00010801")):
        read_idx(p)


@pytest.mark.parametrize("code", [0x00, 0x07, 0x0A, 0x0F, 0xFF])
def test_unknown_type_code(tmp_path, code):
    p = tmp_path / "type.idx.gz"
    p.write_bytes(gzip.compress(bytes([0, 0, code, 1]) + (2).to_bytes(4, "big") + bytes(16)))
    with pytest.raises(IdxFormatError, match=_err(p, f"unknown IDX type code 0x{code:02X}")):
        read_idx(p)


def test_zero_dimensions(tmp_path):
    p = tmp_path / "ndim0"
    p.write_bytes(bytes([0, 0, 8, 0]) + bytes(4))
    with pytest.raises(IdxFormatError, match=_err(p, "ndim is 0")):
        read_idx(p)


def test_all_known_type_codes_listed():
    assert sorted(IDX_TYPES) == [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]


def test_corrupt_gzip_flipped_bytes(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    p = write_idx(tmp_path / "corrupt-idx3-ubyte.gz", arr)
    data = bytearray(p.read_bytes())
    mid = len(data) // 2
    for i in range(mid, mid + 8):
        data[i] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(IdxFormatError, match=_err(p, "corrupt or truncated gzip stream")) as ei:
        read_idx(p)
    assert "\n" not in str(ei.value)


def test_truncated_gzip_stream(tmp_path):
    arr = np.random.default_rng(2).integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    p = write_idx(tmp_path / "cut-idx3-ubyte.gz", arr)
    data = p.read_bytes()
    for cut in (5, len(data) // 2, len(data) - 4):
        p.write_bytes(data[:cut])
        with pytest.raises(IdxFormatError, match=_err(p, "corrupt or truncated gzip stream")):
            read_idx(p)


def test_bad_crc_is_rejected(tmp_path):
    p = write_idx(tmp_path / "crc.gz", np.arange(100, dtype=np.uint8))
    data = bytearray(p.read_bytes())
    data[-8] ^= 0x01  # CRC32 of the trailer
    p.write_bytes(bytes(data))
    with pytest.raises(IdxFormatError, match=_err(p, "corrupt or truncated gzip stream")):
        read_idx(p)


def test_gzip_magic_then_garbage(tmp_path):
    p = tmp_path / "fake.gz"
    p.write_bytes(b"\x1f\x8b" + b"not a gzip stream at all")
    with pytest.raises(IdxFormatError, match=_err(p, "gzip")):
        read_idx(p)


# ----------------------------------------------------------------------------- property tests

_valid_prefix = st.sampled_from(
    [b"", b"\x00\x00", b"\x00\x00\x08", b"\x00\x00\x08\x01", b"\x00\x00\x0d\x02", b"\x1f\x8b", b"\x1f\x8b\x08\x00"]
)


@st.composite
def _file_bytes(draw):
    body = draw(_valid_prefix) + draw(st.binary(max_size=200))
    kind = draw(st.sampled_from(["raw", "gzip-of", "gzip-cut"]))
    if kind == "raw":
        return body
    comp = gzip.compress(body)
    if kind == "gzip-of":
        return comp
    return comp[: draw(st.integers(0, len(comp)))]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_file_bytes())
def test_random_bytes_only_raise_idx_format_error(data):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "random.bin"
        p.write_bytes(data)
        try:
            arr = read_idx(p)
        except IdxFormatError as exc:
            assert "random.bin" in str(exc)
            assert "\n" not in str(exc)
        else:
            assert isinstance(arr, np.ndarray) and arr.ndim >= 1


_dtypes = st.sampled_from(DTYPES)
_shapes = st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple)


@settings(max_examples=60, deadline=None)
@given(dtype=_dtypes, shape=_shapes, seed=st.integers(0, 2**16), gz=st.booleans())
def test_round_trip_property(dtype, shape, seed, gz):
    arr = _sample(dtype, shape, seed)
    with tempfile.TemporaryDirectory() as d:
        p = write_idx(Path(d) / ("f.gz" if gz else "f"), arr)
        back = read_idx(p)
    assert back.shape == arr.shape and back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)
