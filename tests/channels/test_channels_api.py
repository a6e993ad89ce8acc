"""Public API contract: construction, validation, registry, determinism, input handling."""

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import channels
from channels import ChannelParameterError

EXAMPLES = [
    channels.Clean(),
    channels.BinarySymmetric(p=0.1),
    channels.BinaryErasure(epsilon=0.2),
    channels.AWGN(ebn0_db=1.0, code_rate=0.5),
    channels.GilbertElliott(p_good_to_bad=0.05, p_bad_to_good=0.2, error_good=0.01, error_bad=0.5),
    channels.PacketErasure(loss=0.3),
    channels.PacketErasure(loss=0.3, packet_bits=3),
    channels.Cascade(channels.BinarySymmetric(p=0.1), channels.BinaryErasure(epsilon=0.2)),
]
RANDOM = [ch for ch in EXAMPLES if not isinstance(ch, channels.Clean)]
ids = [ch.describe() for ch in EXAMPLES]


def bits(shape=(500, 8), seed=0, dtype=np.uint8):
    return np.random.default_rng(seed).integers(0, 2, size=shape).astype(dtype)


# --- determinism and randomness source ----------------------------------------


@pytest.mark.parametrize("ch", RANDOM, ids=[c.describe() for c in RANDOM])
def test_same_seed_same_output_different_seed_different(ch):
    x = bits((2000, 8))
    a = ch(x, np.random.default_rng(123))
    b = ch(x, np.random.default_rng(123))
    c = ch(x, np.random.default_rng(124))
    assert np.array_equal(a.bits, b.bits) and np.array_equal(a.erased, b.erased)
    assert not (np.array_equal(a.bits, c.bits) and np.array_equal(a.erased, c.erased))


@pytest.mark.parametrize("ch", EXAMPLES, ids=ids)
def test_global_numpy_random_state_is_untouched(ch):
    np.random.seed(0)
    _, key, pos, *_ = np.random.get_state()
    ch(bits(), np.random.default_rng(1))
    _, key_after, pos_after, *_ = np.random.get_state()
    assert np.array_equal(key_after, key) and pos_after == pos


# --- input handling -------------------------------------------------------------


@pytest.mark.parametrize("ch", EXAMPLES, ids=ids)
@pytest.mark.parametrize("shape", [(0,), (0, 8), (5, 0), (13,), (3, 4, 5)])
def test_shapes_including_empty_and_1d(ch, shape):
    out = ch(bits(shape), np.random.default_rng(0))
    assert out.bits.shape == shape and out.erased.shape == shape
    assert out.bits.dtype == np.uint8 and out.erased.dtype == np.bool_


@pytest.mark.parametrize("ch", EXAMPLES, ids=ids)
def test_input_dtype_and_layout_do_not_change_output(ch):
    x = bits((300, 7))
    ref = ch(x, np.random.default_rng(5))
    for variant in (x.astype(bool), x.astype(np.int64), np.asfortranarray(x)):
        got = ch(variant, np.random.default_rng(5))
        assert np.array_equal(got.bits, ref.bits) and np.array_equal(got.erased, ref.erased)


@pytest.mark.parametrize("ch", EXAMPLES, ids=ids)
def test_input_is_not_modified_or_aliased(ch):
    x = bits()
    keep = x.copy()
    out = ch(x, np.random.default_rng(0))
    assert np.array_equal(x, keep)
    assert not np.shares_memory(out.bits, x)


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (np.array([0, 1, 2], dtype=np.uint8), ValueError, "only 0 and 1, got value 2"),
        (np.array([0, -1], dtype=np.int8), ValueError, "only 0 and 1, got value -1"),
        (np.array([0.0, 1.0]), TypeError, "integer or bool dtype, got float64"),
        ([0, 1, 1], TypeError, "numpy array .*got list"),
        (np.array(1, dtype=np.uint8), ValueError, "at least 1 dimension"),
    ],
)
@pytest.mark.parametrize("ch", [channels.BinarySymmetric(p=0.1), channels.Clean()], ids=["bsc", "clean"])
def test_bad_bit_arrays_are_rejected(ch, value, exc, match):
    with pytest.raises(exc, match=f"^{ch.kind}: .*{match}"):
        ch(value, np.random.default_rng(0))


def test_awgn_soft_outputs_validate_bits_too():
    with pytest.raises(ValueError, match="got value 3"):
        channels.AWGN(3.0).llr(np.array([3]), np.random.default_rng(0))


@pytest.mark.parametrize("rng", [0, None, np.random.RandomState(0)])
def test_rng_must_be_a_generator(rng):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        channels.BinarySymmetric(p=0.1)(bits(), rng)


