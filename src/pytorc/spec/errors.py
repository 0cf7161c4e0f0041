"""SpecError: one line naming the file, the key and the problem, whatever went wrong."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from pytorc.errors import TorcError

# Top-level lists whose items are named; a key path names the item rather than its index.
NAMED_LISTS = frozenset(
    {
        "jobs",
        "files",
        "user_data",
        "resource_requirements",
        "failure_handlers",
        "slurm_schedulers",
    }
)


class SpecError(TorcError):
    """A workflow spec that cannot become a workflow: `str(err)` is "file: key: problem"."""

    status = 422

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = " ".join(problem.split())  # always one line
        super().__init__(f"{self.file}: {self.key}: {self.problem}")


def item_key(collection: str, item: Any, index: int) -> str:
    """`jobs.work_{i}` for a named item, `actions[2]` otherwise."""
    name = item.get("name") if isinstance(item, dict) else getattr(item, "name", None)
    if collection in NAMED_LISTS and isinstance(name, str) and name:
        return f"{collection}.{name}"
    return f"{collection}[{index}]"


def _key_path(loc: tuple[int | str, ...], raw: Any) -> str:
    """A readable path for a pydantic error location, using item names where the data has them."""
    parts: list[str] = []
    node = raw
    for step in loc:
        if isinstance(step, int) and len(parts) == 1:  # an item of a top-level list
            item = node[step] if _indexable(node, step) else None
            parts[-1] = item_key(parts[-1], item, step)
        elif isinstance(step, int) and parts:
            parts[-1] = f"{parts[-1]}[{step}]"
        else:
            parts.append(str(step))
        node = node[step] if _indexable(node, step) else None
    return ".".join(parts) if parts else "(top level)"


def _indexable(node: Any, step: int | str) -> bool:
    if isinstance(node, list) and isinstance(step, int):
        return 0 <= step < len(node)
    return isinstance(node, dict) and step in node


def _model_fields_at(loc: tuple[int | str, ...], model: type[BaseModel]) -> list[str]:
    """The keys the model at `loc` allows (for 'did you mean')."""
    current: Any = model
    for step in loc:
        if isinstance(step, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(step)
        if field is None:
            return []
        current = _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The model type inside list[M], M | None, Annotated[list[M], ...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_KINDS = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(error: Any, model: type[BaseModel]) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        allowed = _model_fields_at(loc[:-1], model)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key{hint}" + (f" (allowed: {', '.join(allowed)})" if not close else "")
    if kind in _KINDS:
        return f"expected {_KINDS[kind]}, got {_short(error.get('input'))}"
    if kind == "too_short" and loc == ("jobs",):
        return "a workflow needs at least one job"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"expected {expected}, got {_short(error.get('input'))}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in ("greater_than_equal", "greater_than", "too_short"):
        message = f"{message}, got {_short(error.get('input'))}"
    return message


def from_validation(file: str, exc: ValidationError, raw: Any, model: type[BaseModel]) -> SpecError:
    """The first validation problem as a SpecError (with a count of the others)."""
    # An unknown key first: a misspelt key also makes the real key "missing", and the
    # misspelling is the cause worth naming.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    problem = _problem(first, model)
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return SpecError(file, _key_path(tuple(first["loc"]), raw), problem)


class DuplicateKey(ValueError):
    """A key given twice in one mapping, found while parsing (line 0 when unknown)."""

    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line
