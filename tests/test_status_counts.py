"""The per-workflow job counts by status (kept by triggers, migration 0007) always equal a
count of the jobs themselves, whatever path changed them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from helpers import ServerProcess

TORC = str(Path(sys.executable).parent / "torc")


def _counted(db: str) -> tuple[set[tuple[int, int, int]], set[tuple[int, int, int]]]:
    """(kept counts, real counts) as sets of (workflow_id, status, n), zeros left out."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        kept = set(conn.execute("SELECT workflow_id, status, n FROM job_status_count WHERE n"))
        real = set(conn.execute("SELECT workflow_id, status, count(*) FROM job GROUP BY 1, 2"))
    return kept, real


def _torc(server: ServerProcess, tmp_path: Path, *args: str, check: bool = True) -> str:
    argv = [TORC, "--url", server.url, "-f", "json", *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0 or not check, proc.stderr
    return proc.stdout


def test_counts_follow_creation_runs_failures_resets_and_deletions(
    server: ServerProcess, tmp_path: Path
) -> None:
    jobs = [{"name": "prep", "command": "true"}]
    jobs += [{"name": f"w{i}", "command": "true", "depends_on": ["prep"]} for i in range(30)]
    jobs += [{"name": "bad", "command": "exit 2", "depends_on": ["prep"]}]
    jobs += [{"name": "after_bad", "command": "true", "depends_on": ["bad"]}]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"name": "counts", "jobs": jobs}))
    wf = json.loads(_torc(server, tmp_path, "workflows", "create", str(spec)))["id"]
    other = json.loads(_torc(server, tmp_path, "workflows", "create", str(spec)))["id"]
    assert len(set.symmetric_difference(*_counted(server.db_path))) == 0
    _torc(server, tmp_path, "run", str(wf), "-p", "0.1", "-o", str(tmp_path / "o"), check=False)
    kept, real = _counted(server.db_path)
    assert kept == real
    with httpx.Client(base_url=server.url) as c:
        whole = c.get(f"/workflows/{wf}/status").json()
        status = whole["jobs_by_status"]
        assert (status["completed"], status["failed"], status["canceled"]) == (31, 1, 1)
        # from the first start to the last completion: at least the longest job, well under
        # the minute this run took at most
        assert 0 < whole["walltime_seconds"] < 60
        assert whole["walltime_seconds"] >= whole["total_exec_time_minutes"] * 60 / 32
        c.post(f"/workflows/{wf}/reset_status").raise_for_status()
        assert set.__eq__(*_counted(server.db_path))
        first = c.get("/jobs", params={"workflow_id": wf, "limit": 1}).json()["items"][0]
        c.delete(f"/jobs/{first['id']}").raise_for_status()
        assert set.__eq__(*_counted(server.db_path))
        c.delete(f"/workflows/{other}").raise_for_status()
    kept, real = _counted(server.db_path)
    assert kept == real and other not in {w for w, _, _ in kept}
