"""Tables people can read on an 80-column terminal: human units, and the columns that fit.

A results table had 11 columns: on 80 columns Rich cut every cell to two or three characters,
showed times as `2.468e-05` minutes and memory as raw bytes. Here cells get units (sizes in
KiB..TiB, durations in s/m/h, times in local time without the date when it is today), and the
leading columns that fit the width are kept (a column is never narrower than MIN_WIDTH, or its
content); the rest are named below the table. `--columns a,b` picks them; `-f json` keeps every
raw value.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

MIN_WIDTH = 4  # no column is cut narrower than this
WIDEST = 40  # a column wider than this may wrap
_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_size(n: float) -> str:
    value, unit = float(n), 0
    while abs(value) >= 1024 and unit < len(_SIZE_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.0f} B" if unit == 0 else f"{value:.1f} {_SIZE_UNITS[unit]}"


def human_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def human_time(value: Any) -> str:
    """An ISO time or epoch milliseconds as local time; today's without the date."""
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value)
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone()
    except (ValueError, OverflowError, OSError):
        return str(value)
    today = time.strftime("%Y-%m-%d")
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
    return stamp[11:] if stamp.startswith(today) else stamp


def human_cell(column: str, value: Any, plain: Any) -> str:
    """`plain(value)` unless the column's name says it holds a size, a duration or a time."""
    if value is None or isinstance(value, bool) or value == "":
        return str(plain(value))
    if isinstance(value, int | float):
        if column.endswith("_bytes"):
            return human_size(value)
        if column.endswith("_minutes"):
            return human_seconds(value * 60)
        if column.endswith("_seconds"):
            return human_seconds(value)
        if column in ("timestamp",):
            return human_time(value)
    if isinstance(value, str) and column.endswith(("_time", "timestamp")):
        return human_time(value)
    return str(plain(value))


def header(column: str) -> str:
    """A column's title: without the unit its name carries, since its cells now show one."""
    for suffix in ("_minutes", "_seconds", "_bytes"):
        if column.endswith(suffix):
            return column.removesuffix(suffix)
    return column


def fit(
    columns: Sequence[str], rows: list[list[str]], width: int | None
) -> tuple[list[int], list[str]]:
    """The indexes of the leading columns that fit `width` (each as wide as its content, up to
    WIDEST, never under MIN_WIDTH), and the names of those left out."""
    if width is None:
        return list(range(len(columns))), []
    kept: list[int] = []
    used = 1  # the left border
    for i, name in enumerate(columns):
        natural = max([len(name), *(len(row[i]) for row in rows)])
        need = max(min(natural, WIDEST), MIN_WIDTH) + 3  # padding and the separator
        if kept and used + need > width:
            break
        kept.append(i)
        used += need
    return kept, [columns[i] for i in range(len(columns)) if i not in kept]
