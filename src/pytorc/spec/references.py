"""Names between records: variable substitution, exact and regex references, duplicates, cycles.

After `resolve`, every job lists the exact names it uses (regexes and `${files.input.NAME}`
variables turned into names), every name exists, and the job graph has no cycle.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytorc.spec.errors import SpecError
from pytorc.spec.expand import Origins
from pytorc.spec.model import JobSpec, WorkflowActionSpec, WorkflowSpec

_VARIABLE = re.compile(r"\$\{(files|user_data)\.(input|output)\.([^}]+)\}")
_META = set(".^$*+?{}[]\\|()")

# job key holding exact names -> (its regex key, the kind of record it names)
_REFERENCES = {
    "depends_on": ("depends_on_regexes", "jobs"),
    "input_files": ("input_file_regexes", "files"),
    "output_files": ("output_file_regexes", "files"),
    "input_user_data": ("input_user_data_regexes", "user_data"),
    "output_user_data": ("output_user_data_regexes", "user_data"),
}
_KIND_WORD = {"jobs": "job", "files": "file", "user_data": "user data"}


_LEFT_TEMPLATE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?::[^{}]*)?\}")


def _template_hint(name: str, regex_key: str) -> str:
    """For a reference left with a `{param}` in it: the job has no such parameter, and what
    was probably meant (every matching record) is a regex."""
    if not _LEFT_TEMPLATE.search(name):
        return ""
    parts = _LEFT_TEMPLATE.split(name)
    pattern = "^" + ".+".join(re.escape(p) for p in parts) + "$"
    return (
        f"; it has a template, but the job has no such parameter: to take every match,"
        f" use {regex_key}: ['{pattern}']"
    )


class Names:
    """A sorted set of names that answers regex searches quickly.

    A 10,000-job sweep whose jobs each name `^prep_{i}$` would cost 10^8 regex calls against
    every name; an anchored pattern's literal prefix narrows the candidates by bisection."""

    def __init__(self, names: Iterable[str]) -> None:
        self.sorted = sorted(set(names))
        self.set = set(self.sorted)

    def __contains__(self, name: object) -> bool:
        return name in self.set

    def matching(self, pattern: re.Pattern[str]) -> list[str]:
        prefix = literal_prefix(pattern.pattern)
        lo = bisect.bisect_left(self.sorted, prefix)
        hi = bisect.bisect_left(self.sorted, prefix + "\U0010ffff") if prefix else len(self.sorted)
        return [name for name in self.sorted[lo:hi] if pattern.search(name)]


def literal_prefix(pattern: str) -> str:
    """The text every match of an anchored pattern starts with ('' when unsure)."""
    if not pattern.startswith("^") or "|" in pattern:
        return ""
    out: list[str] = []
    i = 1
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            out.append(pattern[i + 1])
            i += 2
            continue
        if char in _META:
            if char in "*?{" and out:  # the previous character may be absent
                out.pop()
            break
        out.append(char)
        i += 1
    return "".join(out)


@dataclass
class _Context:
    spec: WorkflowSpec
    file: str
    origins: Origins
    names: dict[str, Names] = field(default_factory=dict)
    defined: dict[str, set[str]] = field(default_factory=dict)
    regexes: dict[str, re.Pattern[str]] = field(default_factory=dict)

    def key(self, collection: str, name: str) -> str:
        return self.origins.get(collection, {}).get(name, f"{collection}.{name}")

    def fail(self, key: str, problem: str) -> SpecError:
        return SpecError(self.file, key, problem)

    def compile(self, key: str, pattern: str) -> re.Pattern[str]:
        found = self.regexes.get(pattern)
        if found is None:
            try:
                found = self.regexes[pattern] = re.compile(pattern)
            except re.error as exc:
                raise self.fail(key, f"invalid regex {pattern!r}: {exc}") from None
        return found