@settings(max_examples=40, deadline=None)
@given(
    ch=st.sampled_from(EXAMPLES),
    shape=st.lists(st.integers(0, 6), min_size=1, max_size=3).map(tuple),
    seed=st.integers(0, 2**32 - 1),
)
def test_output_invariants(ch, shape, seed):
    x = bits(shape, seed % 1000)
    out = ch(x, np.random.default_rng(seed))
    assert out.bits.shape == shape and np.all(out.bits <= 1)
    assert not out.bits[out.erased].any()
    if ch.erasure_rate() == 0.0:
        assert not out.erased.any()
    if ch.bit_error_rate() == 0.0:
        assert np.array_equal(out.bits[~out.erased], x[~out.erased])


# --- parameters ----------------------------------------------------------------


def test_channel_parameter_error_is_a_value_error():
    assert issubclass(ChannelParameterError, ValueError)


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: channels.BinarySymmetric(p=0.7), r"^bsc: p must be a probability in \[0, 0\.5\], got 0\.7$"),
        (lambda: channels.BinarySymmetric(p=-0.1), r"^bsc: p must be .*got -0\.1$"),
        (lambda: channels.BinarySymmetric(p=math.nan), r"^bsc: p must be .*got nan$"),
        (lambda: channels.BinarySymmetric(p="0.1"), r"^bsc: p must be a real number, got '0\.1' \(str\)$"),
        (lambda: channels.BinarySymmetric(p=True), r"^bsc: p must be a real number, got True \(bool\)$"),
        (lambda: channels.BinarySymmetric(p=None), r"^bsc: p must be a real number, got None"),
        (lambda: channels.BinaryErasure(epsilon=-0.1), r"^bec: epsilon must be in \[0, 1\], got -0\.1$"),
        (lambda: channels.BinaryErasure(epsilon=np.bool_(False)), r"^bec: epsilon must be a real number"),
        (lambda: channels.AWGN(ebn0_db=math.inf), r"^awgn: ebn0_db must be a finite number, got inf$"),
        (lambda: channels.AWGN(ebn0_db=math.nan), r"^awgn: ebn0_db must be a finite number, got nan$"),
        (lambda: channels.AWGN(ebn0_db=3, code_rate=0), r"^awgn: code_rate must be in \(0, 1\], got 0"),
        (lambda: channels.AWGN(ebn0_db=3, code_rate=1.5), r"^awgn: code_rate must be in \(0, 1\], got 1\.5$"),
        (lambda: channels.GilbertElliott(1.2, 0.1), r"^gilbert_elliott: p_good_to_bad must be in \[0, 1\], got 1\.2$"),
        (lambda: channels.GilbertElliott(0.1, 0.1, error_bad=-1), r"^gilbert_elliott: error_bad must be in \[0, 1\], got -1$"),
        (lambda: channels.GilbertElliott(0.0, 0.0), r"^gilbert_elliott: p_good_to_bad \+ p_bad_to_good must be > 0"),
        (lambda: channels.PacketErasure(loss=1.5), r"^packet_erasure: loss must be in \[0, 1\], got 1\.5$"),
        (lambda: channels.PacketErasure(loss=0.1, packet_bits=0), r"^packet_erasure: packet_bits must be a positive int or None, got 0$"),
        (lambda: channels.PacketErasure(loss=0.1, packet_bits=-3), r"packet_bits must be a positive int or None, got -3$"),
        (lambda: channels.PacketErasure(loss=0.1, packet_bits=8.0), r"packet_bits must be a positive int or None, got 8\.0$"),
        (lambda: channels.PacketErasure(loss=0.1, packet_bits=True), r"packet_bits must be .*got True \(bool\)$"),
        (lambda: channels.Cascade(channels.Clean(), "bsc"), r"^cascade: second must be a channels.Channel"),
    ],
)
def test_invalid_parameters_raise_precise_errors(factory, match):
    with pytest.raises(ChannelParameterError, match=match):
        factory()


def test_numpy_scalars_are_normalized_to_python_types():
    ch = channels.PacketErasure(loss=np.float32(0.25), packet_bits=np.int64(4))
    assert type(ch.loss) is float and type(ch.packet_bits) is int
    json.dumps(ch.params())
    assert channels.BinarySymmetric(p=0) == channels.BinarySymmetric(p=0.0)


@pytest.mark.parametrize("ch", EXAMPLES, ids=ids)
def test_channels_are_frozen(ch):
    field = next(iter(dataclasses.fields(ch)), None)
    name = field.name if field else "anything"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ch, name, 0.0)


def test_channel_is_abstract():
    with pytest.raises(TypeError):
        channels.Channel()


