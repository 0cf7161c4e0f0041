"""Settings sections as dataclasses, filled from merged TOML and environment data.

Hand-written rather than pydantic: importing pydantic and building the section models cost
~0.15 s on every `torc` command, most of which need nothing else from it. The rules are the
ones a config file's author expects: numbers and booleans may come as strings (environment
variables always do), names are checked, and every problem is reported with its key path.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from typing import Any, Literal, TypeVar, get_args, get_origin

T = TypeVar("T")
Loc = tuple[str, ...]

_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})
_INT = re.compile(r"[+-]?\d+")


class SettingsError(ValueError):
    """Every problem found, as (key path, message) pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(loc)}: {msg}" for loc, msg in problems))
        self.problems = problems


def extra_keys(cls: type) -> str:
    """'forbid' (the default), 'allow' (kept in `extra`) or 'ignore', from `__extra__`."""
    return str(getattr(cls, "__extra__", "forbid"))


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """Each field's type, resolved from the class's (string) annotations."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def build(cls: type[T], data: Any, loc: Loc = ()) -> T:
    """An instance of section `cls` from `data`; SettingsError listing every problem."""
    problems: list[tuple[Loc, str]] = []
    value = _section(cls, data, loc, problems)
    if problems:
        raise SettingsError(problems)
    return typing.cast(T, value)


def as_dict(section: Any) -> dict[str, Any]:
    """The section as plain data (nested sections as tables), extra keys included."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        if not f.init:
            continue
        value = getattr(section, f.name)
        if f.name == "extra" and extra_keys(type(section)) == "allow":
            out.update(value)
        elif dataclasses.is_dataclass(value):
            out[f.name] = as_dict(value)
        elif isinstance(value, list | dict):
            out[f.name] = value.copy()
        else:
            out[f.name] = value
    return out


def _section(cls: type, data: Any, loc: Loc, problems: list[tuple[Loc, str]]) -> Any:
    if not isinstance(data, dict):
        problems.append((loc, f"expected a table, got {data!r}"))
        return None
    types = field_types(cls)
    policy = extra_keys(cls)
    given: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, raw in data.items():
        if key in types and key != "extra":
            given[key] = _value(types[key], raw, (*loc, key), problems, _limits(cls, key))
        elif policy == "allow":
            extra[key] = raw
        elif policy == "forbid":
            problems.append(((*loc, str(key)), "unknown key"))
    if problems:
        return None
    if policy == "allow":
        given["extra"] = extra
    instance = cls(**given)
    instance.fields_set = frozenset(data)
    return instance


def _limits(cls: type, key: str) -> dict[str, float]:
    for f in dataclasses.fields(cls):
        if f.name == key:
            return dict(f.metadata)
    return {}


def _value(
    kind: Any, raw: Any, loc: Loc, problems: list[tuple[Loc, str]], limits: dict[str, float]
) -> Any:
    origin, args = get_origin(kind), get_args(kind)
    if origin in (typing.Union, type(int | None)):
        if raw is None and type(None) in args:
            return None
        kind = next(a for a in args if a is not type(None))
        origin, args = get_origin(kind), get_args(kind)
    if is_section(kind):
        return _section(kind, raw, loc, problems)
    value, problem = _convert(kind, origin, args, raw)
    if problem is None and isinstance(value, int | float) and not isinstance(value, bool):
        problem = _out_of_range(value, limits)
    if problem is not None:
        problems.append((loc, problem))
    return value


def _convert(kind: Any, origin: Any, args: tuple[Any, ...], raw: Any) -> tuple[Any, str | None]:
    """(value, None), or (None, what is wrong)."""
    if origin is Literal:
        if raw in args:
            return raw, None
        return None, f"expected one of {', '.join(repr(a) for a in args)}, got {raw!r}"
    if origin is list:
        if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            return list(raw), None
        return None, f"expected a list of strings, got {raw!r}"
    if origin is dict:
        if isinstance(raw, dict):
            return dict(raw), None
        return None, f"expected a table, got {raw!r}"
    if kind is bool:
        return _boolean(raw)
    if kind is int:
        return _integer(raw)
    if kind is float:
        return _number(raw)
    if kind is str:
        return (raw, None) if isinstance(raw, str) else (None, f"expected a string, got {raw!r}")
    return raw, None  # Any


def _boolean(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, bool):
        return raw, None
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE, None
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw), None
    return None, f"expected true or false, got {raw!r}"


def _integer(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw, None
    if isinstance(raw, float) and raw.is_integer():
        return int(raw), None
    if isinstance(raw, str) and _INT.fullmatch(raw.strip()):
        return int(raw), None
    return None, f"expected an integer, got {raw!r}"


def _number(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw), None
    if isinstance(raw, str):
        try:
            return float(raw), None
        except ValueError:
            pass
    return None, f"expected a number, got {raw!r}"


def _out_of_range(value: float, limits: dict[str, float]) -> str | None:
    if "ge" in limits and value < limits["ge"]:
        return f"must be at least {limits['ge']:g}, got {value:g}"
    if "gt" in limits and value <= limits["gt"]:
        return f"must be greater than {limits['gt']:g}, got {value:g}"
    if "le" in limits and value > limits["le"]:
        return f"must be at most {limits['le']:g}, got {value:g}"
    return None
