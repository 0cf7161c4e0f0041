"""Big parameter sweeps kept whole: sent as one template for the server to expand.

Expanding a million-job sweep here and sending the records cost ~50 s of client time; a sweep
(POST /workflows/{id}/job_sweeps) is a few hundred bytes. A parameterized job stays a sweep only
when the server can expand it exactly as `expand_spec` would and nothing else needs its jobs one
by one:

- it makes at least SWEEP_MIN_JOBS jobs;
- templates appear only in its name, command and invocation_script; it has no files, user data
  (nor `${files...}` / `${user_data...}` variables), regexes or stdio override, and the jobs it
  depends on are plain jobs of the spec;
- no other job or action names one of its jobs exactly, and each other job's depends_on_regexes
  matches all of its jobs (a fan-in: one set-wise edge insert on the server) or none;
- no cycle passes through it.

Any other sweep is expanded as before, so whatever the spec says still means the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pytorc.parameters import TEMPLATE, Value, count_rows, parse_all, row_formatter, rows
from pytorc.spec.expand import expand_spec
from pytorc.spec.model import JobSpec, WorkflowSpec
from pytorc.spec.references import edges, levels, literal_prefix, resolve

SWEEP_MIN_JOBS = 10_000
"""Smaller sweeps are expanded here: their upload takes well under a second anyway."""

_FORBIDDEN = (
    "input_files",
    "input_file_regexes",
    "output_files",
    "output_file_regexes",
    "input_user_data",
    "input_user_data_regexes",
    "output_user_data",
    "output_user_data_regexes",
    "depends_on_regexes",
)


@dataclass
class Sweep:
    """One job template the server expands; `fan_ins` wait for every job it makes."""

    template: JobSpec
    raw_parameters: dict[str, Any]
    values: dict[str, list[Value]]
    count: int
    fan_ins: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        """Every job name the sweep makes, in creation order."""
        name_of = row_formatter(self.template.name, list(self.values))
        return [name_of(row) for row in rows(self.values, self.template.parameter_mode)]

    def could_name(self, name: str) -> bool:
        """Whether `name` may be one of the sweep's names (a safe over-approximation)."""
        return self._pattern.fullmatch(name) is not None

    def __post_init__(self) -> None:
        parts, end = [], 0
        for match in TEMPLATE.finditer(self.template.name):
            if match.group(1) in self.values:
                parts += [re.escape(self.template.name[end : match.start()]), "(?s:.*)"]
                end = match.end()
        parts.append(re.escape(self.template.name[end:]))
        self._pattern = re.compile("".join(parts))


def split_sweeps(spec: WorkflowSpec, file: str) -> tuple[WorkflowSpec, list[Sweep]] | None:
    """The resolved spec without its big sweeps, and the sweeps; None when there are none to
    keep whole (then the caller loads the spec as usual)."""
    sweeps = {s.template.name: s for s in _candidates(spec)}
    while sweeps:
        rest = spec.model_copy(update={"jobs": [j for j in spec.jobs if j.name not in sweeps]})
        expanded, origins = expand_spec(rest, file)
        for sweep in sweeps.values():
            sweep.fan_ins = []
        jobs, dropped = _link(expanded, list(sweeps.values()))
        if dropped:
            for name in dropped:
                del sweeps[name]
            continue
        resolved = resolve(expanded.model_copy(update={"jobs": jobs}), file, origins)
        if _has_cycle(resolved, list(sweeps.values())):
            return None  # expanded, the spec's own check names the jobs on the cycle
        return resolved, list(sweeps.values())
    return None


def _candidates(spec: WorkflowSpec) -> list[Sweep]:
    found = []
    for job in spec.jobs:
        raw = job.parameters or (
            {n: (spec.parameters or {})[n] for n in job.use_parameters or []}
            if all(n in (spec.parameters or {}) for n in job.use_parameters or [])
            else None
        )
        if not raw or not _eligible(job):
            continue
        try:
            values = parse_all(raw)
            count = count_rows(values, job.parameter_mode)
        except ValueError:
            continue  # expansion reports it
        if count >= SWEEP_MIN_JOBS and {m[1] for m in TEMPLATE.finditer(job.name)} & set(values):
            found.append(Sweep(job, dict(raw), values, count))
    return found


