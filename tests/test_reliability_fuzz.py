"""Fuzzing the two places where untrusted input enters: received bits and scenario files.

Receiver: whatever arrives (any 0/1 pattern, any erasure mask, any array layout or
integer dtype of the right 2-D shape) is read without raising, every index lies in
[0, L), lost symbols get the policy's fill level, and every readable symbol equals the
value an independent, pure-Python reading of the same bits gives.

Scenarios: start from scenarios/quick.toml, apply one random mutation, write it back,
load it: either it loads or it raises ScenarioError, a single line that starts with
the file path and names the dotted key that was mutated.
"""

from __future__ import annotations

import math
import re
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semcom.bitstream import BitPacker, bits_per_symbol
from semcom.errors import ScenarioError
from semcom.transceiver import Receiver, fill_levels
from semcom.app.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
QUICK = (REPO / "scenarios" / "quick.toml").read_text()

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (dim, L, mapping): powers of two with both mappings, and base-L packing (L not a power of two)
FORMATS = [
    (1, 2, "natural"), (6, 2, "gray"), (3, 4, "natural"), (4, 4, "gray"), (2, 16, "gray"),
    (1, 256, "natural"), (3, 8, "gray"), (5, 3, "natural"), (7, 5, "natural"), (3, 6, "natural"),
    (4, 10, "natural"), (2, 7, "natural"), (1, 3, "natural"), (9, 3, "natural"), (2, 1000, "natural"),
]


@st.composite
def formats(draw):
    if draw(st.booleans()):
        return draw(st.sampled_from(FORMATS))
    dim, levels = draw(st.integers(1, 8)), draw(st.integers(2, 40))
    gray = bits_per_symbol(levels) is not None and draw(st.booleans())
    return dim, levels, "gray" if gray else "natural"


def _fill(policy: str, dim: int, levels: int, seed: int) -> np.ndarray:
    prior = np.random.default_rng(seed).random((dim, levels)) if policy == "mode" else None
    return fill_levels(policy, dim, levels, prior)


def _inverse_gray(g: int) -> int:
    x = g
    while g:
        g >>= 1
        x ^= g
    return x


def reference_receive(bits: np.ndarray, erased: np.ndarray | None, dim: int, levels: int, mapping: str,
                      fill: np.ndarray):
    """What the receiver must return, computed symbol by symbol with Python integers."""
    bits = [[int(b != 0) for b in row] for row in np.asarray(bits).tolist()]
    n_bits = len(bits[0]) if bits else 0
    er = [[bool(e) for e in row] for row in np.asarray(erased).tolist()] if erased is not None else \
        [[False] * n_bits for _ in bits]
    b = bits_per_symbol(levels)
    out, lost, invalid = [], [], []
    for row, erow in zip(bits, er):
        if b is not None:
            syms, miss = [], []
            for j in range(dim):
                group = row[j * b:(j + 1) * b]
                value = int("".join(map(str, group)), 2)
                if mapping == "gray":
                    value = _inverse_gray(value)
                gone = any(erow[j * b:(j + 1) * b])
                syms.append(int(fill[j]) if gone else value)
                miss.append(gone)
            out.append(syms)
            lost.append(miss)
            invalid.append(False)
        else:
            # erased bits count as 0 when deciding whether the pattern could have been sent
            value = int("".join(str(0 if e else v) for v, e in zip(row, erow)), 2)
            bad = value >= levels ** dim
            if any(erow) or bad:
                out.append([int(f) for f in fill])
                lost.append([True] * dim)
            else:
                digits = []
                for _ in range(dim):
                    value, d = divmod(value, levels)
                    digits.append(d)
                out.append(digits[::-1])
                lost.append([False] * dim)
            invalid.append(bad)
    return (np.array(out, np.int64).reshape(len(bits), dim), np.array(lost, bool).reshape(len(bits), dim),
            np.array(invalid, bool))


def _layout(arr: np.ndarray, how: str) -> np.ndarray:
    """The same values in another memory layout: Fortran order or a strided view."""
    if how == "fortran":
        return np.asfortranarray(arr)
    if how == "strided":
        wide = np.zeros((arr.shape[0], 2 * arr.shape[1]), arr.dtype)
        wide[:, ::2] = arr
        return wide[:, ::2]
    return np.ascontiguousarray(arr)


