"""The only place that prints records: a Rich table for people, or the API's JSON for scripts.

With `-f json`, `get` commands print the record exactly as the API returned it and `list` commands
print a JSON array of the items (every page joined); action commands print the API's answer or a
small report object. Tables are for reading only; their layout may change.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


# --columns a,b: the table columns to show (set by the CLI's global option).
CHOSEN_COLUMNS: list[str] | None = None


def table_width() -> int | None:
    """The terminal's width; $COLUMNS when set; None (no limit) for piped output, so rows
    stay greppable."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _console() -> Console:
    from rich.console import Console

    width = table_width()
    return Console(width=width or 1000, highlight=False)


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

    from pytorc.cli.table_fit import fit, header, human_cell

    chosen = list(columns)
    if CHOSEN_COLUMNS:
        chosen = [c for c in CHOSEN_COLUMNS if c in columns] or chosen
    rows = [[human_cell(c, item.get(c), cell) for c in chosen] for item in items]
    titles = [header(c) for c in chosen]
    shown, hidden = fit(titles, rows, table_width())
    table = Table(*(titles[i] for i in shown), title=title, title_justify="left")
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    n = len(rows)
    console = _console()
    if n:
        console.print(table)
    count = f"{n} record{'s' if n != 1 else ''}" + (f" ({title})" if title and not n else "")
    if hidden and n:
        count += f"; not shown: {', '.join(hidden)} (--columns to choose, -f json for all)"
    console.print(count)


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
