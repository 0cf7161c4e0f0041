"""pytorc's one validator, for the spec models and the settings: classes declared like dataclasses.

Hand-written rather than pydantic: importing pydantic and building the spec's models cost
~0.25 s of every `torc run`, and pydantic-settings ~90 ms of every `torc` start. Every problem
is collected with its key path, in the order the fields are declared; `null` for a key with a
default means "not set". Two switches per class:

- `strict` (default True, the spec's serde rules): a string is not a number, a boolean is not
  an integer (an integer is a float). `strict = False` (settings, whose environment variables
  are always strings) also takes "8080" for an int, "2.5" for a float, and "yes"/"0"/"off" for
  a bool.
- `unknown_keys`: "forbid" (the default: an error with a "did you mean"), "ignore" (dropped,
  and named in the instance's `ignored_keys` so a caller can say so), or "allow" (kept in
  `model_extra` and given back by `model_dump`).

    class Job(Model):
        name: Annotated[str, min_length(1)]
        priority: Annotated[int, ge(0)] = 0
        depends_on: list[str] = field(default_factory=list)

    Job.model_validate({"name": "a"})   # ValidationError listing every problem

A module declaring models must not use `from __future__ import annotations`: the annotations
are read when the class is created, to build its checks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from types import NoneType, UnionType
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    NamedTuple,
    Self,
    TypeVar,
    Union,
    cast,
    dataclass_transform,
    get_args,
    get_origin,
)

T = TypeVar("T")
Loc = tuple[str | int, ...]


class Problem(NamedTuple):
    """One thing wrong with the data: where (keys and list indexes) and what, for a reader."""

    loc: Loc
    message: str
    unknown_key: bool = False


class ValidationError(ValueError):
    """Every problem found in some data (locations relative to it)."""

    def __init__(self, title: str, problems: list[Problem]) -> None:
        super().__init__(title, problems)
        self.title, self.problems = title, problems

    def __str__(self) -> str:
        found = "; ".join(f"{'.'.join(map(str, p.loc)) or '.'}: {p.message}" for p in self.problems)
        return f"{self.title}: {found}"


Check = Callable[[Any], Any]
"""Returns the value, checked (and maybe converted); raises ValueError with the problem, or
ValidationError with several."""


def _short(value: Any) -> str:
    """A value as it appears in a message: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _wrong(kind: str, value: Any) -> ValueError:
    return ValueError(f"expected {kind}, got {_short(value)}")


def _collect(problems: list[Problem], step: str | int, check: Check, value: Any) -> None:
    """Run `check` on the value at key or index `step`, adding what is wrong to `problems`."""
    try:
        check(value)
    except ValidationError as exc:
        problems.extend(p._replace(loc=(step, *p.loc)) for p in exc.problems)
    except ValueError as exc:
        problems.append(Problem((step,), str(exc)))


# --- rules beyond the type ----------------------------------------------------------------


