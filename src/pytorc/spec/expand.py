"""Parameter expansion: one templated job, file or user data record -> one record per value set.

Values: "1:100" (inclusive integer range), "0:100:10" (with a step, which may be negative),
"0.0:1.0:0.1" (float range; the end is kept when a step lands on it within rounding), "[1,5,10]"
or "['adam','sgd']" (a list), a scalar, or a YAML/JSON/KDL list. `product` mode takes every
combination, `zip` pairs the i-th values (equal lengths required). `{name}` and `{name:fmt}`
(Python format specs such as `03d` or `.4f`) are replaced in names, commands and references.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pytorc.spec.errors import SpecError
from pytorc.spec.model import FileSpec, JobSpec, Parameterized, UserDataSpec, WorkflowSpec

Value = int | float | str
Combo = dict[str, Value]
P = TypeVar("P", bound=Parameterized)

MAX_EXPANSION = 1_000_000
"""More records than this from one template is almost surely a typo (and would exhaust memory)."""

_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^({_NUMBER}):({_NUMBER})(?::({_NUMBER}))?$")
_INT = re.compile(r"^[-+]?\d+$")
_DASHED_RANGE = re.compile(r"^(\d+)-(\d+)$")

# Job keys holding a name (or names) that templates apply to; regex keys get escaped values.
JOB_NAME_KEYS = (
    "name",
    "command",
    "invocation_script",
    "resource_requirements",
    "scheduler",
    "failure_handler",
    "depends_on",
    "input_files",
    "output_files",
    "input_user_data",
    "output_user_data",
)
JOB_REGEX_KEYS = (
    "depends_on_regexes",
    "input_file_regexes",
    "output_file_regexes",
    "input_user_data_regexes",
    "output_user_data_regexes",
)


# --- values -------------------------------------------------------------------------------


def parse_values(raw: Any) -> list[Value]:
    """The values one parameter stands for; ValueError says why there are none."""
    if isinstance(raw, list):
        values: list[Value] = list(raw)
    elif isinstance(raw, int | float):
        values = [raw]
    else:
        values = _parse_text(str(raw))
    if not values:
        raise ValueError(f"{raw!r} expands to no values")
    return values


def _parse_text(raw: str) -> list[Value]:
    text = raw.strip()
    if text.startswith("{") and text.endswith("}"):  # Torc tolerates "{1:100}"
        text = text[1:-1].strip()
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(item) for item in _split_list(text[1:-1])]
    found = _RANGE.match(text)
    if found:
        start, end, step = found.groups()
        if all(_INT.match(p) for p in (start, end, step or "1")):
            return _int_range(int(start), int(end), int(step or 1))
        return _float_range(start, end, step or "1")
    if not text:
        raise ValueError("empty value")
    dashed = _DASHED_RANGE.match(text)
    if dashed:  # Slurm's array syntax, which would otherwise be one value named "1-20"
        start, end = dashed.groups()
        raise ValueError(
            f"{raw!r} looks like a range: write '{start}:{end}' (both ends included), or"
            f" ['{text}'] for that one text value"
        )
    return [_scalar(text)]


def _split_list(inner: str) -> list[str]:
    """Comma-separated items; commas inside quotes do not split."""
    items, current, quote = [], "", ""
    for char in inner:
        if quote:
            current += char
            quote = "" if char == quote else quote
        elif char in "'\"":
            current += char
            quote = char
        elif char == ",":
            items.append(current)
            current = ""
        else:
            current += char
    if quote:
        raise ValueError(f"unclosed quote in list [{inner}]")
    items.append(current)
    stripped = [item.strip() for item in items]
    if stripped == [""]:
        return []
    if "" in stripped:
        raise ValueError(f"empty item in list [{inner}]")
    return stripped


def _scalar(text: str) -> Value:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if _INT.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _int_range(start: int, end: int, step: int) -> list[Value]:
    if step == 0:
        raise ValueError("range step must not be 0")
    values: list[Value] = list(range(start, end + (1 if step > 0 else -1), step))
    if not values:
        raise ValueError(f"range {start}:{end}:{step} is empty (the step goes the wrong way)")
    return values


def _decimals(text: str) -> int:
    if "e" in text.lower():
        return 12
    return len(text.split(".")[1]) if "." in text else 0


def _float_range(start_s: str, end_s: str, step_s: str) -> list[Value]:
    start, end, step = float(start_s), float(end_s), float(step_s)
    if step == 0:
        raise ValueError("range step must not be 0")
    span = (end - start) / step
    if span < -1e-9 or not math.isfinite(span):
        raise ValueError(f"range {start_s}:{end_s}:{step_s} is empty (the step goes the wrong way)")
    count = math.floor(span + 1e-9) + 1  # epsilon: 0.0:1.0:0.1 ends at 1.0, not 0.9
    if count > MAX_EXPANSION:
        raise ValueError(f"range {start_s}:{end_s}:{step_s} has {count} values")
    # Round to the inputs' precision so 0.1 * 3 is 0.3, not 0.30000000000000004.
    digits = max(_decimals(start_s), _decimals(end_s), _decimals(step_s))
    return [round(start + i * step, digits) for i in range(count)]


def combinations(params: dict[str, list[Value]], mode: str) -> list[Combo]:
    """Every value set: the Cartesian product (first parameter outermost) or the zip."""
    names = list(params)
    if mode == "zip":
        lengths = {name: len(values) for name, values in params.items()}
        if len(set(lengths.values())) > 1:
            sizes = ", ".join(f"{n} has {c}" for n, c in lengths.items())
            raise ValueError(f"zip needs parameters with equally many values: {sizes}")
        return [dict(zip(names, row, strict=True)) for row in zip(*params.values(), strict=True)]
    total = math.prod(len(v) for v in params.values())
    if total > MAX_EXPANSION:
        raise ValueError(f"the parameters make {total} combinations (limit {MAX_EXPANSION})")
    return [dict(zip(names, row, strict=True)) for row in itertools.product(*params.values())]


# --- templates ----------------------------------------------------------------------------


def substitute(template: str, combo: Combo, escape: bool = False) -> str:
    """`template` with `{name}` / `{name:fmt}` replaced for the names in `combo`."""
    if "{" not in template:
        return template

    def replace(match: re.Match[str]) -> str:
        name, fmt = match.group(1), match.group(2)
        if name not in combo:
            return match.group(0)  # not ours: shell braces, awk programs, ...
        try:
            text = format(combo[name], fmt or "")
        except ValueError as exc:
            raise ValueError(
                f"format {match.group(0)!r} does not apply to {combo[name]!r}: {exc}"
            ) from None
        return re.escape(text) if escape else text

    return _TEMPLATE.sub(replace, template)


def _substitute_data(data: Any, combo: Combo) -> Any:
    if isinstance(data, str):
        return substitute(data, combo)
    if isinstance(data, list):
        return [_substitute_data(item, combo) for item in data]
    if isinstance(data, dict):
        return {key: _substitute_data(value, combo) for key, value in data.items()}
    return data


# --- records ------------------------------------------------------------------------------


def _params_for(
    record: Parameterized, shared: dict[str, Any] | None, fail: Callable[[str, str], SpecError]
) -> dict[str, list[Value]] | None:
    """The parsed parameters a record expands over: its own, else the shared ones it names."""
    if record.parameters:
        raw = record.parameters  # local parameters replace shared ones completely (as in Torc)
    elif record.use_parameters:
        missing = [n for n in record.use_parameters if n not in (shared or {})]
        if missing:
            raise fail("use_parameters", f"no workflow parameter named {missing[0]!r}")
        raw = {name: (shared or {})[name] for name in record.use_parameters}
    else:
        return None
    parsed = {}
    for name, value in raw.items():
        try:
            parsed[name] = parse_values(value)
        except ValueError as exc:
            key = f"parameters.{name}" if record.parameters else "use_parameters"
            raise fail(key, f"parameter {name!r}: {exc}") from None
    return parsed


def _expand(
    records: list[P],
    collection: str,
    shared: dict[str, Any] | None,
    file: str,
    make: Callable[[P, list[str], Combo], dict[str, Any]],
) -> Iterator[tuple[str, P, P]]:
    """(template key, expanded record, template) for every record and value set."""
    for record in records:
        key = f"{collection}.{record.name}"  # type: ignore[attr-defined]

        def fail(sub: str, problem: str, key: str = key) -> SpecError:
            return SpecError(file, f"{key}.{sub}", problem)

        params = _params_for(record, shared, fail)
        if params is None:
            yield key, record, record
            continue
        try:
            combos = combinations(params, record.parameter_mode)
        except ValueError as exc:
            raise fail("parameters", str(exc)) from None
        reset = {"parameters": None, "use_parameters": None, "parameter_mode": "product"}
        templated = [k for k in type(record).model_fields if _has_template(getattr(record, k))]
        for combo in combos:
            try:
                update = make(record, templated, combo)
            except ValueError as exc:
                raise SpecError(file, key, str(exc)) from None
            yield key, record.model_copy(update={**reset, **update}), record


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{" in value
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    return False


def _make_job(job: JobSpec, templated: list[str], combo: Combo) -> dict[str, Any]:
    """The substituted values of the job keys that hold templates."""
    update: dict[str, Any] = {}
    for key in templated:
        value = getattr(job, key)
        if key in JOB_REGEX_KEYS:
            update[key] = [substitute(v, combo, escape=True) for v in value]
        elif key in JOB_NAME_KEYS and isinstance(value, list):
            update[key] = [substitute(v, combo) for v in value]
        elif key in JOB_NAME_KEYS:
            update[key] = substitute(value, combo)
        elif key == "env":
            update[key] = {name: substitute(v, combo) for name, v in value.items()}
    return update


def _make_file(spec: FileSpec, templated: list[str], combo: Combo) -> dict[str, Any]:
    update = {"name": substitute(spec.name, combo), "path": substitute(spec.path, combo)}
    if spec.identifier is not None:
        update["identifier"] = substitute(spec.identifier, combo)
    return update


def _make_user_data(spec: UserDataSpec, templated: list[str], combo: Combo) -> dict[str, Any]:
    return {"name": substitute(spec.name, combo), "data": _substitute_data(spec.data, combo)}


Origins = dict[str, dict[str, str]]
"""collection -> expanded name -> the key of the template it came from (for error messages)."""


def expand_spec(spec: WorkflowSpec, file: str) -> tuple[WorkflowSpec, Origins]:
    """The spec with every parameterized job, file and user data record expanded.

    Duplicate names after expansion are an error naming both templates."""
    shared = spec.parameters
    origins: Origins = {}
    expanded: dict[str, Any] = {}
    sources: list[tuple[str, list[Any], Callable[[Any, list[str], Combo], dict[str, Any]]]] = [
        ("jobs", spec.jobs, _make_job),
        ("files", spec.files, _make_file),
        ("user_data", spec.user_data, _make_user_data),
    ]
    for collection, records, make in sources:
        seen: dict[str, str] = {}
        out = []
        for key, record, template in _expand(records, collection, shared, file, make):
            if record.name in seen:
                first = seen[record.name]
                also = "" if first == key else f" (also made by {first})"
                problem = f"duplicate name {record.name!r}{also}"
                raise SpecError(file, key, problem + _duplicate_hint(collection, template))
            seen[record.name] = key
            out.append(record)
        origins[collection] = seen
        expanded[collection] = out
    if spec.env and shared:
        expanded["env"] = _shared_into_env(spec.env, shared)
    return spec.model_copy(update=expanded), origins


def _duplicate_hint(collection: str, template: Parameterized) -> str:
    """What to do when a parameterized record's name leaves out some of its parameters."""
    names = list(template.parameters or {}) or list(template.use_parameters or [])
    used = {m[1] for m in _TEMPLATE.finditer(template.name)}  # type: ignore[attr-defined]
    missing = [name for name in names if name not in used]
    if not missing:
        return ""
    placeholders = ", ".join(f"{{{name}}}" for name in missing)
    hint = f": the name has no placeholder for {placeholders}, so all their values make this name"
    if collection == "jobs":
        hint += (
            "; for a fan-in (one job after many parameterized ones) drop the job's parameters"
            " and use depends_on_regexes / input_file_regexes, or put the placeholders in the name"
        )
    else:
        hint += "; put the placeholders in the name"
    return hint


def _shared_into_env(env: dict[str, str], shared: dict[str, Any]) -> dict[str, str]:
    """The workflow's env with shared parameters filled in, as Torc does: a parameter with one
    value gives that value, any other its text as written."""
    combo: Combo = {}
    for name, raw in shared.items():
        try:
            values = parse_values(raw)
        except ValueError:
            values = []
        if len(values) == 1:
            combo[name] = values[0]
        elif isinstance(raw, str):
            combo[name] = raw
    return {key: substitute(value, combo) for key, value in env.items()}