@FUZZ
@given(fmt=formats(), n=st.integers(0, 24), seed=st.integers(0, 2**32 - 1),
       density=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), erase=st.sampled_from([None, 0.0, 0.05, 0.3, 1.0]),
       policy=st.sampled_from(["mode", "center", "zero"]),
       dtype=st.sampled_from([np.uint8, np.bool_, np.int8, np.int64]),
       mask_dtype=st.sampled_from([np.bool_, np.uint8]), layout=st.sampled_from(["c", "fortran", "strided"]))
def test_receiver_is_total_and_exact_on_random_bits(fmt, n, seed, density, erase, policy, dtype, mask_dtype,
                                                    layout):
    dim, levels, mapping = fmt
    packer = BitPacker(dim, levels, mapping)
    fill = _fill(policy, dim, levels, seed)
    rng = np.random.default_rng(seed)
    bits = _layout((rng.random((n, packer.n_bits)) < density).astype(dtype), layout)
    mask = None if erase is None else _layout((rng.random(bits.shape) < erase).astype(mask_dtype), layout)
    bits_before, mask_before = bits.copy(), None if mask is None else mask.copy()

    got = Receiver(packer, fill).receive(bits, mask)

    assert got.indices.shape == got.symbol_erased.shape == (n, dim)
    assert got.invalid_rows.shape == (n,)
    assert ((got.indices >= 0) & (got.indices < levels)).all()
    # lost symbols carry the policy's fill level, coordinate by coordinate
    rows, cols = np.nonzero(got.symbol_erased)
    assert np.array_equal(got.indices[rows, cols], fill[cols])
    # and everything equals an independent bit-by-bit reading
    ref_idx, ref_lost, ref_invalid = reference_receive(bits, mask, dim, levels, mapping, fill)
    assert np.array_equal(got.symbol_erased, ref_lost)
    assert np.array_equal(got.invalid_rows, ref_invalid)
    assert np.array_equal(got.indices, ref_idx)
    if bits_per_symbol(levels) is not None:
        assert not got.invalid_rows.any()  # with log2 L bits per symbol, every pattern is a level
    # the receiver reads its input, it never writes to it
    assert np.array_equal(bits, bits_before)
    assert mask is None or np.array_equal(mask, mask_before)


@FUZZ
@given(fmt=formats(), raw=st.binary(max_size=300), mask_raw=st.one_of(st.none(), st.binary(max_size=300)),
       policy=st.sampled_from(["mode", "center", "zero"]))
def test_receiver_reads_any_byte_stream(fmt, raw, mask_raw, policy):
    """Bytes off the wire -> bits -> symbols: whatever the bytes, no crash and exact values."""
    dim, levels, mapping = fmt
    packer = BitPacker(dim, levels, mapping)
    bits = np.unpackbits(np.frombuffer(raw, np.uint8))
    rows = len(bits) // packer.n_bits
    bits = bits[: rows * packer.n_bits].reshape(rows, packer.n_bits)
    mask = None
    if mask_raw is not None:
        m = np.unpackbits(np.frombuffer(mask_raw, np.uint8)).astype(bool)
        mask = np.zeros(bits.shape, bool)
        mask.flat[: min(m.size, mask.size)] = m[: mask.size]
    fill = _fill(policy, dim, levels, len(raw))
    got = Receiver(packer, fill).receive(bits, mask)
    assert got.indices.shape == (rows, dim)
    assert ((got.indices >= 0) & (got.indices < levels)).all()
    ref_idx, ref_lost, ref_invalid = reference_receive(bits, mask, dim, levels, mapping, fill)
    assert np.array_equal(got.indices, ref_idx)
    assert np.array_equal(got.symbol_erased, ref_lost) and np.array_equal(got.invalid_rows, ref_invalid)


@pytest.mark.parametrize("dim,levels,mapping", [(4, 4, "natural"), (4, 4, "gray"), (5, 3, "natural")])
def test_all_erased_and_all_ones_rows(dim, levels, mapping):
    """Edge rows: every bit erased -> every symbol is the fill level; all ones -> the top level
    (power-of-two L) or an invalid row (base-L packing, when L**dim < 2**n_bits)."""
    packer = BitPacker(dim, levels, mapping)
    fill = np.arange(dim) % levels
    rx = Receiver(packer, fill)
    ones = np.ones((3, packer.n_bits), np.uint8)
    got = rx.receive(ones, np.ones_like(ones, bool))
    assert got.symbol_erased.all() and (got.indices == fill).all()
    got = rx.receive(ones)
    if bits_per_symbol(levels) is not None:
        top = levels - 1 if mapping == "natural" else _inverse_gray(levels - 1)
        assert (got.indices == top).all() and not got.symbol_erased.any()
    else:
        assert levels ** dim < 2 ** packer.n_bits
        assert got.invalid_rows.all() and (got.indices == fill).all()