def test_describe():
    assert channels.BinarySymmetric(p=0.01).describe() == "BSC(p=0.01)"
    assert str(channels.BinaryErasure(epsilon=0.1)) == "BEC(epsilon=0.1)"
    assert channels.Clean().describe() == "Clean()"
    assert channels.AWGN(4).describe() == "AWGN(ebn0_db=4.0, code_rate=1.0)"
    assert channels.PacketErasure(0.1, 8).describe() == "PacketErasure(loss=0.1, packet_bits=8)"
    assert EXAMPLES[-1].describe() == "BSC(p=0.1) -> BEC(epsilon=0.2)"


# --- registry ----------------------------------------------------------------------

MAKE_ARGS = {
    "clean": {},
    "bsc": {"p": 0.01},
    "bec": {"epsilon": 0.1},
    "awgn": {"ebn0_db": 4.0},
    "gilbert_elliott": {"p_good_to_bad": 0.01, "p_bad_to_good": 0.1},
    "packet_erasure": {"loss": 0.1, "packet_bits": 16},
    "coded": {"snr_db": 2.0, "code": "none", "k": 64, "n": 64, "crc": "none"},
}


def test_kinds_registry_is_complete():
    assert set(channels.KINDS) == set(MAKE_ARGS)
    for kind, cls in channels.KINDS.items():
        assert cls.kind == kind and issubclass(cls, channels.Channel)


@pytest.mark.parametrize("kind", sorted(MAKE_ARGS))
def test_make_constructs_and_round_trips(kind):
    ch = channels.make(kind, **MAKE_ARGS[kind])
    assert isinstance(ch, channels.KINDS[kind]) and ch.kind == kind
    params = json.loads(json.dumps(ch.params()))
    assert channels.make(kind, **params) == ch


def test_make_unknown_kind_lists_known_kinds():
    with pytest.raises(ChannelParameterError, match="unknown channel kind 'rayleigh'; known kinds: awgn, bec, bsc, clean, coded, gilbert_elliott, packet_erasure"):
        channels.make("rayleigh")
    with pytest.raises(ChannelParameterError, match="unknown channel kind 3"):
        channels.make(3)


def test_make_names_unknown_and_missing_parameters():
    with pytest.raises(ChannelParameterError, match=r"^bsc: unknown parameter 'q'; accepted parameters: p$"):
        channels.make("bsc", q=0.1)
    with pytest.raises(ChannelParameterError, match="^clean: unknown parameter 'p'"):
        channels.make("clean", p=0.1)
    with pytest.raises(ChannelParameterError, match="^gilbert_elliott: missing required parameter 'p_bad_to_good'$"):
        channels.make("gilbert_elliott", p_good_to_bad=0.1)
    with pytest.raises(ChannelParameterError, match=r"^bsc: p must be a probability"):
        channels.make("bsc", p=0.9)


# --- Received and Cascade ------------------------------------------------------------


def test_received():
    r = channels.Received(bits=np.zeros((2, 3), np.uint8), erased=np.eye(2, 3, dtype=bool))
    assert r.n_erased == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.bits = None
    with pytest.raises(ValueError, match="same shape"):
        channels.Received(bits=np.zeros(3, np.uint8), erased=np.zeros(4, bool))


def test_cascade_erasures_are_sticky_and_rates_compose():
    bec, bsc = channels.BinaryErasure(epsilon=0.3), channels.BinarySymmetric(p=0.5)
    ch = channels.Cascade(bec, bsc)  # the BSC flips placeholder zeros; they must stay erased
    x = bits((125_000, 8))
    out = ch(x, np.random.default_rng(0))
    assert not out.bits[out.erased].any()
    n = x.size
    assert abs(out.n_erased - 0.3 * n) <= 5 * math.sqrt(n * 0.21)
    wrong = np.count_nonzero(out.bits[~out.erased] != x[~out.erased])
    m = n - out.n_erased
    assert abs(wrong - 0.5 * m) <= 5 * math.sqrt(m * 0.25)
    both = channels.Cascade(channels.BinarySymmetric(0.1), channels.PacketErasure(0.2, 4))
    out = both(x, np.random.default_rng(1))
    p_wrong = both.bit_error_rate()
    assert p_wrong == pytest.approx(0.1 * 0.8)
    assert both.erasure_rate() == pytest.approx(0.2)
    wrong = np.count_nonzero((out.bits != x) & ~out.erased)
    assert abs(wrong - p_wrong * n) <= 5 * math.sqrt(n * p_wrong)
    assert channels.Cascade(channels.BinarySymmetric(0.1), channels.BinarySymmetric(0.2)).bit_error_rate() == pytest.approx(0.1 * 0.8 + 0.2 * 0.9)
    assert json.loads(json.dumps(both.params()))["second"] == {"kind": "packet_erasure", "params": {"loss": 0.2, "packet_bits": 4}}