class Rule:
    """A check beyond the type, attached with Annotated[type, rule]; `fn` raises ValueError."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def wrap(self, check: Check) -> Check:
        raise NotImplementedError


class Before(Rule):
    """Run `fn` on the raw value before the type check (it may return a replacement)."""

    def wrap(self, check: Check) -> Check:
        fn = self.fn
        return lambda value: check(fn(value))


class After(Rule):
    """Run `fn` on the value once it has the right type."""

    def wrap(self, check: Check) -> Check:
        fn = self.fn
        return lambda value: fn(check(value))


def ge(bound: int) -> After:
    """At least `bound` (the wording is pydantic's, which specs have always reported)."""

    def check(value: Any) -> Any:
        if value >= bound:
            return value
        raise ValueError(f"Input should be greater than or equal to {bound}, got {_short(value)}")

    return After(check)


def gt(bound: int) -> After:
    """More than `bound` (NaN is not)."""

    def check(value: Any) -> Any:
        if value > bound:
            return value
        raise ValueError(f"Input should be greater than {bound}, got {_short(value)}")

    return After(check)


def le(bound: int) -> After:
    """At most `bound`."""

    def check(value: Any) -> Any:
        if value <= bound:
            return value
        raise ValueError(f"Input should be less than or equal to {bound}, got {_short(value)}")

    return After(check)


def min_length(count: int, message: str | None = None) -> After:
    """At least `count` characters or items; `message` replaces the generic one."""
    plural = "" if count == 1 else "s"

    def check(value: Any) -> Any:
        if len(value) >= count:
            return value
        if message is not None:
            raise ValueError(message)
        if isinstance(value, str):
            raise ValueError(f"String should have at least {count} character{plural}")
        raise ValueError(
            f"List should have at least {count} item{plural} after validation, "
            f"not {len(value)}, got {_short(value)}"
        )

    return After(check)


# --- checks by type -----------------------------------------------------------------------


def _any(value: Any) -> Any:
    return value


def _str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise _wrong("a string", value)


def _int(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _wrong("an integer", value)


def _number(value: Any) -> Any:
    """int | float: either, kept as given (5 stays an integer)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise _wrong("a number", value)


def _float(value: Any) -> Any:
    return float(_number(value))


def _bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise _wrong("true or false", value)


_SCALARS: dict[Any, Check] = {str: _str, int: _int, float: _float, bool: _bool, Any: _any}

_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


def _lax_bool(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if type(value) is int and value in (0, 1):
        return bool(value)
    return _bool(value)


def _lax_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    return _int(value)


def _lax_float(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return _float(value)


def _lax_number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _lax_int(value)
        except ValueError:
            return _lax_float(value)
    return _number(value)


_LAX_SCALARS = {**_SCALARS, int: _lax_int, float: _lax_float, bool: _lax_bool}

_NOT_EMPTY = min_length(1)
NonEmptyStr = Annotated[str, _NOT_EMPTY]
"""The commonest field by far (names, commands, references): one call to check, not three."""


def _non_empty_str(value: Any) -> Any:
    if isinstance(value, str) and value:
        return value
    return _NOT_EMPTY.wrap(_str)(value)  # raises the problem


def _dict(value: Any) -> Any:
    """dict[str, Any]."""
    if not isinstance(value, dict):
        raise _wrong("a mapping", value)
    bad = [key for key in value if not isinstance(key, str)]
    if bad:
        problems = [Problem((key, "[key]"), f"expected a string, got {_short(key)}") for key in bad]
        raise ValidationError("mapping", problems)
    return value


def _dict_of(value_check: Check) -> Check:
    """dict[str, T]: string keys, each value checked."""

    def dict_of(value: Any) -> Any:
        _dict(value)
        problems: list[Problem] = []
        out = {}
        for key, item in value.items():
            try:
                out[key] = value_check(item)
            except ValueError:
                _collect(problems, key, value_check, item)
        if problems:
            raise ValidationError("mapping", problems)
        return out

    return dict_of


def _nullable(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _literal(choices: tuple[str, ...]) -> Check:
    names = [repr(c) for c in choices]
    expected = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

    def literal(value: Any) -> Any:
        if isinstance(value, str) and value in choices:
            return value
        raise _wrong(expected, value)

    return literal


def _list(item: Check) -> Check:
    def list_of(value: Any) -> Any:
        if not isinstance(value, list):
            raise _wrong("a list", value)
        try:
            return list(map(item, value))
        except ValueError:  # something is wrong: find every problem
            problems: list[Problem] = []
            for i, x in enumerate(value):
                _collect(problems, i, item, x)
            raise ValidationError("list", problems) from None

    return list_of


def compile_check(annotation: Any, strict: bool = True) -> Check:
    """The check for one field's type (TypeError for a type this module does not handle).

    `strict` governs the scalars here; a nested model keeps its own class's switch."""
    if annotation is NonEmptyStr:
        return _non_empty_str
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        check = compile_check(args[0], strict)
        for rule in args[1:]:
            if isinstance(rule, Rule):
                check = rule.wrap(check)
        return check
    if origin in (Union, UnionType):
        if len(args) == 2 and NoneType in args:
            return _nullable(compile_check(next(a for a in args if a is not NoneType), strict))
        if set(args) == {int, float}:
            return _number if strict else _lax_number
    elif origin is Literal and all(isinstance(a, str) for a in args):
        return _literal(args)
    elif origin is list:
        return _list(compile_check(args[0], strict))
    elif origin is dict and args == (str, Any):
        return _dict
    elif origin is dict and args[0] is str:
        return _dict_of(compile_check(args[1], strict))
    elif isinstance(annotation, type) and issubclass(annotation, Model):
        return annotation.check
    elif annotation in _SCALARS:
        return (_SCALARS if strict else _LAX_SCALARS)[annotation]
    raise TypeError(f"models cannot check {annotation!r}")


# --- models -------------------------------------------------------------------------------


class _Factory:
    """A class attribute standing for a default made fresh for each instance, on first use."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.make()
        instance.__dict__.setdefault("_defaults_made", set()).add(self.name)
        return value


class _FieldsSet:
    """`model_fields_set`, worked out when asked: storing it per instance made validating a
    20,000-job spec ~20% slower."""

    def __get__(self, instance: Any, owner: type) -> frozenset[str]:
        if instance is None:
            return frozenset()
        given, made = instance.__dict__, instance.__dict__.get("_defaults_made", ())
        return frozenset(k for k in given if k in owner.model_fields and k not in made)  # type: ignore[attr-defined]


def field(*, default_factory: Callable[[], T]) -> T:
    """A default made fresh for each instance: `field(default_factory=list)`."""
    return cast(T, _Factory(default_factory))


class FieldInfo(NamedTuple):
    """A model's field: its annotation as written (Annotated and all) and whether it has a
    default."""

    annotation: Any
    required: bool


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
class Model:
    """A record whose fields are declared as class annotations, validated on the way in.

    `model_validate(data)` (or keyword arguments) checks a mapping, `model_copy(update=...)`
    copies without checking, `model_dump()` gives plain data back. The names are pydantic's,
    whose models these replaced.

    An instance's __dict__ holds only the keys its data gave; a default is the class attribute
    the declaration made (a `field(default_factory=...)` makes its value on first access). A
    spec with thousands of jobs, each setting a few of their 25 keys, validates and copies
    much faster for it. `model_fields_set` names the fields the data gave a value.

    `strict` and `unknown_keys` are the switches the module's docstring describes; "ignore" is
    a Torc struct without serde's deny_unknown_fields. `replaced_keys` names the successor of a
    key Torc removed, for the error."""

    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    strict: ClassVar[bool] = True
    unknown_keys: ClassVar[Literal["forbid", "ignore", "allow"]] = "forbid"
    ignored_keys: ClassVar[tuple[str, ...]] = ()  # set per instance when keys were dropped
    model_extra: ClassVar[dict[str, Any]] = {}  # set per instance when unknown keys are allowed
    model_fields_set = _FieldsSet()  # the fields the data gave a (non-null) value
    replaced_keys: ClassVar[dict[str, str]] = {}  # a key Torc removed -> the one to use instead
    _checks: ClassVar[dict[str, Check]]
    _required: ClassVar[frozenset[str]]
    _optional: ClassVar[frozenset[str]]
    _order: ClassVar[dict[str | int, int]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.model_fields)  # the base classes' fields come first
        for name, annotation in inspect.get_annotations(cls).items():
            if isinstance(annotation, str):
                raise TypeError(f"{cls.__name__}.{name}: annotation is a string (see fields.py)")
            fields[name] = FieldInfo(annotation, required=name not in cls.__dict__)
        cls.model_fields = fields
        cls._checks = {name: compile_check(f.annotation, cls.strict) for name, f in fields.items()}
        cls._required = frozenset(name for name, f in fields.items() if f.required)
        cls._optional = frozenset(fields) - cls._required
        cls._order = {name: i for i, name in enumerate(fields)}

    def __init__(self, **data: Any) -> None:
        self.__dict__ = type(self).model_validate(data).__dict__

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """An instance from a mapping of field values; ValidationError lists every problem."""
        try:
            return cls.check(data)
        except ValidationError:
            raise
        except ValueError as exc:  # not a mapping, or a rule between fields
            raise ValidationError(cls.__name__, [Problem((), str(exc))]) from None

    @classmethod
    def check(cls, data: Any) -> Self:
        """The Check of a field holding this model."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise _wrong("a mapping", data)
        checks, optional = cls._checks, cls._optional
        unknown: dict[str, Any] = {}
        if cls.unknown_keys != "forbid" and not data.keys() <= checks.keys():
            unknown = {str(key): raw for key, raw in data.items() if key not in checks}
            data = {key: raw for key, raw in data.items() if key in checks}
        try:
            # null for a key with a default means "not set" (serde's Option), so it is skipped
            values = {
                key: checks[key](raw)
                for key, raw in data.items()
                if raw is not None or key not in optional
            }
        except (KeyError, ValueError):  # something is wrong: find every problem
            raise cls._problems(data) from None
        if not cls._required <= values.keys():
            raise cls._problems(data)
        instance = object.__new__(cls)
        instance.__dict__ = values
        instance.check_model()
        if unknown and cls.unknown_keys == "allow":
            values["model_extra"] = unknown
        elif unknown:
            values["ignored_keys"] = tuple(unknown)
        return instance

    @classmethod
    def _problems(cls, data: dict[Any, Any]) -> ValidationError:
        """Every problem in `data`, in declaration order with unknown keys last (as pydantic)."""
        problems: list[Problem] = []
        for key, raw in data.items():
            if raw is None and key in cls._optional:
                continue
            if key in cls._checks:
                _collect(problems, key, cls._checks[key], raw)
            else:
                problems.append(_unknown(key, cls._checks, cls.replaced_keys))
        missing = cls._required - data.keys()
        problems += [
            Problem((name,), "required key missing") for name in cls._order if name in missing
        ]
        last = len(cls._order)
        problems.sort(key=lambda p: cls._order.get(p.loc[0], last))
        return ValidationError(cls.__name__, problems)

    def check_model(self) -> None:
        """Rules between fields, run once every field is valid: raise ValueError to refuse."""

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Self:
        """A shallow copy with `update`'s fields replaced, unchecked (the caller knows them)."""
        copy = object.__new__(type(self))
        copy.__dict__ = {**self.__dict__, **update} if update else self.__dict__.copy()
        if update and "_defaults_made" in copy.__dict__:
            copy.__dict__["_defaults_made"] = copy.__dict__["_defaults_made"] - update.keys()
        return copy

    def model_dump(
        self,
        *,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
        exclude_none: bool = False,
    ) -> dict[str, Any]:
        """The fields as plain data (nested models as dicts), in declaration order."""
        out = {}
        for name in self.model_fields:
            if (include is None or name in include) and (exclude is None or name not in exclude):
                value = getattr(self, name)
                if not (exclude_none and value is None):
                    out[name] = _dump(value, exclude_none)
        out.update(_dump(self.model_extra, exclude_none))
        return out

    def __eq__(self, other: object) -> bool:
        fields = self.model_fields
        return type(other) is type(self) and all(
            getattr(self, name) == getattr(other, name) for name in fields
        )

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.model_fields)
        return f"{type(self).__name__}({fields})"


def _unknown(key: Any, allowed: Collection[str], replaced: dict[str, str]) -> Problem:
    if not isinstance(key, str):  # YAML `1: x`
        return Problem((key,), "Keys should be strings")
    if key in replaced:
        message = f"unknown key: Torc removed it; use {replaced[key]!r} instead"
        return Problem((key,), message, unknown_key=True)
    import difflib  # only when something is wrong

    close = difflib.get_close_matches(key, list(allowed), n=1)
    if close:
        message = f"unknown key; did you mean {close[0]!r}?"
    else:
        message = f"unknown key (allowed: {', '.join(allowed)})"
    return Problem((key,), message, unknown_key=True)


def _dump(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, Model):
        return value.model_dump(exclude_none=exclude_none)
    if isinstance(value, list):
        return [_dump(v, exclude_none) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, exclude_none) for k, v in value.items()}
    return value
