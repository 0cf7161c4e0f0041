"""YAML spec files, read with the YAML 1.2 core schema (imported only for .yaml/.yml specs)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from pytorc.spec.errors import DuplicateKey, SpecError

# --- YAML ---------------------------------------------------------------------------------


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
                raise DuplicateKey(str(key), key_node.start_mark.line + 1)
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


def read_yaml(text: str, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader subclass: no arbitrary objects
    except DuplicateKey as exc:
        raise SpecError(file, f"line {exc.line}", f"key {exc.key!r} given twice") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else "(file)"
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(file, where, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(file, "(file)", f"YAML syntax error: {exc}") from None
