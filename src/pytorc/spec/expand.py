"""Parameter expansion: one templated job, file or user data record -> one record per value set.

The values and templates themselves are pytorc.parameters' (the server expands job sweeps with
the same rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pytorc.parameters import TEMPLATE, Combo, Value, combinations, parse_values, substitute
from pytorc.spec.errors import SpecError
from pytorc.spec.model import FileSpec, JobSpec, Parameterized, UserDataSpec, WorkflowSpec

P = TypeVar("P", bound=Parameterized)

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
    used = {m[1] for m in TEMPLATE.finditer(template.name)}  # type: ignore[attr-defined]
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
