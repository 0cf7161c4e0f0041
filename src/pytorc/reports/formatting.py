"""Human-readable sizes and durations, as Torc's reports print them."""

from __future__ import annotations

MIB = 1024**2


def format_bytes(n: float) -> str:
    """'512.0 MB' below 1 GiB, else '1.50 GB' (binary units, Torc's labels)."""
    mb = n / MIB
    return f"{mb:.1f} MB" if mb < 1024 else f"{mb / 1024:.2f} GB"


def format_seconds(seconds: float) -> str:
    """'1h 2m 3s', '2m 3s', or '4.5s'."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{seconds:.1f}s"
