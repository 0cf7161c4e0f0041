"""Read a spec file (.yaml/.yml, .json, .json5, .kdl) into one validated, expanded WorkflowSpec."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import json5
import yaml
from pydantic import ValidationError

from pytorc.spec import kdl
from pytorc.spec.errors import SpecError, from_validation
from pytorc.spec.expand import expand_spec
from pytorc.spec.model import WorkflowSpec
from pytorc.spec.references import resolve

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".json5": "json5", ".kdl": "kdl"}


def load_spec(path: Path) -> WorkflowSpec:
    """Parse, validate, expand parameters and resolve references; SpecError on any problem.

    The result is concrete: no parameters or regexes remain, every job lists the exact names
    of the jobs, files and user data it uses, and the job graph has no cycle."""
    file = str(path)
    with _gc_paused():
        spec = validate(read_data(Path(path)), file)
        expanded, origins = expand_spec(spec, file)
        return resolve(expanded, file, origins)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a spec expands.

    Expanding a sweep allocates tens of thousands of long-lived models; each allocation burst
    triggers collections that rescan them all, which doubled the load time of a 10,000-job
    sweep. Nothing here makes reference cycles, so reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate(data: Any, file: str) -> WorkflowSpec:
    """The parsed data as a WorkflowSpec (no expansion yet)."""
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise SpecError(file, "(top level)", f"expected a mapping of spec keys, got {kind}")
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        raise from_validation(file, exc, data, WorkflowSpec) from None


def read_data(path: Path) -> Any:
    """The file's content as plain data (dicts, lists, scalars), whatever its format."""
    file = str(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        raise SpecError(file, "(file)", f"unknown spec format {path.suffix!r}; use one of {known}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(file, "(file)", f"cannot read: {exc}") from None
    if fmt == "yaml":
        return _yaml(text, file)
    if fmt == "json":
        return _json(text, file)
    if fmt == "json5":
        return _json5(text, file)
    return kdl.to_data(kdl.parse(text, file), WorkflowSpec, file)


# --- YAML ---------------------------------------------------------------------------------


class _DuplicateKey(ValueError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


class _Yaml12Loader(yaml.SafeLoader):
    """YAML with the 1.2 core schema (as Torc's serde_yaml reads it): `1:10` and `1:30` stay
    strings instead of sexagesimal integers, `yes`/`no`/`on` stay strings, dates stay strings,
    and a key given twice in one mapping is an error rather than silently overwritten."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 16) if text.startswith("0x") else int(text, 10)


_DROPPED = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _core_int)


def _yaml(text: str, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader subclass: no arbitrary objects
    except _DuplicateKey as exc:
        raise SpecError(file, f"line {exc.line}", f"key {exc.key!r} given twice") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else "(file)"
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(file, where, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(file, "(file)", f"YAML syntax error: {exc}") from None


# --- JSON and JSON5 -----------------------------------------------------------------------


def _no_duplicates(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key, 0)
        out[key] = value
    return out


def _json(text: str, file: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise SpecError(file, exc.key, "key given twice in one object") from None
    except json.JSONDecodeError as exc:
        raise SpecError(file, f"line {exc.lineno}", f"JSON syntax error: {exc.msg}") from None


def _json5(text: str, file: str) -> Any:
    try:
        return json5.loads(text, allow_duplicate_keys=False)
    except ValueError as exc:
        message = str(exc)
        duplicate = re.match(r'Duplicate key "(.*)" found', message)
        if duplicate:
            raise SpecError(file, duplicate[1], "key given twice in one object") from None
        found = re.match(r"<string>:(\d+) (.*)", message)
        if found:
            raise SpecError(file, f"line {found[1]}", f"JSON5 syntax error: {found[2]}") from None
        raise SpecError(file, "(file)", f"JSON5 syntax error: {message}") from None
