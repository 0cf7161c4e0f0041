"""The job graph as the client sees it: dependents, downstream closure, topological stages.

Edges are the explicit `depends_on_job_ids` plus producer -> consumer edges through files and user
data, derived here because the server stores those only when the workflow is initialized. Jobs
are the dicts of `GET /jobs?include_relationships=true`.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any

Jobs = dict[int, dict[str, Any]]


def dependents(jobs: Jobs) -> dict[int, set[int]]:
    """upstream id -> ids of the jobs that wait for it: explicit edges plus file/user-data ones.

    Implicit edges are derived here too, because the server stores them only at initialization.
    """
    children: dict[int, set[int]] = defaultdict(set)
    producers: dict[tuple[str, int], set[int]] = defaultdict(set)
    for job in jobs.values():
        for upstream in job.get("depends_on_job_ids") or []:
            children[upstream].add(job["id"])
        for f in job.get("output_file_ids") or []:
            producers[("file", f)].add(job["id"])
        for u in job.get("output_user_data_ids") or []:
            producers[("user_data", u)].add(job["id"])
    for job in jobs.values():
        inputs = [("file", f) for f in job.get("input_file_ids") or []]
        inputs += [("user_data", u) for u in job.get("input_user_data_ids") or []]
        for key in inputs:
            for producer in producers.get(key, ()):
                if producer != job["id"]:
                    children[producer].add(job["id"])
    return children


def downstream(jobs: Jobs, roots: Iterable[int]) -> set[int]:
    """The roots and every job transitively waiting for one of them."""
    children = dependents(jobs)
    seen = set(roots)
    queue = deque(seen)
    while queue:
        for child in children.get(queue.popleft(), ()):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


def stages(jobs: Jobs) -> list[list[int]]:
    """Job ids by topological level: stage 1 needs nothing, stage n waits only for earlier ones.

    Jobs on a cycle never become free; they are returned last as one extra stage so a plan can
    still show them (the server refuses to initialize such a workflow).
    """
    children = dependents(jobs)
    indegree = {j: 0 for j in jobs}
    for kids in children.values():
        for kid in kids:
            if kid in indegree:
                indegree[kid] += 1
    level = sorted(j for j, n in indegree.items() if n == 0)
    out: list[list[int]] = []
    placed = 0
    while level:
        out.append(level)
        placed += len(level)
        following = set()
        for job in level:
            for kid in children.get(job, ()):
                if kid in indegree:
                    indegree[kid] -= 1
                    if indegree[kid] == 0:
                        following.add(kid)
        level = sorted(following)
    if placed < len(jobs):
        out.append(sorted(j for j, n in indegree.items() if n > 0))
    return out
