"""Memory sizes ("512m", "2g") and ISO-8601 durations ("PT30M", "P1DT2H"), parsed strictly."""

from __future__ import annotations

import re

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtKMGT]?)[bB]?\s*$")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+(?:\.\d+)?)Y)?(?:(?P<months>\d+(?:\.\d+)?)M)?(?:(?P<weeks>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS = {
    "years": 365.25 * 86400,
    "months": 30.44 * 86400,
    "weeks": 7 * 86400,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}


class UnitError(ValueError):
    """A size or duration string that does not parse."""


def memory_bytes(text: str) -> int:
    """Bytes in a memory string: binary units k/m/g/t (optional trailing b); bare = bytes."""
    m = _MEMORY.match(text)
    if m is None:
        raise UnitError(
            f"invalid memory {text!r}: expected a number with an optional unit k, m, g or t "
            "(binary: 1k = 1024 bytes), e.g. '512m' or '2g'"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def duration_seconds(text: str) -> float:
    """Seconds in an ISO-8601 duration such as 'PT30M', 'P1DT12H' or 'P0DT1M'."""
    m = _DURATION.match(text.strip())
    if m is None or text.strip() in ("P", "") or text.strip().endswith("T"):
        raise UnitError(
            f"invalid runtime {text!r}: expected an ISO-8601 duration such as 'PT30M', 'PT2H' "
            "or 'P1DT12H'"
        )
    parts = m.groupdict()
    if all(v is None for v in parts.values()):
        raise UnitError(f"invalid runtime {text!r}: the duration names no amount")
    return sum(float(v) * _SECONDS[k] for k, v in parts.items() if v is not None)


_SLURM_TIME = re.compile(r"(?:(\d+)-)?(\d+)(?::(\d{1,2}))?(?::(\d{1,2}))?\Z")


def slurm_time_seconds(text: str) -> int:
    """Seconds in a Slurm time limit: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S (sbatch --time)."""
    m = _SLURM_TIME.match(text.strip())
    if m is None:
        raise UnitError(
            f"invalid walltime {text!r}: expected Slurm time such as '04:00:00' or '1-12:00:00'"
        )
    days, first, second, third = m.groups()
    if days is not None:  # D-H[:M[:S]]
        h, mi, sec = int(first), int(second or 0), int(third or 0)
        return ((int(days) * 24 + h) * 60 + mi) * 60 + sec
    if third is not None:  # H:M:S
        return (int(first) * 60 + int(second)) * 60 + int(third)
    return int(first) * 60 + int(second or 0)  # M or M:S


def format_duration(seconds: float) -> str:
    """An ISO-8601 duration for `seconds`, e.g. 5400 -> 'PT1H30M'."""
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    time += f"{secs}S" if secs else ""
    if time:
        out += "T" + time
    return out if out != "P" else "PT0S"