# ------------------------------------------------------------------ scenario mutations

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(k: str) -> str:
    return k if _BARE.match(k) else _toml_str(k)


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML for {type(v).__name__}")


def toml_dumps(data: dict) -> str:
    """A minimal TOML writer: every top-level key as ``key = value``, tables inline.

    Enough for what quick.toml holds (scalars, arrays, tables, arrays of tables), and
    for any value a mutation puts in. Inline tables and mixed arrays are TOML 1.0.
    """
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in data.items())


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def walk(node, path=()):
    """Every (path, value) below ``node``."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield path + (k,), v
        yield from walk(v, path + (k,))


def get(data, path):
    for p in path:
        data = data[p]
    return data


def kind_of(v) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "table"}[type(v)]


scalars = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_categories=("Cs",)),
            max_size=6),
    st.integers(-2**40, 2**40), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.from_regex(r"[a-z_]{1,6}", fullmatch=True),
                                                                       inner, max_size=3)), max_leaves=6)


def of_kind(kind: str):
    return {
        "str": scalars.filter(lambda v: isinstance(v, str)), "int": st.integers(-2**40, 2**40),
        "float": st.floats(allow_nan=True, allow_infinity=True), "bool": st.booleans(),
        "list": st.lists(values, max_size=3),
        "table": st.dictionaries(st.from_regex(r"[a-z_]{1,6}", fullmatch=True), values, max_size=3),
    }[kind]


# numeric settings that quick.toml uses, set out of their range -> must be refused, naming the key
OUT_OF_RANGE = {
    ("classifier", "epochs"): [0, -1, -100],
    ("classifier", "batch_size"): [0, -64],
    ("codecs", 0, "train", "epochs"): [0, -3],
    ("codecs", 0, "train", "batch_size"): [0, -1],
    ("codecs", 0, "levels"): [1, 0, -4],
    ("codecs", 0, "width"): [0, 1, 15, -16],
    ("codecs", 0, "bits"): [0, -8],
    ("dataset", "val_fraction"): [1, 1.0, 1.5, -0.1, math.inf],
    ("dataset", "train_limit"): [-1],
    ("dataset", "test_limit"): [-1000],
    ("channels", 1, "p", 0): [0.51, 0.9, 1.0, -0.01, math.inf, math.nan],
    ("channels", 2, "epsilon", 0): [1.01, -0.5, math.nan],
    ("output", "examples"): [-1, 101],
    ("seeds", 0): [-1, -2**31],
    ("dataset", "split_seed"): [-1, -7],
}
REQUIRED = {("name",), ("codecs",), ("codecs", 0, "name"), ("codecs", 0, "bits"), ("channels",),
            ("channels", 0, "kind"), ("channels", 1, "kind"), ("channels", 1, "p"), ("channels", 2, "kind"),
            ("channels", 2, "epsilon")}


@st.composite
def mutations(draw, data: dict):
    kind = draw(st.sampled_from(["delete", "type", "unknown", "range"]))
    paths = [p for p, _ in walk(data)]
    if kind == "delete":
        path = draw(st.sampled_from([p for p in paths if isinstance(p[-1], str)]))
        return kind, path, None
    if kind == "type":
        path = draw(st.sampled_from(paths))
        old = kind_of(get(data, path))
        new = draw(st.sampled_from([k for k in ("str", "int", "float", "bool", "list", "table") if k != old]))
        return kind, path, draw(of_kind(new))
    if kind == "unknown":
        tables = [()] + [p for p, v in walk(data) if isinstance(v, dict)]
        where = draw(st.sampled_from(tables))
        name = "x_" + draw(st.from_regex(r"[a-z0-9_-]{0,8}", fullmatch=True))
        return kind, where + (name,), draw(values)
    path = draw(st.sampled_from(sorted(OUT_OF_RANGE, key=str)))
    return kind, path, draw(st.sampled_from(OUT_OF_RANGE[path]))


def apply(data: dict, mutation) -> dict:
    data = tomllib.loads(toml_dumps(data))  # a deep copy
    kind, path, value = mutation
    parent = get(data, path[:-1])
    if kind == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def test_toml_writer_round_trips_quick_scenario(workdir):
    data = tomllib.loads(QUICK)
    assert _same(tomllib.loads(toml_dumps(data)), data)
    path = workdir / "roundtrip.toml"
    path.write_text(toml_dumps(data))
    assert load_scenario(path).to_dict() == load_scenario(REPO / "scenarios" / "quick.toml").to_dict()


@FUZZ
@given(st.data())
def test_mutated_scenario_loads_or_names_file_and_key(workdir, data):
    base = tomllib.loads(QUICK)
    mutation = data.draw(mutations(base), label="mutation")
    kind, path, value = mutation
    mutated = apply(base, mutation)
    text = toml_dumps(mutated)
    assert _same(tomllib.loads(text), mutated), text  # the writer wrote what we meant
    file = workdir / "mutated.toml"
    file.write_text(text)
    try:
        load_scenario(file)
    except ScenarioError as exc:
        msg = str(exc)
        assert "\n" not in msg, msg
        assert msg.startswith(f"{file}: "), msg
        key = dotted(path)
        # the error's key is the mutated key, a key inside a replaced value, or (for a list
        # element such as channels[1].p[0]) the list that holds it
        container = dotted(path[: max(i for i, p in enumerate(path) if isinstance(p, str)) + 1])
        named = exc.key in (key, container) or exc.key.startswith((key + ".", key + "["))
        if kind in ("unknown", "type", "range") or (kind == "delete" and path in REQUIRED):
            assert named, f"{kind} at {key}: error names {exc.key!r}: {msg}"
            assert f": {exc.key}: " in msg, msg
    else:
        assert kind != "range", f"{dotted(path)} = {value!r} was accepted"
        assert kind != "unknown", f"unknown key {dotted(path)} was accepted"
        assert not (kind == "delete" and path in REQUIRED), f"required {dotted(path)} may be deleted"


# ------------------------------------------------------------ bugs the fuzzing found

def _write(workdir: Path, text: str) -> Path:
    path = workdir / "bug.toml"
    path.write_text(text)
    return path


def _quick_with(**changes) -> str:
    data = tomllib.loads(QUICK)
    for dotted_path, value in changes.items():
        *head, last = dotted_path.split("__")
        node = data
        for p in head:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return toml_dumps(data)


@pytest.mark.parametrize("kind", [["bsc"], {"a": 1}])
def test_channel_kind_of_unhashable_type_is_a_scenario_error(workdir, kind):
    path = _write(workdir, _quick_with(channels__1__kind=kind))
    with pytest.raises(ScenarioError, match=r": channels\[1\]\.kind: "):
        load_scenario(path)


@pytest.mark.parametrize("index,param", [(1, "p"), (2, "epsilon")])
def test_missing_channel_parameter_names_its_dotted_key(workdir, index, param):
    path = _write(workdir, _quick_with(**{f"channels__{index}__{param}": None}))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == f"channels[{index}].{param}", str(info.value)
    assert str(info.value).startswith(f"{path}: channels[{index}].{param}: "), str(info.value)


# Values `semcom run` would die on with a ValueError traceback (exit 1) after loading data,
# and for some after training models: they must be refused when the scenario is loaded.
def test_gray_mapping_with_non_power_of_two_levels_is_refused_at_load(workdir):
    text = _quick_with(codecs__0__bits=None, codecs__0__dim=2, codecs__0__levels=3, receiver__mapping="gray")
    path = _write(workdir, text)
    with pytest.raises(ScenarioError, match=r": receiver\.mapping: ") as info:
        load_scenario(path)
    assert info.value.key == "receiver.mapping" and str(info.value).startswith(f"{path}: receiver.mapping: ")


@pytest.mark.parametrize("change,key", [({"seeds": [0, -1]}, "seeds"),
                                        ({"dataset__split_seed": -1}, "dataset.split_seed")])
def test_negative_seeds_are_refused_at_load(workdir, change, key):
    path = _write(workdir, _quick_with(**change))
    with pytest.raises(ScenarioError, match=re.escape(f": {key}: ")) as info:
        load_scenario(path)
    assert info.value.key == key and str(info.value).startswith(f"{path}: {key}: ")


def test_negative_seed_really_breaks_a_run():
    """Why the load-time refusal above matters: the seed reaches numpy, which refuses it."""
    from semcom.data import train_val_split
    from semcom.evaluation import point_seed

    with pytest.raises(ValueError):
        np.random.default_rng(point_seed(-1, "c", "BSC(p=0.01)"))
    with pytest.raises(ValueError):
        train_val_split(10, 0.2, -1)
    with pytest.raises(ValueError, match="power of two"):
        BitPacker(2, 3, "gray")
