"""The only place that prints records: a Rich table for people, or the API's JSON for scripts.

With `-f json`, `get` commands print the record exactly as the API returned it and `list` commands
print a JSON array of the items (every page joined); action commands print the API's answer or a
small report object. Tables are for reading only; their layout may change.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def _console() -> Console:
    from rich.console import Console

    # Piped output is not wrapped at 80 columns, so rows stay greppable.
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return f"{value:.4g}"  # tables are for reading; -f json keeps every digit
    return str(value)


def records(
    fmt: str, items: Iterable[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """A list of records: a JSON array, or a table of `columns` with a count below it."""
    if fmt == "json":
        emit_json(list(items))
        return
    from rich.table import Table

    table = Table(*columns, title=title, title_justify="left")
    n = 0
    for item in items:
        table.add_row(*(cell(item.get(c)) for c in columns))
        n += 1
    console = _console()
    if n:
        console.print(table)
    console.print(f"{n} record{'s' if n != 1 else ''}" + (f" ({title})" if title and not n else ""))


def record(fmt: str, item: dict[str, Any], title: str | None = None) -> None:
    """One record: its JSON, or a two-column field/value table."""
    if fmt == "json":
        emit_json(item)
        return
    from rich.table import Table

    table = Table("field", "value", title=title, title_justify="left")
    for key, value in item.items():
        table.add_row(key, cell(value))
    _console().print(table)


def message(fmt: str, text: str | Sequence[str], data: Any) -> None:
    """The outcome of an action: `data` as JSON, or `text` (one or more lines) for people."""
    if fmt == "json":
        emit_json(data)
        return
    lines = [text] if isinstance(text, str) else list(text)
    sys.stdout.write("".join(f"{line}\n" for line in lines))


def deleted(fmt: str, noun: str, records: list[dict[str, Any]]) -> None:
    """The records a delete command removed: as JSON, or a line each naming them."""
    lines = [
        f"deleted {noun} {r['id']}" + (f" ({r['name']})" if r.get("name") else "") for r in records
    ]
    message(fmt, lines, records)
