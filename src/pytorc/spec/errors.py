"""SpecError: one line naming the file, the key and the problem, whatever went wrong."""

from __future__ import annotations

from typing import Any

from pytorc.errors import TorcError
from pytorc.fields import ValidationError

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
    """A readable path for a problem's location, using item names where the data has them."""
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


def from_validation(file: str, exc: ValidationError, raw: Any) -> SpecError:
    """The first validation problem as a SpecError (with a count of the others)."""
    # An unknown key first: a misspelt key also makes the real key "missing", and the
    # misspelling is the cause worth naming.
    problems = sorted(exc.problems, key=lambda p: not p.unknown_key)
    first = problems[0]
    problem = first.message
    if len(problems) > 1:
        problem += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return SpecError(file, _key_path(first.loc, raw), problem)


class DuplicateKey(ValueError):
    """A key given twice in one mapping, found while parsing (line 0 when unknown)."""

    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line
