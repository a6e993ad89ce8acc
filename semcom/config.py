"""Build typed, frozen dataclasses from plain dicts (parsed TOML) with precise errors.

Each field may carry ``metadata={"check": predicate, "expect": "what was expected"}``.
Errors name the dotted key (``codecs[1].train.epochs``) and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Callable


class ConfigError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        self.key, self.detail = key, message
        super().__init__(f"{key}: {message}" if key else message)


def check(predicate: Callable[[Any], bool], expect: str) -> dict:
    return {"check": predicate, "expect": expect}


def positive(expect: str = "a positive integer") -> dict:
    return check(lambda v: v > 0, expect)


def non_negative(expect: str = "an integer >= 0") -> dict:
    return check(lambda v: v >= 0, expect)


def one_of(*choices: str) -> dict:
    return check(lambda v: v in choices, "one of " + ", ".join(repr(c) for c in choices))


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        return f"a list of {_describe(inner).removeprefix('a ').removeprefix('an ')}s"
    if origin is dict or tp is dict:
        return "a table"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp) if a is not type(None))
    if dataclasses.is_dataclass(tp):
        return "a table"
    return str(tp)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def coerce(tp: Any, value: Any, key: str) -> Any:
    """Check ``value`` against annotation ``tp``; ints are accepted where floats are."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(arg, value, key)
            except ConfigError:
                continue
        raise ConfigError(key, f"expected {_describe(tp)}, got {_short(value)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                raise ConfigError(key, f"expected a finite number, got {value}")
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin in (list, tuple):
        if isinstance(value, list):
            (inner, *_) = typing.get_args(tp) or (Any,)
            items = [coerce(inner, v, f"{key}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if origin is tuple else items
    elif tp is dict or origin is dict:
        if isinstance(value, dict):
            return dict(value)
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return build(tp, value, key)
    raise ConfigError(key, f"expected {_describe(tp)}, got {_short(value)}")


def build(cls: type, data: dict, prefix: str = "") -> Any:
    """Instantiate dataclass ``cls`` from ``data``; unknown keys and bad values raise ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(prefix, f"expected a table, got {_short(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(where, f"unknown key; expected one of: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                raise ConfigError(key, f"missing; expected {_describe(hints[name])}")
            continue
        value = coerce(hints[name], data[name], key)
        rule = f.metadata.get("check")
        if rule is not None and value is not None:
            values = value if isinstance(value, list) and f.metadata.get("each", False) else [value]
            for v in values:
                try:
                    ok = rule(v)
                except TypeError:
                    ok = False
                if not ok:
                    raise ConfigError(key, f"expected {f.metadata['expect']}, got {_short(v)}")
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}.{exc.key}" if prefix and exc.key else (exc.key or prefix), exc.detail) from None
    except ValueError as exc:
        raise ConfigError(prefix, str(exc)) from None