def _eligible(job: JobSpec) -> bool:
    if job.stdio is not None or any(getattr(job, key) for key in _FORBIDDEN):
        return False
    if "${" in job.command or "${" in (job.invocation_script or ""):
        return False  # ${files.input.NAME} and the like are relations, resolved per job
    if any("{" in name for name in job.depends_on) or (job.env and "{" in str(job.env)):
        return False
    named = (job.resource_requirements, job.scheduler, job.failure_handler)
    return not any(name is not None and "{" in name for name in named)


def _link(spec: WorkflowSpec, sweeps: list[Sweep]) -> tuple[list[JobSpec], set[str]]:
    """The other jobs, each regex that matches only sweeps dropped (the job noted as a fan-in of
    those sweeps); and the sweeps that must be expanded instead."""
    plain = {job.name for job in spec.jobs}
    named = [n for job in spec.jobs for n in job.depends_on]
    named += [n for action in spec.actions for n in action.jobs]
    dropped = set()
    for sweep in sweeps:
        upstream_ok = all(name in plain for name in sweep.template.depends_on)
        clash = any(sweep.could_name(n) for n in [*named, *plain])  # expansion reports clashes
        if not upstream_ok or clash:
            dropped.add(sweep.template.name)
    job_patterns = {p for job in spec.jobs for p in job.depends_on_regexes}
    action_patterns = {p for action in spec.actions for p in action.job_name_regexes}
    live = [s for s in sweeps if s.template.name not in dropped]
    matches = _matches(job_patterns | action_patterns, live)
    for sweep in live:
        found = matches[sweep.template.name]
        partial = any(found.get(p) == "some" for p in job_patterns)
        if partial or any(found.get(p, "none") != "none" for p in action_patterns):
            dropped.add(sweep.template.name)
    jobs = []
    for job in spec.jobs:
        kept = []
        for pattern in job.depends_on_regexes:
            whole = [s for s in live if matches[s.template.name].get(pattern) == "all"]
            for sweep in whole:
                sweep.fan_ins.append(job.name)
            others = any(re.search(pattern, n) for n in plain if n != job.name)
            if not whole or others:
                kept.append(pattern)
        changed = kept != job.depends_on_regexes
        jobs.append(job.model_copy(update={"depends_on_regexes": kept}) if changed else job)
    return jobs, dropped


def _matches(patterns: set[str], sweeps: list[Sweep]) -> dict[str, dict[str, str]]:
    """sweep -> pattern -> "all", "none" or "some" of its names match."""
    out: dict[str, dict[str, str]] = {}
    compiled = {}
    for pattern in patterns:
        try:
            compiled[pattern] = re.compile(pattern)
        except re.error:
            continue  # resolving reports it
    for sweep in sweeps:
        head = TEMPLATE.split(sweep.template.name, maxsplit=1)[0]
        found: dict[str, str] = {}
        names: list[str] | None = None
        for pattern, regex in compiled.items():
            literal = _pure_prefix(pattern)
            if literal is not None and head.startswith(literal):
                found[pattern] = "all"  # every name starts with `head`
            elif literal is not None and not literal.startswith(head):
                found[pattern] = "none"
            else:
                names = sweep.names() if names is None else names
                hits = sum(1 for n in names if regex.search(n))
                found[pattern] = "all" if hits == len(names) else "none" if hits == 0 else "some"
        out[sweep.template.name] = found
    return out


def _pure_prefix(pattern: str) -> str | None:
    """L for a pattern that only says "starts with L" (`^work_`), else None: then the names
    need not be made to tell whether it matches a sweep's jobs."""
    literal = literal_prefix(pattern)
    return literal if pattern in (f"^{literal}", f"^{re.escape(literal)}") else None


def _has_cycle(spec: WorkflowSpec, sweeps: list[Sweep]) -> bool:
    graph = edges(spec.jobs)
    for sweep in sweeps:
        key = f"\0sweep:{sweep.template.name}"
        graph[key] = list(sweep.template.depends_on)
        for fan_in in sweep.fan_ins:
            graph[fan_in] = [*graph.get(fan_in, []), key]
    return bool(levels(graph)[1])
