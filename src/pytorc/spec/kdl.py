"""KDL documents -> the same plain data a YAML or JSON spec parses to.

The mapping is driven by the spec model, so a key means the same in every format:

- A scalar key takes one argument: `name "x"`, `priority 3`, `supports_termination true`.
- A list key takes any number of arguments and may repeat: `depends_on "a" "b"` then
  `depends_on "c"` gives ["a", "b", "c"]. Singular spellings are accepted too: `depends_on_job`,
  `input_file`, `output_file`, `job` (in an action), `command` (in an action), `rule`, ...
- A record (job, file, user_data, resource_requirements, slurm_scheduler, failure_handler) is a
  node whose argument is its name; its keys are properties or children:
  `file "f1" path="f1.json"`, `job "a" { command "echo a" }`. An `action` has no name.
- A mapping (parameters, metadata, slurm_defaults) is a node whose children are its entries:
  `parameters { i "1:10"; lr 0.1 0.01 }` (several arguments make a list).
- Free data (user_data `data`, metadata values): children make an object, children all named
  `-` make an array, several arguments an array, one argument a scalar.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import ckdl

from pytorc.fields import Model
from pytorc.spec.errors import SpecError, item_key

# Singular (or Torc-historical) spellings -> the model's key, used only when the spelling is not
# itself a key of the model at hand ("failure_handler" is a job key but a top-level record).
ALIASES = {
    "job": "jobs",
    "file": "files",
    "slurm_scheduler": "slurm_schedulers",
    "failure_handler": "failure_handlers",
    "action": "actions",
    "rule": "rules",
    "depends_on_job": "depends_on",
    "depends_on_regex": "depends_on_regexes",
    "input_file": "input_files",
    "output_file": "output_files",
    "input_file_regex": "input_file_regexes",
    "output_file_regex": "output_file_regexes",
    "input_user_data_regex": "input_user_data_regexes",
    "output_user_data_regex": "output_user_data_regexes",
    "job_name_regex": "job_name_regexes",
    "command": "commands",
    "exit_code": "exit_codes",
    "use_parameter": "use_parameters",
}


def parse(text: str, file: str) -> list[Any]:
    """The document's nodes, or a SpecError naming the line of the first syntax error."""
    try:
        return list(ckdl.parse(text, version="any").nodes)
    except ckdl.ParseError as exc:
        raise SpecError(file, f"line {_error_line(text)}", f"KDL syntax error: {exc}") from None


def _error_line(text: str) -> int:
    """The line a KDL syntax error is on.

    ckdl reports no position, so look at prefixes: the error is on the line after the longest
    prefix that still parses, or only fails for running out of text ("end of data"). A document
    is KDL 1 or KDL 2, and the other version's parser stops early at the first construct it
    lacks, so the version that gets further is the one the document was written in."""
    lines = text.splitlines(keepends=True)
    return max(_error_line_in(lines, version) for version in (1, 2))


def _error_line_in(lines: list[str], version: int) -> int:
    for n in range(len(lines) - 1, 0, -1):
        try:
            ckdl.parse("".join(lines[:n]), version=version)
        except ckdl.ParseError as exc:
            if "end of data" not in str(exc).lower():
                continue
        return min(n + 1, len(lines))
    return 1


def to_data(nodes: list[Any], model: type[Model], file: str) -> dict[str, Any]:
    """The top-level nodes as the dict the model validates."""
    return _Converter(file).record_body(nodes, {}, model, "")


def _kind(model: type[Model], key: str) -> tuple[str, Any]:
    """How a key of `model` is written: scalar, scalars, record(s), mapping or data."""
    field = model.model_fields[key]
    annotation = _strip(field.annotation)
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation)
        item = _strip(item)
        if isinstance(item, type) and issubclass(item, Model):
            return "records", item
        return "scalars", None
    if origin is dict:
        return "mapping", None
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return "record", annotation
    if annotation is Any:
        return "data", None
    return "scalar", None