def resolve(spec: WorkflowSpec, file: str, origins: Origins) -> WorkflowSpec:
    """The expanded spec with every reference checked and made exact; SpecError otherwise."""
    ctx = _Context(spec, file, origins)
    for collection in ("resource_requirements", "slurm_schedulers", "failure_handlers"):
        names = [r.name for r in getattr(spec, collection)]
        _unique(ctx, collection, names)
        ctx.defined[collection] = set(names)
    ctx.defined["resource_requirements"].add("default")  # the server makes one per workflow
    ctx.names = {
        "jobs": Names(j.name for j in spec.jobs),
        "files": Names(f.name for f in spec.files),
        "user_data": Names(u.name for u in spec.user_data),
    }
    paths = {f.name: f.path for f in spec.files}
    data = {u.name: json.dumps(u.data) for u in spec.user_data}
    jobs = [_resolve_job(ctx, job, paths, data) for job in spec.jobs]
    actions = [_resolve_action(ctx, i, a) for i, a in enumerate(spec.actions)]
    resolved = spec.model_copy(update={"jobs": jobs, "actions": actions})
    check_acyclic(ctx, resolved.jobs)
    return resolved


def _unique(ctx: _Context, collection: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ctx.fail(f"{collection}.{name}", f"duplicate name {name!r}")
        seen.add(name)


def _substitute_variables(
    ctx: _Context, key: str, text: str, paths: dict[str, str], data: dict[str, str]
) -> tuple[str, dict[str, list[str]]]:
    """`text` with ${files.input.NAME} etc. replaced; the names used, by job key."""
    used: dict[str, list[str]] = defaultdict(list)

    def replace(match: re.Match[str]) -> str:
        kind, direction, name = match.groups()
        values = paths if kind == "files" else data
        if name not in values:
            word = "file" if kind == "files" else "user data"
            raise ctx.fail(key, f"{match.group(0)} names no {word} {name!r}")
        used[f"{direction}_{'files' if kind == 'files' else 'user_data'}"].append(name)
        return values[name]

    return _VARIABLE.sub(replace, text), used


def _resolve_job(
    ctx: _Context, job: JobSpec, paths: dict[str, str], data: dict[str, str]
) -> JobSpec:
    """The job with its references checked and exact."""
    if _plain(job):
        return job
    base = ctx.key("jobs", job.name)
    update: dict[str, Any] = {}
    extra: dict[str, list[str]] = {}  # names that variables and regexes add
    for key in ("command", "invocation_script"):
        text = getattr(job, key)
        if text and "${" in text:
            update[key], used = _substitute_variables(ctx, f"{base}.{key}", text, paths, data)
            for ref_key, used_names in used.items():
                extra.setdefault(ref_key, []).extend(used_names)
    for key, (regex_key, collection) in _REFERENCES.items():
        exact, patterns = getattr(job, key), getattr(job, regex_key)
        added = extra.get(key, [])
        if not (exact or patterns or added):
            continue
        names = ctx.names[collection]
        for name in exact:
            if name not in names:
                problem = f"{name!r} is not a {_KIND_WORD[collection]}"
                raise ctx.fail(f"{base}.{key}", problem + _template_hint(name, regex_key))
        for pattern in patterns:
            regex = ctx.compile(f"{base}.{regex_key}", pattern)
            found = [n for n in names.matching(regex) if collection != "jobs" or n != job.name]
            if not found:
                word = _KIND_WORD[collection]
                raise ctx.fail(f"{base}.{regex_key}", f"regex {pattern!r} matches no {word}")
            added.extend(found)
        if added or len(set(exact)) != len(exact):
            update[key] = list(dict.fromkeys([*exact, *added]))
        if patterns:
            update[regex_key] = []
    if job.name in update.get("depends_on", job.depends_on):
        raise ctx.fail(f"{base}.depends_on", f"job {job.name!r} depends on itself")
    for key, collection in _NAMED:
        name = getattr(job, key)
        if name is not None and name not in ctx.defined[collection]:
            raise ctx.fail(f"{base}.{key}", f"{name!r} is not one of the spec's {collection}")
    return job.model_copy(update=update) if update else job


_NAMED = (
    ("resource_requirements", "resource_requirements"),
    ("scheduler", "slurm_schedulers"),
    ("failure_handler", "failure_handlers"),
)
_LISTS = tuple(key for pair in _REFERENCES.items() for key in (pair[0], pair[1][0]))


def _plain(job: JobSpec) -> bool:
    """True for a job with nothing to resolve: no variables, reference lists or named
    resources. Most jobs of a big sweep are plain; this reads the instance's own values, so
    the empty lists a plain job never set are not built (half of resolving 2,000 jobs)."""
    given = vars(job)
    return (
        not any(given.get(key) for key in _LISTS)
        and "${" not in job.command
        and "${" not in (job.invocation_script or "")
        and all(getattr(job, key) is None for key, _ in _NAMED)
    )


def _resolve_action(ctx: _Context, index: int, action: WorkflowActionSpec) -> WorkflowActionSpec:
    base = f"actions[{index}]"
    jobs = ctx.names["jobs"]
    names = list(action.jobs)
    for name in action.jobs:
        if name not in jobs:
            raise ctx.fail(f"{base}.jobs", f"{name!r} is not a job")
    for pattern in action.job_name_regexes:
        found = jobs.matching(ctx.compile(f"{base}.job_name_regexes", pattern))
        if not found:
            raise ctx.fail(f"{base}.job_name_regexes", f"regex {pattern!r} matches no job")
        names.extend(found)
    schedulers = {s.name for s in ctx.spec.slurm_schedulers}
    slurm = action.scheduler is not None and action.scheduler_type == "slurm"
    if slurm and action.scheduler not in schedulers:
        raise ctx.fail(f"{base}.scheduler", f"{action.scheduler!r} is not a slurm_scheduler")
    return action.model_copy(update={"jobs": list(dict.fromkeys(names)), "job_name_regexes": []})


# --- the job graph ------------------------------------------------------------------------


def edges(jobs: Sequence[JobSpec], implied: bool = True) -> dict[str, list[str]]:
    """job -> the jobs it waits for: depends_on, and (implied) producers of its inputs."""
    producers: dict[tuple[str, str], list[str]] = defaultdict(list)
    if implied:
        for job in jobs:
            for name in job.output_files:
                producers["file", name].append(job.name)
            for name in job.output_user_data:
                producers["user_data", name].append(job.name)
    graph: dict[str, list[str]] = {}
    for job in jobs:
        upstream = list(job.depends_on)
        if implied:
            for name in job.input_files:
                upstream.extend(producers.get(("file", name), ()))
            for name in job.input_user_data:
                upstream.extend(producers.get(("user_data", name), ()))
        graph[job.name] = [u for u in dict.fromkeys(upstream) if u != job.name]
    return graph


def levels(graph: dict[str, list[str]]) -> tuple[list[list[str]], list[str]]:
    """Topological levels (Kahn), in spec order within a level; and the jobs left in cycles."""
    waiting = {name: len(up) for name, up in graph.items()}
    downstream: dict[str, list[str]] = defaultdict(list)
    for name, upstream in graph.items():
        for u in upstream:
            downstream[u].append(name)
    out: list[list[str]] = []
    level = [name for name, count in waiting.items() if count == 0]
    while level:
        out.append(level)
        following = []
        for name in level:
            for d in downstream[name]:
                waiting[d] -= 1
                if waiting[d] == 0:
                    following.append(d)
        level = following
    placed = {name for lvl in out for name in lvl}
    return out, [name for name in graph if name not in placed]


def _find_cycle(graph: dict[str, list[str]], stuck: list[str]) -> list[str]:
    """One cycle among the stuck jobs, as a path that returns to its start."""
    stuck_set = set(stuck)
    start = stuck[0]
    path, index = [start], {start: 0}
    current = start
    while True:  # every stuck job waits for another stuck job, so this walk must loop
        current = next(u for u in graph[current] if u in stuck_set)
        if current in index:
            return [*path[index[current] :], current]
        index[current] = len(path)
        path.append(current)


def check_acyclic(ctx: _Context, jobs: Sequence[JobSpec]) -> None:
    graph = edges(jobs)
    _, stuck = levels(graph)
    if stuck:
        cycle = _find_cycle(graph, stuck)
        raise ctx.fail(
            f"{ctx.key('jobs', cycle[0])}.depends_on",
            "dependency cycle: " + " -> ".join(cycle) + " (-> means waits for)",
        )
