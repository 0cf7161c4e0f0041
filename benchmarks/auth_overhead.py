"""What authentication costs: one bcrypt check at each cost, and the per-request overhead of a
cached credential (GET /ping on a server with --require-auth beside one without auth).

    python benchmarks/auth_overhead.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import bcrypt
import httpx
from bench_server import running_server


def bcrypt_ms(cost: int) -> float:
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(cost))
    started = time.perf_counter()
    bcrypt.checkpw(b"pw", hashed)
    return (time.perf_counter() - started) * 1000


def ping_us(args: tuple[str, ...], auth: tuple[str, str] | None, n: int) -> float:
    """Median GET /ping round trip, in microseconds, on a fresh server started with `args`."""
    times = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp), args=args, auth=auth) as url,
        httpx.Client(auth=auth, timeout=10) as http,
    ):
        for _ in range(n):
            started = time.perf_counter()
            http.get(f"{url}/ping").raise_for_status()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    n = parser.parse_args().requests
    for cost in (10, 12):
        print(f"bcrypt cost {cost}: {bcrypt_ms(cost):.0f} ms per check")
    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "users"
        users.write_text(f"bench:{bcrypt.hashpw(b'pw', bcrypt.gensalt(12)).decode()}\n")
        for round_ in range(2):  # alternate, the machine is shared
            plain = ping_us((), None, n)
            authed = ping_us(("--auth-file", str(users), "--require-auth"), ("bench", "pw"), n)
            print(
                f"round {round_ + 1}: /ping median {plain:.0f} us without auth,"
                f" {authed:.0f} us with a cached credential ({authed / plain:.2f}x)"
            )


if __name__ == "__main__":
    main()