def _strip(annotation: Any) -> Any:
    """X from Annotated[X, ...] and X | None."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (types.UnionType, typing.Union):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _plain(value: Any) -> Any:
    """A KDL value without its type annotation."""
    return value.value if isinstance(value, ckdl.Value) else value


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, problem: str) -> SpecError:
        return SpecError(self.file, key, problem)

    def record_body(
        self, children: list[Any], props: dict[str, Any], model: type[Model], path: str
    ) -> dict[str, Any]:
        """Properties and child nodes as the keys of one record."""
        out: dict[str, Any] = {}
        for key, value in props.items():
            name = self.key_of(model, key)
            if name in out:
                raise self.fail(_join(path, key), "given twice")
            kind = _kind(model, name)[0] if name in model.model_fields else "scalar"
            out[name] = [_plain(value)] if kind == "scalars" else _plain(value)
        for node in children:
            self.add_child(out, node, model, path)
        return out

    def key_of(self, model: type[Model], key: str) -> str:
        if key in model.model_fields:
            return key
        alias = ALIASES.get(key)
        return alias if alias in model.model_fields else key

    def add_child(self, out: dict[str, Any], node: Any, model: type[Model], path: str) -> None:
        name = self.key_of(model, node.name)
        key = _join(path, node.name)
        if name not in model.model_fields:  # left for the model to reject as an unknown key
            out.setdefault(name, self.data(node, key))
            return
        kind, item_model = _kind(model, name)
        args = [_plain(a) for a in node.args]
        if kind == "records":
            items = out.setdefault(name, [])
            items.append(self.record(node, item_model, name, len(items), key))
        elif kind == "scalars":
            self.no_children(node, key)
            out.setdefault(name, []).extend(args)
        elif name in out:
            raise self.fail(key, "given twice")
        elif kind == "record":
            self.no_args(node, key)
            out[name] = self.record_body(node.children, node.properties, item_model, key)
        elif kind == "mapping" and len(args) == 1 and not (node.children or node.properties):
            out[name] = args[0]  # metadata as a JSON string, as Torc 0.12 wrote it
        elif kind == "mapping":
            out[name] = self.mapping(node, key)
        elif kind == "data":
            out[name] = self.data(node, key)
        else:
            self.no_children(node, key)
            if len(args) != 1 or node.properties:
                raise self.fail(key, f"expected one value, got {len(args)}")
            out[name] = args[0]

    def record(
        self, node: Any, model: type[Model], collection: str, index: int, key: str
    ) -> dict[str, Any]:
        """One item of a record list: `job "name" { ... }` or `action { ... }`."""
        args = [_plain(a) for a in node.args]
        named = "name" in model.model_fields
        if len(args) > (1 if named else 0):
            what = "one argument, its name" if named else "no arguments"
            raise self.fail(
                f"{collection}[{index}]", f"a {node.name} takes {what}, got {len(args)}"
            )
        head = {"name": args[0]} if args else {}
        path = item_key(collection, head, index)
        body = self.record_body(node.children, node.properties, model, path)
        if args and "name" in body:
            raise self.fail(f"{path}.name", "given twice")
        return {**head, **body}

    def mapping(self, node: Any, key: str) -> dict[str, Any]:
        self.no_args(node, key)
        out = {k: _plain(v) for k, v in node.properties.items()}
        for child in node.children:
            if child.name in out:
                raise self.fail(_join(key, child.name), "given twice")
            out[child.name] = self.data(child, _join(key, child.name))
        return out

    def data(self, node: Any, key: str) -> Any:
        """Free-form data: object, array (`-` children or several arguments) or scalar."""
        args = [_plain(a) for a in node.args]
        if node.children:
            if args:
                raise self.fail(key, "give either arguments or children, not both")
            if all(child.name == "-" for child in node.children):
                return [self.data(child, f"{key}[{i}]") for i, child in enumerate(node.children)]
            return self.mapping(node, key)
        if node.properties:
            if args:
                raise self.fail(key, "give either arguments or properties, not both")
            return {k: _plain(v) for k, v in node.properties.items()}
        if len(args) == 1:
            return args[0]
        return args if args else None

    def no_args(self, node: Any, key: str) -> None:
        if node.args:
            raise self.fail(key, "takes no arguments, only children")

    def no_children(self, node: Any, key: str) -> None:
        if node.children or node.properties:
            raise self.fail(key, "takes values as arguments, not children or properties")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
