"""Does each speed device earn its keep? The code with it against the code without it, interleaved.

For each device this copies `src/pytorc` twice (as it is, and with the device taken out by a small
textual edit), then times the workloads the device is for, alternating the two trees rep by rep,
each rep on a fresh server from the same tree. A device stays when taking it out costs >= 5% on a
workload, or >= 20 ms on a one-job run (the figures issue 11 set). Usage:

    python benchmarks/tricks.py [--reps 7] [--only codec,gil,...]

Prints, per device and workload, the medians with and without it, the difference and the ratio.

Removed after measuring (2026-12-04, interleaved, 5 and 9 repetitions): the GIL switch interval
of 0.1 ms during a run (without it, W1 was 0.7% slower in one run and 4.7% faster in the other,
the chain of 200 5.3% faster) and initializing from a helper thread while `torc run` imported
the runner (W1 +1.7% and +5.3%, a one-job run +12.8 and -14.6 ms: not clear of the bar twice).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Device:
    """A speed device and the edits that take it out (file under src/pytorc, old text, new)."""

    name: str
    what: str
    edits: list[tuple[str, str, str]]
    workloads: list[str] = field(default_factory=list)


DEVICES = [
    Device(
        "codec",
        "client codec: pydantic-core after 4 MiB of JSON, the json module before",
        [("client/codec.py", "if _moved >= BULK_BYTES:", "if False:")],
        ["create-20k", "one-job"],
    ),
    Device(
        "fast-path",
        "server: the exchange answered by an ASGI fast path in front of FastAPI",
        [
            (
                "server/app.py",
                "    app.add_middleware(ExchangeFastPath, db=db, base_path=BASE_PATH, api=app)\n",
                "",
            )
        ],
        ["w1", "w3"],
    ),
    Device(
        "cli-gc-freeze",
        "torc: gc.freeze() before exit",
        [("cli/main.py", "    gc.freeze()\n    sys.exit(", "    sys.exit(")],
        ["one-job", "list"],
    ),
    Device(
        "server-gc",
        "torc-server: no collection during start-up, then the app frozen",
        [
            ("server/main.py", "    gc.disable()\n", "\n"),
            ("server/app.py", "    gc.freeze()\n    gc.enable()", "    gc.enable()"),
        ],
        ["server-start", "w1"],
    ),
    Device(
        "spec-gc-pause",
        "spec loading: the collector paused while a spec expands",
        [("spec/load.py", "    gc.disable()\n    try:", "    try:")],
        ["create-20k"],
    ),
]


def make_tree(root: Path, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of src/ with the edits applied; each old text must occur exactly once."""
    tree = root / "src"
    shutil.copytree(SRC, tree, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, old, new in edits:
        path = tree / "pytorc" / rel
        text = path.read_text()
        if text.count(old) < 1:
            sys.exit(f"{rel}: the text to edit is not there any more: {old!r}")
        path.write_text(text.replace(old, new))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=True)
    return tree


class Server:
    """A torc-server from one tree on a fresh database; `started_in` is the time to first ping."""

    def __init__(self, tree: Path, work: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TORC_")}
        self.env["PYTHONPATH"] = str(tree)
        db = work / f"db-{time.monotonic_ns()}.sqlite"
        cmd = [str(VENV_BIN / "torc-server"), "run", "--port", "0", "--database", str(db)]
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*cmd, "--log-level", "warn"], stdout=subprocess.PIPE, env=self.env, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("TORC_SERVER_PORT="):
            sys.exit("torc-server did not start")
        self.url = f"http://127.0.0.1:{line.split('=', 1)[1].strip()}/torc-service/v1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/ping", timeout=2).read()
                break
            except OSError:
                time.sleep(0.01)
        self.started_in = time.perf_counter() - started

    def torc(self, *args: str) -> float:
        cmd = [str(VENV_BIN / "torc"), "--url", self.url, *args]
        started = time.perf_counter()
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"{' '.join(args)} failed: {done.stderr[-1500:]}")
        return elapsed

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def write_specs(work: Path) -> dict[str, Path]:
    def spec(name: str, count: int, chain: bool = False) -> Path:
        jobs = [
            {"name": f"j{i}", "command": "true", "depends_on": [f"j{i - 1}"] if chain and i else []}
            for i in range(count)
        ]
        path = work / f"{name}.json"
        path.write_text(json.dumps({"name": name, "jobs": jobs}))
        return path

    big = {
        "name": "create-20k",
        "jobs": [
            {"name": "j{i}", "command": "echo {i} > /dev/null", "parameters": {"i": "0:19999"}}
        ],
    }
    (work / "create-20k.json").write_text(json.dumps(big))
    return {
        "one-job": spec("one-job", 1),
        "w1": spec("w1", 2000),
        "w3": spec("w3", 200, chain=True),
        "create-20k": work / "create-20k.json",
    }


def run_once(tree: Path, work: Path, workload: str, specs: dict[str, Path]) -> float:
    server = Server(tree, work)
    try:
        if workload == "server-start":
            return server.started_in
        if workload == "list":
            return server.torc("workflows", "list")
        if workload == "create-20k":
            return server.torc("workflows", "create", str(specs[workload]))
        out = work / "out"
        return server.torc(
            "run", str(specs[workload]), "--max-parallel-jobs", "2", "-p", "0.1", "-o", str(out)
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated device names")
    parser.add_argument(
        "--workdir",
        default="/dev/shm" if os.path.isdir("/dev/shm") else None,
        help="where servers, databases and job output live (default: tmpfs). On ext4, creating "
        "the runs' thousands of job files next to thousands just deleted makes the kernel's "
        "inode search dominate and doubles W1 for minutes at a time",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the running server on the way
    chosen = [d for d in DEVICES if not args.only or d.name in args.only.split(",")]
    with tempfile.TemporaryDirectory(prefix="torc-tricks-", dir=args.workdir) as tmp:
        work = Path(tmp)
        specs = write_specs(work)
        base = make_tree(work / "with", [])
        print(
            f"{'device':22} {'workload':13} {'with s':>8} {'without s':>10} {'diff ms':>8} "
            f"{'without/with':>12}"
        )
        for device in chosen:
            without = make_tree(work / device.name, device.edits)
            for workload in device.workloads:
                times: dict[str, list[float]] = {"with": [], "without": []}
                for rep in range(args.reps):
                    order = [("with", base), ("without", without)]
                    for label, tree in order if rep % 2 == 0 else reversed(order):
                        times[label].append(run_once(tree, work, workload, specs))
                a, b = statistics.median(times["with"]), statistics.median(times["without"])
                print(
                    f"{device.name:22} {workload:13} {a:8.3f} {b:10.3f} "
                    f"{(b - a) * 1000:8.1f} {b / a:12.3f}",
                    flush=True,
                )
            shutil.rmtree(without.parent)


if __name__ == "__main__":
    main()
