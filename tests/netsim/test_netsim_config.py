"""LinkConfig validation and derived timing quantities."""

import math

import pytest

from semcom.netsim import LinkConfig


def test_defaults_are_valid_and_derived_values():
    cfg = LinkConfig()
    assert cfg.crc_width == 16
    assert cfg.packet_bits(8) == 32 + 8 + 16
    assert cfg.serialization_time(8) == 56 / 1e6
    assert cfg.effective_timeout(8) == pytest.approx(56 / 1e6 + 2e-3)
    assert cfg.attempts_per_packet == 1
    assert LinkConfig(arq="selective_repeat").attempts_per_packet == 4
    assert LinkConfig(arq="stop_and_wait", window=8).effective_window == 1
    assert LinkConfig(timeout=0.5).effective_timeout(8) == 0.5
    assert LinkConfig(deadline=math.inf).deadline == math.inf


@pytest.mark.parametrize(
    "field,value",
    [
        ("bit_rate", 0),
        ("bit_rate", -1.0),
        ("bit_rate", math.inf),
        ("bit_rate", "fast"),
        ("symbol_rate", 0),
        ("symbol_rate", -1.0),
        ("symbol_rate", math.inf),
        ("symbol_rate", math.nan),
        ("symbol_rate", True),
        ("propagation_delay", -1e-3),
        ("propagation_delay", math.nan),
        ("header_bits", -1),
        ("header_bits", 3.5),
        ("crc", "crc7"),
        ("digits_per_packet", 0),
        ("digits_per_packet", True),
        ("arrival", "bursty"),
        ("arrival_rate", 0.0),
        ("arq", "go_back_n"),
        ("max_retransmissions", -1),
        ("max_retransmissions", 2.0),
        ("window", 0),
        ("ack_delay", -0.1),
        ("timeout", 0.0),
        ("timeout", -1.0),
        ("deadline", 0.0),
        ("deadline", -1.0),
        ("deadline", math.nan),
        ("on_crc_failure", "ignore"),
    ],
)
def test_bad_values_raise_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"LinkConfig\.{field} must be") as info:
        LinkConfig(**{field: value})
    assert "\n" not in str(info.value)


def test_config_is_frozen():
    with pytest.raises(Exception):
        LinkConfig().bit_rate = 2.0
