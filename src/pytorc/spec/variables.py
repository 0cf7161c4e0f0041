"""Workflow `variables`: named constants put into every string of a spec before validation.

    variables: {root: /scratch/run7}
    jobs: [{name: prep, command: "prep --out {root}/prep"}]

A variable's `{name}` (or `{name:fmt}`) is replaced wherever it appears, except in the keys of
mappings, in `use_parameters` and in the `variables` mapping itself; `${...}` (shell variables,
`${files.input.x}`) is never touched. Unlike a parameter a variable expands nothing. As in Torc:
values are plain strings without templates, a name may not also be a parameter's, and once a spec
has variables, a `{name}` that is neither a variable nor a parameter is an error.
"""

from __future__ import annotations

import re
from typing import Any

from pytorc.spec.errors import SpecError, item_key

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")
_PARAMETERIZED = ("jobs", "files", "user_data")


def apply_variables(data: Any, file: str) -> Any:
    """The parsed spec with its variables substituted (unchanged when it has none)."""
    if not isinstance(data, dict) or not data.get("variables"):
        return data
    variables = _checked(data["variables"], file)
    parameters = _parameter_names(data)
    both = sorted(set(variables) & parameters)
    if both:
        raise SpecError(
            file, "variables", f"{', '.join(both)} is also a parameter; rename one of the two"
        )
    known = set(variables) | parameters
    return {
        key: value if key == "variables" else _walk(value, variables, known, file, key)
        for key, value in data.items()
    }


def _checked(variables: Any, file: str) -> dict[str, str]:
    if not isinstance(variables, dict):
        raise SpecError(file, "variables", "expected a mapping of names to strings")
    for name, value in variables.items():
        key = f"variables.{name}"
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise SpecError(file, key, "a variable name must match [A-Za-z_][A-Za-z0-9_]*")
        if not isinstance(value, str):
            raise SpecError(file, key, f"expected a string, got {value!r}")
        token = _TOKEN.search(value)
        if token:  # resolving one variable through another would depend on their order
            raise SpecError(
                file, key, f"a value is a literal string; {token[0]} belongs where it is used"
            )
    return variables


def _parameter_names(data: dict[str, Any]) -> set[str]:
    """Every parameter name the spec declares: shared ones and each record's own."""
    names = set(_keys(data.get("parameters")))
    for collection in _PARAMETERIZED:
        items = data.get(collection)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                names.update(_keys(item.get("parameters")))
    return names


def _keys(mapping: Any) -> list[str]:
    return [k for k in mapping if isinstance(k, str)] if isinstance(mapping, dict) else []


def _walk(value: Any, variables: dict[str, str], known: set[str], file: str, key: str) -> Any:
    if isinstance(value, str):
        return _substitute(value, variables, known, file, key)
    if isinstance(value, list):
        return [
            _walk(item, variables, known, file, _item_key(key, item, i))
            for i, item in enumerate(value)
        ]
    if isinstance(value, dict):
        return {
            k: v if k == "use_parameters" else _walk(v, variables, known, file, f"{key}.{k}")
            for k, v in value.items()
        }
    return value


def _item_key(key: str, item: Any, index: int) -> str:
    return item_key(key, item, index) if "." not in key else f"{key}[{index}]"


def _substitute(text: str, variables: dict[str, str], known: set[str], file: str, key: str) -> str:
    if "{" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        name, fmt = match[1], match[2]
        if name not in known:
            raise SpecError(
                file, key, f"{match[0]} is neither a variable nor a parameter (see variables)"
            )
        if name not in variables:
            return match[0]  # a parameter's, expanded later
        try:
            return format(variables[name], fmt or "")
        except ValueError as exc:
            raise SpecError(file, key, f"format {match[0]!r} does not apply: {exc}") from None

    return _TOKEN.sub(replace, text)
